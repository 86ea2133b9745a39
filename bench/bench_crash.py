"""Crash: `kill -9` at a random moment in a burst, in polling and webhook mode; lost and repeated replies.

Each run: PEOPLE people each send one message (each gets exactly one reply when nothing goes wrong); the
bot is killed with SIGKILL once a random number of replies has gone out, then started again. Printed per
run: when it was killed, the people never answered (lost) and the replies sent twice (repeated: a reply
sent just before the kill, whose update was not yet marked done, is sent again after the restart).

    .venv/bin/python bench/bench_crash.py [--runs 5] [--people 80] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from crashburst import crash_burst  # noqa: E402
from fakebot import FakeTelegram  # noqa: E402


async def one_run(people: int, kill_after: int, webhook: bool, run: int) -> tuple[int, int, int]:
    fake = FakeTelegram()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            outcome = await crash_burst(
                fake, Path(tmp) / "data", people, kill_after, webhook, first_id=100_000 * (run + 1)
            )
    finally:
        await fake.stop()
    return outcome.killed_after, outcome.lost, outcome.repeated


async def drive(args: argparse.Namespace) -> None:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # a killed bot's half-sent request
    rng = random.Random(args.seed)
    print(f"kill -9 in a burst of {args.people} people, {args.runs} runs per mode")
    print(f"{'mode':8} {'run':>3} {'killed after':>13} {'lost':>5} {'repeated':>9}")
    for mode in ("polling", "webhook"):
        lost, repeated = [], []
        for run in range(args.runs):
            kill_after = rng.randrange(1, args.people)
            killed, n_lost, n_repeated = await one_run(args.people, kill_after, mode == "webhook", run)
            lost.append(n_lost)
            repeated.append(n_repeated)
            print(f"{mode:8} {run + 1:>3} {killed:>9} sent {n_lost:>5} {n_repeated:>9}", flush=True)
        print(
            f"{mode:8} total lost {sum(lost)}, repeated {sum(repeated)} "
            f"(median per run {statistics.median(repeated):g})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--people", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    asyncio.run(drive(ap.parse_args()))


if __name__ == "__main__":
    main()
