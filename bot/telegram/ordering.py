"""Updates from different chats are handled concurrently; updates from one chat keep their order, once.

PTB either handles updates one at a time or all at once. One at a time lets a slow reply to one person hold
up everyone else; all at once lets two quick taps from the same person race on their state. Keying on the
chat (or, for inline queries, the person) gives each conversation its order and the bot its concurrency.

Once: every update comes through an `Inbox`, which stores it (bot.storage.intake) before Telegram is told
it arrived, hands it to PTB only the first time its id is seen, and marks it done, in one transaction with
the person's and the chat's state, when its handlers have finished. What can still repeat after a crash
(`kill -9`, power loss aside) is the work of an update that was being handled at that moment: a reply sent
just before the crash is sent again when the update is handled after the restart. A check's step is saved
before it is shown and a check started again by the same update gets the same run id, so a person never
sees a step the bot has forgotten.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.storage.intake import Intake
from bot.telegram.context import Data
from bot.telegram.persistence import StoragePersistence

log = logging.getLogger("bot.telegram")


def conversation_key(update: object) -> int | None:
    """The chat an update belongs to, or its sender when it has no chat (inline mode)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """At most `max_concurrent_updates` chats served at once, and never two updates of one chat.

    An update first waits for its chat's turn and only then takes one of the slots, so a burst from one
    person queues on its own and never holds slots that other chats could use. PTB's own limit (a
    semaphore taken before `do_process_update`) is therefore left wide open.

    Few slots are enough: Telegram lets a bot send about 30 messages a second (the rate limiter holds it to
    that), which at a typical 50-100 ms per call is 2-4 calls in flight. More slots buy nothing but more
    open HTTP connections, and the HTTP pool checks each idle one (a system call) around every request:
    under load, 8 slots cost a quarter more CPU per update than 4.
    """

    SLOTS = 4
    _UNLIMITED = 1 << 16  # PTB's semaphore: any number of updates may be waiting for their chat

    def __init__(self, max_concurrent_updates: int = SLOTS) -> None:
        super().__init__(self._UNLIMITED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int | None, asyncio.Lock] = {}
        self._waiting: dict[int | None, int] = {}
        self.inbox: Inbox | None = None  # set once the application exists (bot.telegram.app)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = conversation_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
                if self.inbox is not None:  # before the chat's next update: its state is the one saved
                    self.inbox.finished(update)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued for this chat: forget its lock
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


# ------------------------------------------------------------------------------------------ the inbox
AnyApp = Application[Any, Any, Data, Data, Data, Any]


@dataclass
class Inbox:
    """Stores updates before they are confirmed, hands each to PTB once, marks it done with its state."""

    app: AnyApp
    intake: Intake
    persistence: StoragePersistence
    unreadable: int = field(default=0)  # updates skipped because they could not be read

    def receive(self, raw: Sequence[object]) -> list[Update]:
        """Store what Telegram sent (every item with an update id) in one transaction; return the updates
        seen for the first time, read and ready to handle. Raises if they could not be stored: then
        nothing may be confirmed to Telegram."""
        items = [u for u in raw if isinstance(u, dict) and _update_id(u) is not None]
        if len(items) != len(raw):
            log.warning("Skipped %d update(s) without an update id", len(raw) - len(items))
        bodies = {int(u["update_id"]): u for u in items}
        new = self.intake.store([(i, json.dumps(u, ensure_ascii=True)) for i, u in bodies.items()])
        return [u for u in (self._read(i, bodies[i]) for i in new) if u is not None]

    def left_over(self) -> list[Update]:
        """At start-up: the updates stored and not handled before the bot stopped, oldest first."""
        updates = []
        for update_id, body in self.intake.pending():
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            update = self._read(update_id, data)
            if update is not None:
                updates.append(update)
        if updates:
            log.info("Handling %d update(s) received before the last stop", len(updates))
        return updates

    def _read(self, update_id: int, data: object) -> Update | None:
        """The update, or None (logged once, and marked done, so it is never fetched again)."""
        try:
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            update = Update.de_json(data, self._bot)
        except Exception as exc:
            self.unreadable += 1
            log.warning("Update %d could not be read (%s); skipped", update_id, type(exc).__name__)
            self.intake.done(update_id)
            return None
        return update

    @property
    def _bot(self) -> Bot:
        return self.app.bot  # type: ignore[no-any-return]

    def finished(self, update: object) -> None:
        """The update's handlers are done: mark it, with the state it changed, in one transaction."""
        if not isinstance(update, Update):
            return
        user, chat = update.effective_user, update.effective_chat
        rows = self.persistence.changed(
            (user.id, self.app.user_data.get(user.id)) if user is not None else None,
            (chat.id, self.app.chat_data.get(chat.id)) if chat is not None else None,
        )
        try:
            self.intake.done(update.update_id, rows)
        except Exception:  # the database is failing: the update is handled again after a restart
            log.exception("Could not mark update %d as done", update.update_id)
            return
        self.persistence.written(rows)


def _update_id(item: dict[str, object]) -> int | None:
    value = item.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
