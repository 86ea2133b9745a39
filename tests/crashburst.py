"""A burst of people each sending one message, the bot killed with SIGKILL in the middle, then restarted.

Shared by tests/telegram/test_durable_intake.py and bench/bench_crash.py. The bot runs as a real process
(`python -m bot run`) against the fake Bot API, which keeps every update until a getUpdates with a higher
offset confirms it, as Telegram does. In webhook mode a deliverer plays Telegram's part: it posts each
update until the bot answers 200, retrying while the bot is down.

Each message gets exactly one reply when nothing goes wrong, so per person: no reply is a lost update,
more than one a repeated reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from botprocess import WAIT, BotProcess, free_port
from fakebot import FakeTelegram, Json, private_chat, user

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://bot.example.org/hook"  # behind a TLS proxy, as in production
SECRET = "crash-test-secret"
MESSAGES = ("/causes", "/fixes", "/faq", "/about", "do I need a belt for the leg press?")


@dataclass
class Outcome:
    """One run: per person, how many replies they got."""

    replies: dict[int, int]
    killed_after: int  # replies seen when the bot was killed
    log: str = ""

    @property
    def lost(self) -> int:
        return sum(1 for n in self.replies.values() if n == 0)

    @property
    def repeated(self) -> int:
        return sum(n - 1 for n in self.replies.values() if n > 1)


class BotRun(BotProcess):
    """The bot as a process, polling or (with a port) behind a webhook; `secret` empty: the bot makes one."""

    def __init__(
        self,
        fake: FakeTelegram,
        data_dir: Path,
        webhook_port: int | None = None,
        secret: str = SECRET,
        extra: dict[str, str] | None = None,
    ) -> None:
        env: dict[str, str] = {}
        if webhook_port is not None:
            env = {"WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_PORT": str(webhook_port), "WEBHOOK_SECRET": secret}
        super().__init__(fake, data_dir, **env, **(extra or {}))
        self.webhook_port = webhook_port

    @property
    def webhook_url(self) -> str:
        """Where the webhook server listens here; Telegram is told the public https address."""
        return f"http://127.0.0.1:{self.webhook_port}/hook"


async def deliver(url: str, update: Json) -> None:
    """Post one update as Telegram does: again and again until the bot answers 200."""
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with http.post(url, json=update, headers=headers) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return False


async def crash_burst(
    fake: FakeTelegram,
    data_dir: Path,
    people: int,
    kill_after: int,
    webhook: bool,
    first_id: int = 50_000,
    extra: dict[str, str] | None = None,  # more settings for the bot, e.g. DATABASE_URL
) -> Outcome:
    """`people` people write once each; SIGKILL once `kill_after` replies were sent; restart; count."""
    port = free_port() if webhook else None
    persons = [user(first_id + i, f"P{i}") for i in range(people)]
    chats = {p["id"] for p in persons}
    before = len(fake.calls)

    def replies() -> dict[int, int]:
        counts = dict.fromkeys(chats, 0)
        for call in fake.calls[before:]:
            if call.method == "sendMessage" and call.chat_id in counts:
                counts[call.chat_id] += 1
        return counts

    first = BotRun(fake, data_dir, port, extra=dict(extra or {}))
    await first.start()
    if webhook:
        await until(lambda: any(c.method == "setWebhook" for c in fake.calls[before:]))
    updates = []
    for i, person in enumerate(persons):
        message = fake.message(private_chat(person), person, MESSAGES[i % len(MESSAGES)])
        if webhook:
            updates.append({"update_id": first_id + i, "message": message})
        else:
            await fake.push(message=message)
    posting = [asyncio.create_task(deliver(first.webhook_url, u)) for u in updates]
    await until(lambda: sum(replies().values()) >= kill_after)
    killed_after = sum(replies().values())
    await first.stop(signal.SIGKILL)
    log = first.stderr.decode(errors="replace")

    second = BotRun(fake, data_dir, port, extra=dict(extra or {}))
    await second.start()
    try:
        await until(lambda: all(replies().values()))
        await asyncio.wait_for(asyncio.gather(*posting), WAIT)
        await asyncio.sleep(0.5)  # any repeat still on its way
    finally:
        for task in posting:
            task.cancel()
        await second.stop()
        log += second.stderr.decode(errors="replace")
    return Outcome(replies(), killed_after, log)
