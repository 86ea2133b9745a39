"""Long polling that confirms an update to Telegram only after it is stored.

PTB's own Updater confirms the updates it fetched (by asking for the next offset) before they have been
handled, so a crash loses them. Here each batch goes into the `Inbox` first; only then does the next
getUpdates carry the higher offset. The raw batch is read one update at a time, so an update the bot
cannot parse is skipped with one log line instead of failing the batch and being fetched again forever.

With several replicas on one database exactly one polls: the one holding the `poller` lease
(bot.storage.claims). The others ask for it every second and take over when the poller stops renewing it
(killed, or cut off from the database): within POLLER_LEASE_SECONDS and a second. A batch the poller could
not store is not confirmed; it is fetched again.

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

from bot.storage.claims import POLLER
from bot.storage.database import first_line
from bot.telegram.inbox import AnyApp, Inbox
from bot.telegram.network import describe, is_network_fault

log = logging.getLogger("bot.telegram.polling")

# getUpdates is called through Bot.do_api_request to see the raw JSON; PTB suggests its parsing method
warnings.filterwarnings("ignore", message=r".*Bot\.get_updates.*", category=PTBUserWarning)

CONFLICT_REMINDER_SECONDS = 300.0
MAX_PAUSE = 10.0
STANDBY_SECONDS = 1.0  # how often a standing-by replica asks for the poller's lease


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
        self._polling = True  # until it turns out another replica does
        self._store_failing = False

    async def start(self) -> None:
        """Poll in the background (what was left from the last run is found by the Inbox)."""
        await self.app.bot.delete_webhook(drop_pending_updates=False)  # getUpdates refuses while one is set
        self._task = asyncio.create_task(self._poll(), name="polling")

    async def stop(self) -> None:
        """Stop fetching. A batch that was on its way and not stored is not confirmed: Telegram keeps it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _may_poll(self) -> bool:
        """Whether this replica holds the poller's lease (one replica polls; the others stand by, and take
        over when it stops renewing). Logged when that changes."""
        try:
            holds = self.inbox.claims.hold(POLLER)
        except Exception:
            holds = False  # the database is away: nothing fetched now could be stored
        if holds != self._polling:
            if holds:
                log.info("Polling Telegram for updates")
            else:
                log.info("Another replica polls Telegram; standing by to take over")
            self._polling = holds
        return holds

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            if not self._may_poll():
                offset = None  # the next poller confirmed what it fetched: start from Telegram's view
                await asyncio.sleep(STANDBY_SECONDS)
                continue
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
            try:
                self.inbox.receive(raw)  # stored before the next offset confirms the batch
            except Exception as exc:  # the database is away: fetch the same batch again once it is back
                if not self._store_failing:
                    log.error(
                        "Could not store %d update(s) (%s); fetching them again", len(raw), first_line(exc)
                    )
                    self._store_failing = True
                await asyncio.sleep(MAX_PAUSE / 2)
                continue
            if self._store_failing:
                log.info("Storing updates again")
                self._store_failing = False
            ids = [u["update_id"] for u in raw if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if ids:
                offset = max(ids) + 1

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
