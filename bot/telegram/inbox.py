"""Every update stored before Telegram is told it arrived, and handled once, in order per chat, by
whichever replica holds the chat.

The `Inbox` stores what polling or the webhook received (bot.storage.intake), each update under its chat,
and only then may Telegram be told. It then takes the chat's lease (bot.storage.claims) and queues the
chat's waiting updates for PTB, oldest first; when another replica holds the chat, that replica handles
them, one after another. When an update's handlers have finished, it is marked done in one transaction
with the person's and the chat's state; the chat is handed back once none of its updates waits.

Every second each replica looks for chats with waiting updates and no live lease: those of a replica that
died (even after answering Telegram's 200 and before handling), and, at start-up, those left by the last
run. On the embedded file one process runs at a time, so they are taken at once; on a shared database
after the dead replica's lease has lapsed.

What can still repeat after a crash is the work of an update that was being handled at that moment: a
reply sent just before the crash is sent again by whoever handles the update next (Telegram has no
idempotent send). A check's step is saved before it is shown, and a check started again by the same update
gets the same run id, so a person never sees a step the bot has forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application

from bot.storage.claims import Claims
from bot.storage.database import first_line
from bot.storage.intake import Intake
from bot.telegram.context import Data
from bot.telegram.persistence import StoragePersistence

log = logging.getLogger("bot.telegram")

AnyApp = Application[Any, Any, Data, Data, Data, Any]
SWEEP_SECONDS = 1.0  # how often chats nobody is handling are looked for
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # marking an update done while the database is away: wait, retry


def conversation_key(update: object) -> int | None:
    """The chat an update belongs to, or its sender when it has no chat (inline mode)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


@dataclass
class Inbox:
    """Stores updates before they are confirmed; hands each chat's to PTB in order, from one replica;
    marks each done with its state."""

    app: AnyApp
    intake: Intake
    persistence: StoragePersistence
    claims: Claims
    unreadable: int = field(default=0)  # updates skipped because they could not be read
    _queued: dict[int, set[int]] = field(default_factory=dict)  # chat -> ids queued here, not finished
    _keeper: asyncio.Task[None] | None = None

    def start_keeping(self) -> None:
        """From start-up on: renew this replica's leases, and take the chats nobody is handling."""
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(), name="claims")

    async def stop_keeping(self) -> None:
        """At a clean stop, once nothing is being handled: hand every chat (and the polling) back, so the
        other replicas take them at once instead of after the lease."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        with contextlib.suppress(Exception):
            self.claims.release_all()

    async def _keep(self) -> None:
        """Every second: the chats nobody is handling (a dead replica's, and at start-up those the last
        run left); every third of a lease: renew. A database that is away is waited for: one line when
        it goes, one when it is back."""
        renewed = 0.0
        failing = False
        while True:
            try:
                if time.monotonic() - renewed >= self.claims.lease_seconds / 3:
                    self.claims.renew()
                    renewed = time.monotonic()
                self.take_unattended()
                if failing:
                    log.info("The database is back: serving again")
                    failing = False
            except Exception as exc:
                if not failing:
                    log.error("The database is away (%s); waiting for it", first_line(exc))
                    failing = True
            await asyncio.sleep(SWEEP_SECONDS)

    def receive(self, raw: Sequence[object]) -> int:
        """Store what Telegram sent (every item with an update id) in one transaction, then queue what
        this replica may handle now; how many were new. Raises if they could not be stored: then nothing
        may be confirmed to Telegram."""
        items = [u for u in raw if isinstance(u, dict) and _update_id(u) is not None]
        if len(items) != len(raw):
            log.warning("Skipped %d update(s) without an update id", len(raw) - len(items))
        bodies = {int(u["update_id"]): u for u in items}
        parsed = {i: read(u, self._bot) for i, u in bodies.items()}
        chats = {i: (conversation_key(u) or 0) for i, u in parsed.items()}
        new = self.intake.store([(i, json.dumps(u, ensure_ascii=True)) for i, u in bodies.items()], chats)
        try:
            self.take((chats[i] for i in new), {i: u for i, u in parsed.items() if u is not None})
        except Exception as exc:  # stored: whoever finds the chat unattended handles it
            log.warning("Could not take the chats of %d stored update(s): %s", len(new), first_line(exc))
        return len(new)

    def take(self, chat_keys: Iterable[int], parsed: Mapping[int, Update] = {}) -> int:
        """Take these chats' leases and queue their waiting updates not queued here yet (`parsed`: those
        read already); how many."""
        queued = 0
        for chat in self.claims.hold_chats(chat_keys):
            mine = self._queued.setdefault(chat, set())
            for update_id, body in self.intake.pending(chat):
                if update_id in mine:
                    continue
                update = parsed.get(update_id) or self._read(update_id, body)
                if update is None:
                    continue
                mine.add(update_id)
                self.app.update_queue.put_nowait(update)
                queued += 1
            if not mine:
                del self._queued[chat]
                self.claims.release_chat(chat)
        return queued

    def take_unattended(self) -> int:
        """Chats with waiting updates and nobody handling them: take them (at start-up, every second)."""
        queued = self.take(self.claims.unattended_chats())
        if queued:
            log.info("Handling %d stored update(s) nobody was handling", queued)
        return queued

    def _read(self, update_id: int, body: str) -> Update | None:
        """The update, or None (logged once, and marked done, so it is never handled)."""
        try:
            data = json.loads(body)
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

    async def finished(self, update: object) -> None:
        """The update's handlers are done: mark it, with the state it changed, in one transaction (waiting
        while the database is away: nothing is lost, the chat waits); then the chat's next update, or
        hand the chat back."""
        if not isinstance(update, Update):
            return
        user, chat = update.effective_user, update.effective_chat
        rows = self.persistence.changed(
            (user.id, self.app.user_data.get(user.id)) if user is not None else None,
            (chat.id, self.app.chat_data.get(chat.id)) if chat is not None else None,
        )
        attempt = 0
        while True:
            try:
                self.intake.done(update.update_id, rows)
                break
            except Exception as exc:
                if attempt == 0:
                    log.error(
                        "Could not mark update %d as done (%s); retrying", update.update_id, first_line(exc)
                    )
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
        if attempt:
            log.info("Marked update %d as done after %d retries", update.update_id, attempt)
        self.persistence.written(rows)
        key = conversation_key(update) or 0
        mine = self._queued.get(key)
        if mine is None:
            return
        mine.discard(update.update_id)
        if mine:
            return  # its next update is queued here already
        del self._queued[key]
        try:
            if not self.claims.release_chat(key):
                self.take([key])  # one arrived meanwhile, perhaps through another replica
        except Exception:  # the database is away: the chat stays ours, and the search finds its updates
            log.warning("Could not hand back a chat; its waiting updates are found later")


def first_across_replicas(app: Application[Any, Any, Any, Any, Any, Any], job: str) -> bool:
    """Whether this replica is the one to run `job` (a name that includes its time slot): the first to
    claim it. True without an inbox (the handlers tested on their own)."""
    inbox = getattr(app.update_processor, "inbox", None)
    return not isinstance(inbox, Inbox) or inbox.claims.once(job)


def read(data: dict[str, Any], bot: Bot) -> Update | None:
    """A raw update as PTB reads it, or None (its chat key is then 0: handled, and skipped, in turn)."""
    try:
        return Update.de_json(data, bot)
    except Exception:
        return None


def _update_id(item: dict[str, object]) -> int | None:
    value = item.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
