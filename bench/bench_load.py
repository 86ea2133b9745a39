"""Load: 200 people each sending 20 messages and completing the check, then the same through a fault burst.

Not a test: run `python bench/bench_load.py [--users 200] [--messages 20] [--burst 3]`. The fake Bot API
server runs in this process and plays the people: each one sends a message, waits until the whole reply has
arrived, sends the next, then runs /check and taps an answer at every step until the result. All people talk
at once. The bot runs in its own process (`--worker`), built by `build_application` with the default
`NetworkPolicy`, and long-polls the fake server over real HTTP.

Printed per run: replies expected, lost (never arrived) and duplicated (arrived more than once), p50/p99/max
reply latency (from the update reaching the server to the last part of its reply), wall time, and the bot
process's peak resident memory. The second run makes the server answer every call with 502 for half of
`--burst` seconds and then 429 (retry_after 1) for the other half, starting when half the conversations'
messages have been answered.

Telegram's flood limits are switched off in the rate limiter: with them on, the run measures Telegram's 30
messages a second rather than the bot (bench_serving.py keeps them, at a pace Telegram allows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakebot import TOKEN, Call, FakeTelegram, Json, private_chat, user  # noqa: E402
from samples import COMMANDS, QUESTIONS  # noqa: E402

from bot.content.load import load_knowledge  # noqa: E402
from bot.core.dialogue import Dialogue  # noqa: E402

# the common questions of bench/samples.py, and the commands that do not start anything
MESSAGES = (*QUESTIONS, *(c for c in COMMANDS if c != "/start"))
REPLY_WAIT = 60.0  # a reply that has not arrived by then is counted lost


# ------------------------------------------------------------------------------------------ the bot
async def work(base_url: str) -> None:
    """The bot process: serve until the driver closes stdin, then print peak memory as JSON."""
    from telegram.ext import AIORateLimiter

    from bot.config import Settings
    from bot.telegram.app import ALLOWED_UPDATES, build_application, inbox_of
    from bot.telegram.logs import setup_logging
    from bot.telegram.polling import Poller

    setup_logging("WARNING", (TOKEN,))  # the incident lines go to stderr, as in production
    kb = load_knowledge(ROOT / "bot" / "faq.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token=TOKEN, base_url=base_url, data_dir=Path(tmp))
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
        app = build_application(settings, Dialogue.from_kb(kb), rate_limiter=limiter)
        async with app:
            assert app.post_init is not None
            await app.post_init(app)
            await app.start()
            poller = Poller(app, inbox_of(app), ALLOWED_UPDATES, timeout=10)
            await poller.start()
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            await poller.stop()
            await app.stop()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak_mb}), flush=True)


# ------------------------------------------------------------------------------------------ people
@dataclass(frozen=True)
class Expect:
    """The Bot API calls that make up the whole reply to one update."""

    sends: int = 0
    edits: int = 0
    answers: int = 0


@dataclass
class Chat:
    """One person's view: calls about their chat arrive here as the server records them."""

    inbox: asyncio.Queue[Call] = field(default_factory=asyncio.Queue)
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class Run:
    fake: FakeTelegram
    chats: dict[int, Chat] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)  # callback query id -> chat
    latencies: list[float] = field(default_factory=list)
    expected: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    answered: int = 0  # conversations' messages answered so far (for the burst's start)

    def listen(self, call: Call) -> None:
        chat_id = call.chat_id
        if call.method == "answerCallbackQuery":
            chat_id = self.queries.get(str(call.params.get("callback_query_id")))
        if chat_id is not None and chat_id in self.chats:
            self.chats[chat_id].counts[call.method] += 1
            self.chats[chat_id].inbox.put_nowait(call)

    async def exchange(self, chat_id: int, expect: Expect, **update: Any) -> None:
        """Push one update and wait for its whole reply; record the latency, or count what never came."""
        chat = self.chats[chat_id]
        want = Counter(
            {
                "sendMessage": expect.sends,
                "editMessageText": expect.edits,
                "answerCallbackQuery": expect.answers,
            }
        )
        self.expected.update(want)
        started = time.perf_counter()
        await self.fake.push(**update)
        got: Counter[str] = Counter()
        deadline = started + REPLY_WAIT
        while any(got[m] < n for m, n in want.items()):
            try:
                call = await asyncio.wait_for(chat.inbox.get(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                self.lost += sum(max(0, n - got[m]) for m, n in want.items())
                return
            got[call.method] += 1
        self.latencies.append(time.perf_counter() - started)


def expectations(dialogue: Dialogue) -> tuple[dict[str, Expect], list[Expect]]:
    """What the core answers: per message (no check open), and per step of the check as people answer it."""
    per_message = {text: Expect(sends=len(reply_to(dialogue, text))) for text in MESSAGES}
    outcome = dialogue.on_command("check", "", None, "private", 1000.0, "bench0")
    steps = []
    state = outcome.state
    for i in range(20):
        options = answer_options(outcome.replies[-1].buttons)
        if not options:
            break
        outcome = dialogue.on_button(choose(options), state, "private", 1001.0 + i, "bench1")
        state = outcome.state
        edits = sum(1 for r in outcome.replies if r.edit)
        steps.append(Expect(sends=len(outcome.replies) - edits, edits=edits, answers=1))
    return per_message, steps


def reply_to(dialogue: Dialogue, text: str) -> tuple[Any, ...]:
    if text.startswith("/"):
        return dialogue.on_command(text[1:], "", None, "private", 1000.0, "bench").replies
    return dialogue.on_text(text, None, "private", 1000.0).replies


def answer_options(buttons: Any) -> list[str]:
    """The answers of a check question: `q:<run>:<step>:<option>` (not back / cancel)."""
    data = [
        str(b.get("callback_data", "")) if isinstance(b, dict) else (b.data or "")
        for row in buttons or ()
        for b in row
    ]
    return [d for d in data if d.startswith("q:") and d.count(":") == 3]


def choose(options: list[str]) -> str:
    """ "none" where offered (no red flag), else the first answer."""
    return next((d for d in options if d.endswith(":none")), options[0])


def current_question(fake: FakeTelegram, chat_id: int, message_id: int) -> Json:
    return fake.bot_message(chat_id, message_id)


async def person(
    run: Run, i: int, n_messages: int, per_message: dict[str, Expect], steps: list[Expect]
) -> None:
    someone = user(100_000 + i, f"User{i}")
    chat = private_chat(someone)
    fake = run.fake
    for k in range(n_messages):
        text = MESSAGES[(i + k) % len(MESSAGES)]
        await run.exchange(chat["id"], per_message[text], message=fake.message(chat, someone, text))
        run.answered += 1
    await run.exchange(chat["id"], Expect(sends=1), message=fake.message(chat, someone, "/check"))
    question = max(
        (m for (c, _), m in fake.messages.items() if c == chat["id"] and m["from"].get("is_bot")),
        key=lambda m: m["message_id"],
    )
    for expect in steps:
        shown = current_question(fake, chat["id"], question["message_id"])
        options = answer_options((shown.get("reply_markup") or {}).get("inline_keyboard"))
        if not options:
            run.lost += 1  # the check ended early: its question was never shown
            return
        query = fake.callback_query(someone, shown, choose(options))
        run.queries[query["id"]] = chat["id"]
        await run.exchange(chat["id"], expect, callback_query=query)


async def burst(run: Run, at: int, seconds: float) -> None:
    """Once `at` messages have been answered: 502 for half of `seconds`, then 429 for the other half."""
    while run.answered < at:
        await asyncio.sleep(0.05)
    run.fake.inject("502", seconds=seconds / 2)
    await asyncio.sleep(seconds / 2)
    run.fake.inject("429", seconds=seconds / 2, retry_after=1)


async def one_run(users: int, n_messages: int, burst_seconds: float) -> dict[str, float]:
    kb = load_knowledge(ROOT / "bot" / "faq.yaml")
    per_message, steps = expectations(Dialogue.from_kb(kb))
    fake = FakeTelegram()
    await fake.start()
    run = Run(fake)
    fake.listeners.append(run.listen)
    for i in range(users):
        run.chats[100_000 + i] = Chat()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--worker",
        fake.base_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert (await proc.stdout.readline()).strip() == b"ready"
        started = time.perf_counter()
        tasks = [person(run, i, n_messages, per_message, steps) for i in range(users)]
        if burst_seconds:
            tasks.append(burst(run, users * n_messages // 2, burst_seconds))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1.0)  # anything sent twice arrives by now
    finally:
        proc.stdin.close()
        out = await proc.stdout.read()
        await proc.wait()
        await fake.stop()
    got: Counter[str] = Counter()
    for chat in run.chats.values():
        got.update(chat.counts)
    duplicates = sum(max(0, got[m] - run.expected[m]) for m in run.expected)
    lat = sorted(run.latencies)
    return {
        "updates": len(lat) + 0.0,
        "replies": sum(run.expected.values()) + 0.0,
        "lost": run.lost + 0.0,
        "duplicates": duplicates + 0.0,
        "faulted": len(fake.faulted) + 0.0,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000,
        "max_ms": lat[-1] * 1000,
        "seconds": elapsed,
        "peak_mb": json.loads(out.decode().strip().splitlines()[-1])["peak_mb"],
    }


def show(title: str, r: dict[str, float]) -> None:
    print(
        f"{title:<22}{r['updates']:>8.0f}{r['replies']:>9.0f}{r['lost']:>6.0f}{r['duplicates']:>6.0f}"
        f"{r['faulted']:>9.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}{r['seconds']:>8.1f}"
        f"{r['peak_mb']:>9.1f}"
    )


async def drive(users: int, n_messages: int, burst_seconds: float) -> None:
    print(f"{users} people × ({n_messages} messages + the check), all at once")
    print(
        f"{'run':<22}{'updates':>8}{'replies':>9}{'lost':>6}{'dupes':>6}{'faulted':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'wall s':>8}{'peak MB':>9}"
    )
    show("clean", await one_run(users, n_messages, 0))
    show(f"fault burst {burst_seconds:g} s", await one_run(users, n_messages, burst_seconds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--messages", type=int, default=20)
    ap.add_argument("--burst", type=float, default=3.0, help="seconds of 502 then 429 in the second run")
    ap.add_argument("--worker", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        asyncio.run(work(args.worker))
    else:
        asyncio.run(drive(args.users, args.messages, args.burst))


if __name__ == "__main__":
    main()
