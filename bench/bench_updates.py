"""Throughput of the Telegram bot beside a minimal PTB echo bot, on the same fake Bot API server.

Not a test: run `python bench/bench_updates.py [--updates N] [--users U]`. For each bot, a fresh fake server
(in this process) is loaded with the same N updates from U people (questions, commands, group mentions, button
presses) before the bot starts; the bot runs in its own process and drains them through real long polling
and real HTTP. Printed: updates per second, peak resident memory of the bot process, and the ratio
ours / echo (the goal is at least 0.8).

The echo bot runs twice: one update at a time (PTB's default, `echo`) and with as many updates at once as
our bot serves chats at once (`echo-c`, the same concurrency: a like-for-like comparison); ours handles
different chats concurrently and each chat in order. With no latency (the default) all are bound by CPU,
which is the harshest comparison: it measures our per-update work (matching, red-flag detection, the
question log, keyboards, persistence) against an echo. `--latency-ms 20` adds a network-like delay to every
call, closer to the real Bot API. The rate limiter stays in our bot with Telegram's flood limits switched
off, since the echo bot has none.

A shared machine's speed drifts from minute to minute, so each round runs the three bots back to back, and
the ratio printed is the median of the rounds' ratios, with their range. The questions are a few common
ones asked again and again, as people do, so the bot's memory of recent readings serves most of them;
`--distinct` makes every question's text unique (a number at the end), so that each is read afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakebot import BOT_USERNAME, TOKEN, FakeTelegram, group_chat, private_chat, user  # noqa: E402

QUESTIONS = (
    "why does my back hurt after leg press?",
    "do I need a belt for the leg press?",
    "my lumbar is cooked after the sled",
    "how often should I stretch my hamstrings?",
    "where should my feet go on the platform",
    "what can I do instead of the leg press",
    "is it my core? my abs are weak",
    "what's the weather like tomorrow",
)
COMMANDS = ("/causes", "/fixes", "/faq", "/help", "/start", "/about")
BUTTONS = ("e:tight-hamstrings", "e:improve-form", "l:fix", "e:no-such-entry")
KINDS = ("echo", "echo-c", "ours")  # echo one update at a time, echo as concurrent as ours, ours


def load_updates(fake: FakeTelegram, n: int, users: int, seed: int = 7, distinct: bool = False) -> None:
    """The same mix for both bots: mostly private questions, some commands, group mentions and buttons."""
    rng = random.Random(seed)
    people = [user(10_000 + i, f"User{i}") for i in range(users)]
    groups = [group_chat(-5000 - i, f"Gym {i}") for i in range(max(1, users // 20))]
    for i in range(n):
        person = people[i % users]
        roll = rng.random()
        question = f"{rng.choice(QUESTIONS)} {i}" if distinct else rng.choice(QUESTIONS)
        if roll < 0.6:
            msg = fake.message(private_chat(person), person, question)
        elif roll < 0.8:
            msg = fake.message(private_chat(person), person, rng.choice(COMMANDS))
        elif roll < 0.9:
            msg = fake.message(rng.choice(groups), person, f"@{BOT_USERNAME} {question}")
        else:
            chat = private_chat(person)
            shown = fake.message(chat, {**fake.bot_user}, "<b>Common causes</b>")
            query = fake.callback_query(person, shown, rng.choice(BUTTONS))
            fake.updates.append({"update_id": i + 1, "callback_query": query})
            continue
        fake.updates.append({"update_id": i + 1, "message": msg})


# ------------------------------------------------------------------------------------------ workers
def build_echo(base_url: str, concurrent: bool = False) -> Any:
    """The minimal PTB bot: echo every text, answer every button."""
    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    from bot.telegram.ordering import PerChatUpdateProcessor

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    async def press(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    builder = Application.builder().token(TOKEN).base_url(base_url)
    if concurrent:
        builder = builder.concurrent_updates(PerChatUpdateProcessor.SLOTS)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(press))
    return app


def build_ours(base_url: str, data_dir: Path) -> Any:
    from telegram.ext import AIORateLimiter

    from bot.config import Settings
    from bot.content.load import load_knowledge
    from bot.core.dialogue import Dialogue
    from bot.telegram.app import build_application

    kb = load_knowledge(ROOT / "faq.yaml")
    settings = Settings(token=TOKEN, base_url=base_url, data_dir=data_dir)
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    return build_application(settings, Dialogue.from_kb(kb), rate_limiter=limiter)


async def work(kind: str, base_url: str, n: int) -> dict[str, float]:
    from telegram import Update
    from telegram.ext import TypeHandler

    with tempfile.TemporaryDirectory() as tmp:
        app = build_ours(base_url, Path(tmp)) if kind == "ours" else build_echo(base_url, kind == "echo-c")
        done = asyncio.Event()
        seen = 0

        async def count(update: Update, _: Any) -> None:
            nonlocal seen
            seen += 1
            if seen >= n:
                done.set()

        app.add_handler(TypeHandler(Update, count), group=1_000)
        async with app:
            if app.post_init is not None:  # as run_polling does: the menu, the timers, the settled heap
                await app.post_init(app)
            await app.start()
            started, cpu = time.perf_counter(), time.process_time()
            await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=False)
            await asyncio.wait_for(done.wait(), 600)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            await app.updater.stop()
            await app.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "updates": n,
        "seconds": elapsed,
        "cpu": cpu,
        "per_second": n / elapsed,
        "peak_mb": peak_kb / 1024,
    }


# ---------------------------------------------------------------------------------------- the driver
async def measure(kind: str, n: int, users: int, latency: float, distinct: bool) -> dict[str, float]:
    fake = FakeTelegram()
    fake.latency = latency
    load_updates(fake, n, users, distinct=distinct)
    await fake.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            kind,
            "--base-url",
            fake.base_url,
            "--updates",
            str(n),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{kind} bot failed")
        result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
        result["api_calls"] = len(fake.calls)
        return result
    finally:
        await fake.stop()


async def drive(n: int, users: int, rounds: int, latency_ms: float, distinct: bool) -> None:
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:  # interleaved, so that a noisy moment hits all
            runs[kind].append(await measure(kind, n, users, latency_ms / 1000, distinct))
    best = {kind: max(runs[kind], key=lambda r: r["per_second"]) for kind in KINDS}
    mix = "every question different" if distinct else "common questions asked again"
    print(f"{n} updates from {users} people ({mix}), Bot API latency {latency_ms:g} ms, {rounds} rounds")
    print("best run of each bot:")
    print(f"{'bot':<8}{'updates/s':>10}{'seconds':>10}{'CPU s':>8}{'peak MB':>10}{'API calls':>11}")
    for kind in KINDS:
        r = best[kind]
        print(
            f"{kind:<8}{r['per_second']:>10.0f}{r['seconds']:>10.2f}{r['cpu']:>8.2f}{r['peak_mb']:>10.1f}"
            f"{r['api_calls']:>11.0f}"
        )
    for echo in ("echo", "echo-c"):
        # each round's runs follow one another, so their ratio is the least disturbed by a noisy machine
        pairs = zip(runs["ours"], runs[echo], strict=True)
        ratios = sorted(ours["per_second"] / other["per_second"] for ours, other in pairs)
        median = statistics.median(ratios)
        print(
            f"ratio ours/{echo}: median {median:.2f} over {rounds} rounds"
            f" (range {ratios[0]:.2f}-{ratios[-1]:.2f},"
            f" best-of {best['ours']['per_second'] / best[echo]['per_second']:.2f}; goal >= 0.80)"
            f" {'OK' if median >= 0.8 else 'BELOW GOAL'}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=2000)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay the fake server adds to each call")
    ap.add_argument("--distinct", action="store_true", help="make every question's text unique")
    ap.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(work(args.worker, args.base_url, args.updates))))
    else:
        asyncio.run(drive(args.updates, args.users, args.rounds, args.latency_ms, args.distinct))


if __name__ == "__main__":
    main()
