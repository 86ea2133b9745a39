"""Long polling that confirms an update to Telegram only after it is stored.

PTB's own Updater confirms the updates it fetched (by asking for the next offset) before they have been
handled, so a crash loses them. Here each batch goes into the `Inbox` first; only then does the next
getUpdates carry the higher offset. The raw batch is read one update at a time, so an update the bot
cannot parse is skipped with one log line instead of failing the batch and being fetched again forever.

A 409 Conflict (another process polls with the same token) is one ERROR line, then a reminder at most
every five minutes, never a traceback. Network faults are logged once per incident by bot.telegram.network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import warnings
from collections.abc import Sequence

from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.warnings import PTBUserWarning

from bot.telegram.network import describe, is_network_fault
from bot.telegram.ordering import AnyApp, Inbox

log = logging.getLogger("bot.telegram.polling")

# getUpdates is called through Bot.do_api_request to see the raw JSON; PTB suggests its parsing method
warnings.filterwarnings("ignore", message=r".*Bot\.get_updates.*", category=PTBUserWarning)

CONFLICT_REMINDER_SECONDS = 300.0
MAX_PAUSE = 10.0


class Poller:
    """getUpdates in a loop: store, then confirm; hand the new updates to the application's queue."""

    def __init__(
        self, app: AnyApp, inbox: Inbox, allowed_updates: Sequence[str], *, timeout: int = 10
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._conflict_logged: float | None = None

    async def start(self) -> None:
        """Hand over what was left from the last run, then poll in the background."""
        await self.app.bot.delete_webhook(drop_pending_updates=False)  # getUpdates refuses while one is set
        for update in self.inbox.left_over():
            await self.app.update_queue.put(update)
        self._task = asyncio.create_task(self._poll(), name="polling")

    async def stop(self) -> None:
        """Stop fetching. A batch that was on its way and not stored is not confirmed: Telegram keeps it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            try:
                raw = await self._fetch(offset)
            except InvalidToken:
                log.error(
                    "Telegram refused the token while polling; stop the bot and check TELEGRAM_BOT_TOKEN"
                )
                raw = None
            except Conflict:
                self._conflict()
                raw = None
            except TelegramError as exc:
                if not is_network_fault(
                    exc
                ):  # network faults: one line per incident, in bot.telegram.network
                    log.warning("getUpdates failed: %s", describe(exc))
                raw = None
            if raw is None:
                failures += 1
                await asyncio.sleep(min(MAX_PAUSE, 0.5 * 2 ** min(failures, 5)) * random.uniform(0.8, 1.2))
                continue
            failures = 0
            if self._conflict_logged is not None:
                log.info("Polling again: the other instance has stopped")
                self._conflict_logged = None
            if not raw:
                continue
            new = self.inbox.receive(raw)  # stored before the next offset confirms the batch
            ids = [u["update_id"] for u in raw if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if ids:
                offset = max(ids) + 1
            for update in new:
                await self.app.update_queue.put(update)

    async def _fetch(self, offset: int | None) -> list[object] | None:
        result = await self.app.bot.do_api_request(
            "get_updates",
            api_kwargs={"offset": offset, "timeout": self.timeout, "allowed_updates": self.allowed_updates},
            read_timeout=self.timeout + 10,
        )
        return list(result) if isinstance(result, list) else None

    def _conflict(self) -> None:
        now = time.monotonic()
        if self._conflict_logged is None:
            log.error(
                "Another process is polling Telegram with this bot's token (409 Conflict); only one can "
                "receive updates: stop the other one. Retrying."
            )
            self._conflict_logged = now
        elif now - self._conflict_logged >= CONFLICT_REMINDER_SECONDS:
            log.error("Still 409 Conflict: another process is polling with this bot's token")
            self._conflict_logged = now
