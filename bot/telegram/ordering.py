"""Updates from different chats are handled concurrently; updates from one chat keep their order, once.

PTB either handles updates one at a time or all at once. One at a time lets a slow reply to one person hold
up everyone else; all at once lets two quick taps from the same person race on their state. Keying on the
chat (or, for inline queries, the person) gives each conversation its order and the bot its concurrency.

Once, and in order across replicas: every update comes through the `Inbox` (bot.telegram.inbox), which
queues a chat's updates only on the replica holding that chat, and is told here when each has finished,
before the chat's next one starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor

from bot.telegram.inbox import Inbox, conversation_key


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
                    await self.inbox.finished(update)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued for this chat: forget its lock
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
