"""Serving: 200 people at a steady 30 updates a second through a fake Bot API, 20 ms latency on every call.

Not a test: run `python bench/bench_serving.py [--seconds 60] [--rate 30] [--people 200] [--latency-ms 20]
[--rounds 3]`. Each round starts a fresh fake Bot API server (tests/fakebot.py, in this process, over real
HTTP on 127.0.0.1) and the bot as its own process, the way it is deployed: `legpress-bot run` (`--module`:
`python -m bot run`) with TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL, DATA_DIR and FAQ_PATH in its environment.
Nothing from `bot` is imported here, so the benchmark does not depend on the package's layout.

The people take turns at a steady pace (`--rate` updates a second overall, so each person speaks every
people/rate seconds): a free-text question (mostly a few common ones, some rarer phrasings), a command
(/causes, /fixes, /faq, /start), a tap on a button of the bot's last answer (an entry, a list, 👍), or /check
followed by one tap per turn on the check's answer buttons until its result. A person whose last reply is
still arriving lets the next one speak. The fake server adds `--latency-ms` to every call, getUpdates
included when it carries updates (the update travels the network to the bot too).

Measured per update: the time from the update being made available by the server to the last part of the
bot's reply being received by it (a reply is every call about that chat, or that callback query, until the
person's next update). A reply is lost when it never came or came incomplete, duplicated when it came with
more calls than the same update's usual reply, or with a call repeated word for word; the usual reply is the
most common one for the same message (or the same step of the check) in the run. Also measured over the
paced part of the run: the bot process's CPU time (user + system, from /proc/PID/stat) per wall second, as a
share of one core; and its peak resident memory (VmHWM in /proc/PID/status) before it is stopped with
SIGTERM. Each round is printed, then the medians beside the goals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from fakebot import TOKEN, Call, FakeTelegram, Json, private_chat, user  # noqa: E402
from samples import MORE_QUESTIONS, QUESTIONS  # noqa: E402

FAQ = ROOT / "bot" / "faq.yaml"
PEOPLE_COMMANDS = ("/causes", "/fixes", "/faq", "/start")
START_WAIT = 60.0  # seconds the bot may take to reach its first getUpdates
GIVE_UP = 10.0  # a person whose reply has not come after this long speaks again (the reply counts lost)
SETTLE = 1.0  # seconds without a call after which a reply is taken as complete
MAX_CHECK_STEPS = 20
GOALS = {"p99_ms": 150.0, "cpu_pct": 25.0, "peak_mb": 100.0, "lost": 0.0, "duplicates": 0.0}


# ------------------------------------------------------------------------------------------ server
class Server(FakeTelegram):
    """The fake Bot API, telling when the bot first polls and which messages it sent to each chat."""

    def __init__(self) -> None:
        super().__init__()
        self.polled = asyncio.Event()
        self.bot_messages: dict[int, list[int]] = defaultdict(list)

    async def api_getUpdates(self, params: Json) -> list[Json]:
        self.polled.set()
        result = await super().api_getUpdates(params)
        if result and self.latency:
            await asyncio.sleep(self.latency)  # the way back to the bot, as for every other call
        return result

    async def api_sendMessage(self, params: Json) -> Json:
        msg = await super().api_sendMessage(params)
        self.bot_messages[int(msg["chat"]["id"])].append(int(msg["message_id"]))
        return msg


# ------------------------------------------------------------------------------------------ people
@dataclass
class Sent:
    """One update and the calls that answered it: (time received, method, the call word for word)."""

    key: tuple[str, ...]
    pushed: float
    calls: list[tuple[float, str, str]] = field(default_factory=list)


@dataclass
class Person:
    someone: Json
    chat: Json
    policy: int  # which answer they pick in the check, where "none of these" is not offered
    rng: random.Random
    current: Sent | None = None
    checking: bool = False
    check_step: int = 0
    check_from: int = 0  # the bot's messages in this chat before the check started

    def ready(self, now: float) -> bool:
        sent = self.current
        if sent is None or now - sent.pushed >= GIVE_UP:
            return True
        return bool(sent.calls) and now - sent.calls[-1][0] >= 0.3


def buttons_of(message: Json) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [str(b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def check_options(message: Json) -> list[str]:
    """The answers of a check question: `q:<run>:<step>:<option>` (not back / cancel)."""
    return [d for d in buttons_of(message) if d.startswith("q:") and d.count(":") == 3]


def tappable(data: str) -> bool:
    """Buttons people tap between checks: an entry, a list, 👍 (👎 asks a follow-up question)."""
    return data.startswith(("e:", "l:", "f:+:"))


class Crowd:
    def __init__(self, fake: Server, people: int, seed: int) -> None:
        self.fake = fake
        rng = random.Random(seed)
        self.people: dict[int, Person] = {}
        for i in range(people):
            someone = user(200_000 + i, f"Person{i}")
            self.people[someone["id"]] = Person(
                someone, private_chat(someone), i % 3, random.Random(rng.random())
            )
        self.queries: dict[str, Sent] = {}
        self.sent: list[Sent] = []
        fake.listeners.append(self.listen)

    def listen(self, call: Call) -> None:
        now = time.perf_counter()
        target: Sent | None = None
        if call.method == "answerCallbackQuery":
            target = self.queries.get(str(call.params.get("callback_query_id")))
        elif call.chat_id in self.people:
            target = self.people[call.chat_id].current
        if target is not None:
            word_for_word = json.dumps(call.params, sort_keys=True, default=str)
            target.calls.append((now, call.method, word_for_word))

    def bot_message(self, person: Person, since: int = 0, back: int = 3) -> tuple[Json, ...]:
        """The bot's latest messages in this person's chat, newest first, as they stand (edits included)."""
        chat_id = person.chat["id"]
        ids = self.fake.bot_messages[chat_id][since:]
        return tuple(self.fake.bot_message(chat_id, m) for m in reversed(ids[-back:]))

    def next_update(self, person: Person) -> tuple[tuple[str, ...], Json]:
        """What this person sends now, and the key of its expected reply."""
        fake, rng = self.fake, person.rng
        if person.checking:
            shown = next((m for m in self.bot_message(person, person.check_from) if check_options(m)), None)
            if shown is not None and person.check_step < MAX_CHECK_STEPS:
                options = check_options(shown)
                data = next((d for d in options if d.endswith(":none")), None)
                data = data or options[min(person.policy, len(options) - 1)]
                key = ("check", str(person.policy), str(person.check_step))
                person.check_step += 1
                return key, {"callback_query": fake.callback_query(person.someone, shown, data)}
            person.checking = False  # the result is shown: back to questions
        roll = rng.random()
        if roll < 0.15:
            person.checking, person.check_step = True, 0
            person.check_from = len(fake.bot_messages[person.chat["id"]])
            return ("command", "/check"), self.message(person, "/check")
        if roll < 0.30:
            for shown in self.bot_message(person):
                choices = [d for d in buttons_of(shown) if tappable(d)]
                if choices:
                    data = rng.choice(choices)
                    return ("tap", data), {"callback_query": fake.callback_query(person.someone, shown, data)}
        if roll < 0.50:
            command = rng.choice(PEOPLE_COMMANDS)
            return ("command", command), self.message(person, command)
        text = rng.choice(QUESTIONS) if rng.random() < 0.75 else rng.choice(MORE_QUESTIONS)
        return ("text", text), self.message(person, text)

    def message(self, person: Person, text: str) -> Json:
        return {"message": self.fake.message(person.chat, person.someone, text)}

    async def pace(self, rate: float, seconds: float) -> tuple[int, int]:
        """Send `rate` updates a second for `seconds`, people in turn; returns (sent, turns nobody took)."""
        order = list(self.people.values())
        random.Random(len(order)).shuffle(order)
        cursor, skipped = 0, 0
        started = time.perf_counter()
        for k in range(int(rate * seconds)):
            delay = started + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            for _ in order:
                person = order[cursor]
                cursor = (cursor + 1) % len(order)
                if person.ready(now):
                    break
            else:
                skipped += 1
                continue
            key, update = self.next_update(person)
            sent = Sent(key, time.perf_counter())
            person.current = sent
            self.sent.append(sent)
            if "callback_query" in update:
                self.queries[update["callback_query"]["id"]] = sent
            await self.fake.push(**update)
        return len(self.sent), skipped

    async def settle(self) -> None:
        """Until every reply has come and nothing has arrived for SETTLE seconds (at most GIVE_UP)."""
        deadline = time.perf_counter() + GIVE_UP
        while time.perf_counter() < deadline:
            now = time.perf_counter()
            last = max((s.calls[-1][0] for s in self.sent if s.calls), default=0.0)
            if all(s.calls for s in self.sent) and now - last >= SETTLE:
                return
            await asyncio.sleep(0.1)

    def tally(self) -> dict[str, float]:
        """Latencies of complete replies; lost and duplicated replies against each key's usual reply."""

        def shape(s: Sent) -> tuple[tuple[str, int], ...]:
            return tuple(sorted(Counter(method for _, method, _ in s.calls).items()))

        usual: dict[tuple[str, ...], Counter[tuple[tuple[str, int], ...]]] = defaultdict(Counter)
        for s in self.sent:
            if s.calls:
                usual[s.key][shape(s)] += 1
        latencies, lost, duplicates = [], 0, 0
        for s in self.sent:
            if not s.calls:
                lost += 1
                continue
            expected = sum(n for _, n in usual[s.key].most_common(1)[0][0])
            repeated = len(s.calls) - len({w for _, _, w in s.calls})
            if len(s.calls) < expected:
                lost += 1
            elif len(s.calls) > expected or repeated:
                duplicates += 1
            else:
                latencies.append(s.calls[-1][0] - s.pushed)
        lat = sorted(latencies) or [float("nan")]
        return {
            "updates": float(len(self.sent)),
            "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000,
            "max_ms": lat[-1] * 1000,
            "lost": float(lost),
            "duplicates": float(duplicates),
        }


# ------------------------------------------------------------------------------------------ the bot
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bot_command(module: bool) -> list[str]:
    script = Path(sys.executable).parent / "legpress-bot"
    if module or not script.exists():
        return [sys.executable, "-m", "bot", "run"]
    return [str(script), "run"]


def bot_env(fake: Server, data_dir: Path) -> dict[str, str]:
    """The deployment's settings, pointed at the fake server; nothing inherited that could reach Telegram."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        DATA_DIR=str(data_dir),
        FAQ_PATH=str(FAQ),
        PYTHONUNBUFFERED="1",
    )
    return env


async def one_round(args: argparse.Namespace, seed: int) -> dict[str, float]:
    fake = Server()
    fake.latency = args.latency_ms / 1000
    await fake.start()  # listening before the bot starts: its first call finds the server
    crowd = Crowd(fake, args.people, seed)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        log = Path(tmp) / "bot.log"
        with log.open("wb") as stderr:
            launched = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *bot_command(args.module),
                cwd=tmp,  # no .env of the repository's
                env=bot_env(fake, Path(tmp) / "data"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            exited = asyncio.create_task(proc.wait())
            polled = asyncio.create_task(fake.polled.wait())
            await asyncio.wait({exited, polled}, timeout=START_WAIT, return_when=asyncio.FIRST_COMPLETED)
            if not polled.done():
                polled.cancel()
                raise SystemExit(f"the bot did not start polling:\n{log.read_text()[-3000:]}")
            start_s = time.perf_counter() - launched
            await asyncio.sleep(1.0)  # start-up finished (commands set, jobs scheduled)
            cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
            sent, skipped = await crowd.pace(args.rate, args.seconds)
            cpu1, wall1 = cpu_seconds(proc.pid), time.perf_counter()
            await crowd.settle()
            peak = peak_rss_mb(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
            await fake.stop()
        text = log.read_text(errors="replace")
    result = crowd.tally()
    tracebacks = shown_tracebacks(text, f"the bot exited with {code}", failed=code != 0)
    result.update(
        rate=sent / (wall1 - wall0),
        skipped=float(skipped),
        cpu_pct=100 * (cpu1 - cpu0) / (wall1 - wall0),
        peak_mb=peak,
        start_s=start_s,
        tracebacks=float(tracebacks),
        exit=float(code),
    )
    return result


def shown_tracebacks(log: str, status: str, failed: bool) -> int:
    """How many tracebacks the log has; the first (or the log's end, when a process failed) is printed."""
    tracebacks = log.count("Traceback")
    if tracebacks or failed:
        first = log.index("Traceback") if tracebacks else max(0, len(log) - 2000)
        print(f"  {status}, {tracebacks} tracebacks in the logs:\n{log[first : first + 2000]}")
    return tracebacks


COLUMNS = (
    ("updates", "updates", "{:.0f}"),
    ("rate", "upd/s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("max_ms", "max ms", "{:.1f}"),
    ("cpu_pct", "CPU %", "{:.1f}"),
    ("peak_mb", "peak MB", "{:.1f}"),
    ("lost", "lost", "{:.0f}"),
    ("duplicates", "dupes", "{:.0f}"),
    ("skipped", "skipped", "{:.0f}"),
    ("start_s", "start s", "{:.2f}"),
    ("tracebacks", "tracebk", "{:.0f}"),
)


def row(title: str, r: dict[str, float]) -> str:
    return f"{title:<10}" + "".join(f"{fmt.format(r[k]):>9}" for k, _, fmt in COLUMNS)


async def drive(args: argparse.Namespace) -> None:
    print(
        f"{args.people} people, {args.rate:g} updates/s for {args.seconds:g} s, {args.latency_ms:g} ms "
        f"latency on every call; bot: {' '.join(Path(c).name for c in bot_command(args.module))}"
    )
    print(f"{'round':<10}" + "".join(f"{label:>9}" for _, label, _ in COLUMNS), flush=True)
    results = []
    for i in range(args.rounds):
        results.append(await one_round(args, args.seed + i))
        print(row(str(i + 1), results[-1]), flush=True)
    median = {k: statistics.median(r[k] for r in results) for k, _, _ in COLUMNS}
    print(row("median", median))
    print("goals (medians):")
    for key, goal in GOALS.items():
        verdict = "ok" if median[key] <= goal else "MISSED"
        print(f"  {key:<11} {median[key]:>8.1f}  goal <= {goal:g}  {verdict}")
    worst = {k: max(r[k] for r in results) for k in ("lost", "duplicates", "tracebacks")}
    print(
        f"worst round: lost {worst['lost']:.0f}, duplicates {worst['duplicates']:.0f}, "
        f"tracebacks {worst['tracebacks']:.0f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="paced part of each round")
    ap.add_argument("--rate", type=float, default=30.0, help="updates per second, all people together")
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=20.0, help="added to every Bot API call")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--module", action="store_true", help="start the bot as `python -m bot run`")
    args = ap.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
