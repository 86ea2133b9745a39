"""Fixtures: the fake Bot API server, the real bot running against it, and a person to talk to it.

Waiting is never timed: the bot under test gets one extra handler, in a group after all of its own, that
signals when an update has been fully handled; the helpers push an update and wait for that signal, then
return the Bot API calls made meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botprocess import CLI, cli_env  # noqa: F401 - shared with the tests that import them from here
from fakebot import TOKEN, Call, FakeTelegram, Json, group_chat, private_chat, user
from pg import backend, database_url, pg_server  # noqa: F401 - fixtures: each storage, a PostgreSQL server
from telegram import Update
from telegram.ext import TypeHandler

from bot.config import Settings
from bot.content.load import load_knowledge
from bot.content.model import KnowledgeBase
from bot.core.dialogue import Dialogue
from bot.telegram.app import ALLOWED_UPDATES, build_application, inbox_of
from bot.telegram.context import BotApp
from bot.telegram.network import NetworkPolicy
from bot.telegram.polling import Poller
from bot.telegram.recording import FLUSH_JOB

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "bot" / "faq.yaml"
PROCESSED_GROUP = 1_000  # after every handler group of the bot
WAIT = 10.0  # an upper bound only: a test that reaches it has failed


@pytest.fixture(autouse=True, scope="session")
def _content_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every `legpress-bot` the tests start keeps its compiled content in a folder of the session's own,
    not in the ~/.cache of the person running them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@functools.cache
def knowledge() -> KnowledgeBase:
    return load_knowledge(FAQ)


@pytest.fixture
def kb() -> KnowledgeBase:
    return knowledge()


@pytest.fixture
def dialogue(kb: KnowledgeBase) -> Dialogue:
    return Dialogue.from_kb(kb)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def settings_for(fake: FakeTelegram, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url, data_dir=data_dir, **extra
    )


@dataclass
class Harness:
    """The running bot, and helpers to act as people talking to it."""

    fake: FakeTelegram
    app: BotApp
    processed: dict[int, asyncio.Event] = field(default_factory=dict)
    poller: Poller | None = None

    async def question_log(self, table: str) -> list[dict[str, Any]]:
        """A table of the question log, read beside the running bot as the maintainer's report reads it,
        once the bot has written its latest batch (its job does every second; here, at once)."""
        queue = self.app.job_queue
        assert queue is not None
        (job,) = queue.get_jobs_by_name(FLUSH_JOB)
        await job.run(self.app)
        with contextlib.closing(sqlite3.connect(job.data.path)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]

    def event(self, update_id: int) -> asyncio.Event:
        return self.processed.setdefault(update_id, asyncio.Event())

    async def push(self, **update: Any) -> list[Call]:
        """Deliver one update and return the Bot API calls the bot made while handling it."""
        before = len(self.fake.calls)
        update_id = await self.fake.push(**update)
        await asyncio.wait_for(self.event(update_id).wait(), WAIT)
        return self.fake.calls[before:]

    async def say(
        self, chat: Json, sender: Json, text: str | None, reply_to: Json | None = None, **extra: Any
    ) -> tuple[Json, list[Call]]:
        msg = self.fake.message(chat, sender, text, reply_to, **extra)
        return msg, await self.push(message=msg)

    async def edit(self, original: Json, text: str) -> list[Call]:
        return await self.push(edited_message=self.fake.edited(original, text))

    async def press(
        self, sender: Json, message: Json | None, data: str, inline_message_id: str = ""
    ) -> list[Call]:
        return await self.push(
            callback_query=self.fake.callback_query(sender, message, data, inline_message_id)
        )

    async def inline(self, sender: Json, query: str) -> list[Call]:
        return await self.push(inline_query=self.fake.inline_query(sender, query))

    def message_of(self, call: Call, response_chat: int | None = None) -> Json:
        """The message a sendMessage call created, as stored by the fake server (to press its buttons)."""
        chat_id = call.chat_id if response_chat is None else response_chat
        assert chat_id is not None
        candidates = [
            m
            for (c, _), m in self.fake.messages.items()
            if c == chat_id and m.get("from", {}).get("is_bot") and m.get("text") == call.text
        ]
        return candidates[-1]


async def start_bot(
    fake: FakeTelegram,
    settings: Settings,
    dialogue: Dialogue,
    clock: Callable[[], float] | None = None,
    network: NetworkPolicy | None = None,
) -> Harness:
    app = build_application(
        settings, dialogue, network=network, **({"clock": clock} if clock is not None else {})
    )
    harness = Harness(fake, app)

    async def mark(update: Update, _: object) -> None:
        harness.event(update.update_id).set()

    app.add_handler(TypeHandler(Update, mark), group=PROCESSED_GROUP)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)  # as run_polling does: the command menu, the open checks' timers
    await app.start()
    harness.poller = Poller(app, inbox_of(app), ALLOWED_UPDATES, timeout=1)  # as `run` polls
    await harness.poller.start()
    return harness


async def stop_bot(harness: Harness) -> None:
    app = harness.app
    if harness.poller is not None:
        await harness.poller.stop()
    if app.running:
        await app.stop()
    await inbox_of(app).stop_keeping()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)  # as run_polling does: closes the question log


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue) -> AsyncIterator[Harness]:
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue)
    yield harness
    await stop_bot(harness)


# ------------------------------------------------------------------------------------------ people
@pytest.fixture
def alice() -> Json:
    return user(1001, "Alice", "alice")


@pytest.fixture
def bob() -> Json:
    return user(1002, "Bob", "bob")


@pytest.fixture
def dm(alice: Json) -> Json:
    return private_chat(alice)


@pytest.fixture
def group() -> Json:
    return group_chat(-4001, "Leg day")


@pytest.fixture
def supergroup() -> Json:
    return group_chat(-1001234567890, "Leg day club", "supergroup")


# ----------------------------------------------------------------------------------- subprocesses


# ------------------------------------------------------------------------------------------- errors
class Errors:
    """Everything that reached the bot's error handler or was logged at ERROR, during one test."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.handled: list[BaseException] = []

    def assert_none(self) -> None:
        logged = [r for r in self.caplog.records if r.levelno >= logging.ERROR]
        assert not self.handled and not logged, (self.handled, [r.getMessage() for r in logged])


@pytest.fixture
async def errors(bot: Harness, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Errors]:
    """What reached the error handler or was logged at ERROR during the test: none, or it fails."""
    caplog.set_level(logging.WARNING)
    seen = Errors(caplog)

    async def spy(_: object, context: Any) -> None:
        seen.handled.append(context.error)

    bot.app.add_error_handler(spy)
    yield seen
    seen.assert_none()


# -------------------------------------------------------------------------------------------- time
class Clock:
    """The bot's clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60.0


@pytest.fixture
def clock() -> Clock:
    return Clock()
