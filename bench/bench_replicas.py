"""Serving on PostgreSQL: one replica, and three behind a round-robin forwarder; the rate three sustain.

Not a test: run `python bench/bench_replicas.py [--seconds 60] [--rate 30] [--people 200] [--latency-ms 20]
[--rounds 3] [--search-seconds 20] [--rates 30,60,90,120,150,180]`, or `--quick` for a short smoke run.

The load is bench/bench_serving.py's (its people, their questions, commands, taps and checks from
bench/samples.py, paced at `--rate` updates a second, `--latency-ms` on every Bot API call), measured the
same way, with two differences: every replica runs in webhook mode on one throwaway PostgreSQL database
(tests/pg.py: `initdb` and `pg_ctl` on 127.0.0.1), and the updates reach them through the forwarder of
tests/replicas.py, which plays Telegram in front of a load balancer: each update to the next replica in
turn, posted again to the next one until one answers 200, a chat's updates one after another. An update's
time starts when it is handed to the forwarder (the latency is added before it is posted, as the network
would).

Printed per round: p50/p99/max from update to the last part of its reply, lost and duplicated replies (as
bench_serving.py counts them), the CPU time of all replica processes together per wall second as a share of
one core, the highest peak resident memory (VmHWM) of any one replica, the start-up time of the cluster,
how many posts the forwarder had to send again, the CPU share of the PostgreSQL server, and that of this
process (the fake Bot API, the forwarder and the people: near 100 % it is the limit, not the bot). The
replicas have the bot's default leases (INTAKE_LEASE_SECONDS=10, POLLER_LEASE_SECONDS=6).

Then the medians of the rounds for one replica and for three; then the search: three replicas at each of
`--rates` for `--search-seconds`, until p99 reaches 1 s, something is lost or the rate is not met. Without
a mechanism that shares the work between replicas, three replicas show lost and duplicated replies (a
check tapped through one replica is unknown to the next): that is what this measures too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from bench_serving import COLUMNS as SERVING_COLUMNS  # noqa: E402
from bench_serving import Crowd, Server, cpu_seconds, peak_rss_mb, shown_tracebacks  # noqa: E402
from fakebot import Json  # noqa: E402
from pg import PgServer, ServerUnavailable, throwaway_server  # noqa: E402
from replicas import Cluster, Forwarder, chat_of  # noqa: E402

SUSTAINED_P99_MS = 1000.0
# the leases the bot has by default (the tests shorten them); a bot without leases ignores them
LEASES = {"INTAKE_LEASE_SECONDS": "10", "POLLER_LEASE_SECONDS": "6"}
COLUMNS = (
    *SERVING_COLUMNS,
    ("retries", "retries", "{:.0f}"),
    ("db_pct", "db %", "{:.1f}"),
    ("driver_pct", "driver %", "{:.1f}"),
)
RATE_MET = 0.95  # a step counts as sustained only if at least this share of its rate was sent


def database_cpu_seconds(port: int) -> float:
    """CPU time of the PostgreSQL server on `port`: its postmaster (with the children it has reaped) and
    the children alive now (the connections' backends, the background workers)."""
    parents: dict[int, int] = {}
    master: int | None = None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            command = (stat.parent / "cmdline").read_bytes()
            if b"postgres" in command and f"port={port}".encode() in command:
                master = pid
    if master is None:
        return float("nan")
    total = 0.0
    for pid in [master, *(p for p, parent in parents.items() if parent == master)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = fields[11:15] if pid == master else fields[11:13]  # utime stime (cutime cstime)
            total += sum(int(t) for t in ticks) / os.sysconf("SC_CLK_TCK")
    return total


class WebhookServer(Server):
    """bench_serving's fake Bot API, whose pushed updates go to the replicas through the forwarder."""

    def __init__(self) -> None:
        super().__init__()
        self.forwarder: Forwarder | None = None
        self._ids = itertools.count(1)
        self._deliveries: set[asyncio.Task[None]] = set()

    async def push(self, **update: Json) -> int:
        update_id = next(self._ids)
        task = asyncio.create_task(self._deliver({"update_id": update_id, **update}))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return update_id

    async def _deliver(self, update: Json) -> None:
        assert self.forwarder is not None
        if self.latency:
            await asyncio.sleep(self.latency)  # the way from Telegram to the bot, as for every other call
        await self.forwarder.post_in_order(chat_of(update), update)

    async def stop(self) -> None:
        for task in self._deliveries:
            task.cancel()
        await super().stop()


async def one_round(
    pg: PgServer, replicas: int, rate: float, seconds: float, args: argparse.Namespace, seed: int
) -> dict[str, float]:
    fake = WebhookServer()
    fake.latency = args.latency_ms / 1000
    await fake.start()
    crowd = Crowd(fake, args.people, seed)
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        cluster = Cluster(fake, Path(tmp), pg.fresh_database(), replicas, extra=LEASES)
        launched = time.perf_counter()
        try:
            await cluster.start()
            start_s = time.perf_counter() - launched
            await asyncio.sleep(1.0)  # start-up finished (commands set, jobs scheduled)
            pids = [r.pid for r in cluster.replicas]
            async with Forwarder(cluster.urls) as forwarder:
                fake.forwarder = forwarder
                cpu0, wall0 = sum(map(cpu_seconds, pids)), time.perf_counter()
                driver0, db0 = cpu_seconds(os.getpid()), database_cpu_seconds(pg.port)
                sent, skipped = await crowd.pace(rate, seconds)
                cpu1, wall1 = sum(map(cpu_seconds, pids)), time.perf_counter()
                driver1, db1 = cpu_seconds(os.getpid()), database_cpu_seconds(pg.port)
                await crowd.settle()
                peak = max(map(peak_rss_mb, pids))
                retries = forwarder.retries
        finally:
            await cluster.stop()
            await fake.stop()
    codes = [r.proc.returncode for r in cluster.replicas if r.proc is not None]
    text = cluster.log
    result = crowd.tally()
    tracebacks = shown_tracebacks(text, f"exit statuses {codes}", failed=any(codes))
    result.update(
        rate=sent / (wall1 - wall0),
        skipped=float(skipped),
        cpu_pct=100 * (cpu1 - cpu0) / (wall1 - wall0),
        peak_mb=peak,
        start_s=start_s,
        tracebacks=float(tracebacks),
        retries=float(retries),
        driver_pct=100 * (driver1 - driver0) / (wall1 - wall0),
        db_pct=100 * (db1 - db0) / (wall1 - wall0),
    )
    return result


def row(title: str, r: dict[str, float]) -> str:
    return f"{title:<10}" + "".join(f"{fmt.format(r[k]):>9}" for k, _, fmt in COLUMNS)


def median_of(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in results) for k, _, _ in COLUMNS}


async def serving(pg: PgServer, args: argparse.Namespace) -> None:
    print(
        f"{args.people} people, {args.rate:g} updates/s for {args.seconds:g} s, {args.latency_ms:g} ms "
        "latency on every call; webhook replicas on one PostgreSQL database behind a round-robin forwarder"
    )
    print("peak MB: the highest of any one replica; CPU %: all replicas together, of one core")
    print(f"{'round':<10}" + "".join(f"{label:>9}" for _, label, _ in COLUMNS), flush=True)
    medians = {}
    for replicas in (1, 3):
        results = []
        for i in range(args.rounds):
            results.append(await one_round(pg, replicas, args.rate, args.seconds, args, args.seed + i))
            print(row(f"{replicas}r {i + 1}", results[-1]), flush=True)
        medians[replicas] = median_of(results)
        print(row(f"{replicas}r median", medians[replicas]), flush=True)
    print("medians: 1 replica -> 3 replicas")
    for key in ("p50_ms", "p99_ms", "cpu_pct", "peak_mb", "lost", "duplicates"):
        print(f"  {key:<11} {medians[1][key]:>8.1f} -> {medians[3][key]:>8.1f}")


async def search(pg: PgServer, args: argparse.Namespace) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    print(
        f"\nthe highest rate 3 replicas sustain (p99 < {SUSTAINED_P99_MS:g} ms, nothing lost, the rate met): "
        f"{args.search_seconds:g} s per step"
    )
    print(f"{'rate':<10}" + "".join(f"{label:>9}" for _, label, _ in COLUMNS), flush=True)
    best: float | None = None
    for rate in rates:
        result = await one_round(pg, 3, rate, args.search_seconds, args, args.seed)
        print(row(f"{rate:g}/s", result), flush=True)
        met = result["rate"] >= RATE_MET * rate
        if result["p99_ms"] >= SUSTAINED_P99_MS or result["lost"] or not met:
            why = (
                "p99"
                if result["p99_ms"] >= SUSTAINED_P99_MS
                else "lost"
                if result["lost"]
                else "rate not met"
            )
            print(f"  not sustained at {rate:g}/s ({why})")
            break
        best = rate
    print(f"highest sustained rate: {'none of ' + args.rates if best is None else f'{best:g} updates/s'}")


async def drive(args: argparse.Namespace) -> None:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # a replica's half-sent request at stop
    try:
        with throwaway_server() as pg:
            if not args.no_serving:
                await serving(pg, args)
            if not args.no_search:
                await search(pg, args)
    except ServerUnavailable as exc:
        raise SystemExit(f"no PostgreSQL server to run on: {exc}") from None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="paced part of each serving round")
    ap.add_argument("--rate", type=float, default=30.0, help="updates per second in the serving rounds")
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=20.0, help="added to every Bot API call")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--search-seconds", type=float, default=20.0, help="paced part of each search step")
    ap.add_argument("--rates", default="30,60,90,120,150,180", help="the search's rates, lowest first")
    ap.add_argument("--no-serving", action="store_true", help="only the search")
    ap.add_argument("--no-search", action="store_true", help="only the serving rounds")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 5 s, search 30,60 for 5 s")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.search_seconds, args.rates = 5.0, 1, 5.0, "30,60"
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
