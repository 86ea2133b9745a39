"""Updates from different chats are handled concurrently; updates from one chat keep their order, once.

PTB either handles updates one at a time or all at once. One at a time lets a slow reply to one person hold
up everyone else; all at once lets two quick taps from the same person race on their state. Keying on the
chat (or, for inline queries, the person) gives each conversation its order and the bot its concurrency.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, CallbackContext

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

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = conversation_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued for this chat: forget its lock
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


# ------------------------------------------------------------------------------------- each update once
SEEN = "seen"  # chat_data: ids of the chat's latest handled updates, newest last
SEEN_KEPT = 32


def first_time(update_id: int, chat_data: dict[str, Any]) -> bool:
    """True the first time `update_id` is met in this chat; remembers it.

    Telegram hands an update out again until a later getUpdates confirms it, so after a crash the updates
    fetched just before it come back. Their ids, kept with the chat's (persisted) data, let the bot skip
    what it already answered. Exact ids are kept rather than a high-water mark, because Telegram may start
    numbering anew after a quiet week.
    """
    seen = chat_data.get(SEEN)
    if not isinstance(seen, list):
        seen = []
    if update_id in seen:
        return False
    chat_data[SEEN] = [*seen[-(SEEN_KEPT - 1) :], update_id]
    return True


async def skip_repeated(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Runs before every other handler: stops an update this chat has already had."""
    if not isinstance(update, Update) or context.chat_data is None:
        return
    if not first_time(update.update_id, context.chat_data):
        log.info(
            "Update %d was already handled in chat %s; skipped",
            update.update_id,
            update.effective_chat.id if update.effective_chat else None,
        )
        raise ApplicationHandlerStop
