"""Each person's check on Telegram: where it is kept, and the note when it closes after 30 minutes of silence.

A check lives in the person's `user_data`, one per chat. While it is open it has one job in PTB's JobQueue,
named after the person and the chat and moved forward whenever the check moves; when the job fires and the
core agrees the check has run out, the person gets the core's polite note and the check is gone.

Jobs live in memory only, so at start-up every stored check gets its job back. A check that ran out while
the bot was down gets its note then, unless that was long ago: its buttons still answer "this check has
ended", and a message gets the core's note, as they always do.

With replicas on one database, each open check also has a row in the `timer` namespace, and every replica
adopts (every minute) the timers it has no job for: a check whose replica died still gets its note. Of the
replicas whose jobs fire, the first to claim the check's run (bot.storage.claims) sends it, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram.ext import JobQueue

from bot.core.check import EXPIRY_SECONDS, CheckState
from bot.core.dialogue import Dialogue
from bot.core.events import Event
from bot.storage.state import Storage
from bot.telegram.context import BotApp, Context, Data
from bot.telegram.inbox import first_across_replicas
from bot.telegram.keyboards import render_keyboard
from bot.telegram.persistence import StoragePersistence

CHECKS = "checks"  # user_data: {chat id: CheckState.to_dict()}
JOB_PREFIX = "check-expiry"
TIMERS = "timer"  # with replicas: "<user>:<chat>" -> {"run", "due"} of every open check
LATE_NOTE_SECONDS = 24 * 60 * 60  # a check that ran out longer ago than this gets no note at start-up
SLACK_SECONDS = 1.0  # the job fires just after the 30 minutes, never just before


def load_state(user_data: Data | None, chat_key: str) -> CheckState | None:
    checks = user_data.get(CHECKS) if user_data is not None else None
    return CheckState.from_dict(checks.get(chat_key)) if isinstance(checks, dict) else None


def store_state(user_data: Data | None, chat_key: str, state: CheckState | None) -> None:
    if user_data is None:
        return
    checks: dict[str, Any] = user_data.setdefault(CHECKS, {})
    if not isinstance(checks, dict):  # a damaged row: start this person's checks afresh
        checks = user_data[CHECKS] = {}
    if state is None:
        checks.pop(chat_key, None)
    else:
        checks[chat_key] = state.to_dict()


def shared_storage(job_queue: JobQueue[Any]) -> Storage | None:
    """The storage other replicas share, or None when this process is alone on its database."""
    persistence = job_queue.application.persistence
    if isinstance(persistence, StoragePersistence) and persistence.shared:
        return persistence.storage
    return None


def job_name(user_id: int, chat_id: int) -> str:
    return f"{JOB_PREFIX}:{user_id}:{chat_id}"


@dataclass(frozen=True)
class CheckTimers:
    """The 30-minute timers of open checks; `clock` is the same clock the handlers give the core.

    `core` returns the current core, so a timer set before a reload of faq.yaml speaks with the new one."""

    core: Callable[[], Dialogue]
    clock: Callable[[], float]
    on_events: Callable[[int, int, Sequence[Event]], None] = lambda user_id, chat_id, events: None

    def schedule(
        self, job_queue: JobQueue[Any] | None, user_id: int, chat_id: int, state: CheckState | None
    ) -> None:
        """Replace this person's timer in this chat: one for an open check, none when there is none."""
        if job_queue is None:
            return
        name = job_name(user_id, chat_id)
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        due = None if state is None else state.updated + EXPIRY_SECONDS
        shared = shared_storage(job_queue)
        if shared is not None:
            value = None if state is None else json.dumps({"run": state.run, "due": due})
            shared.save(TIMERS, f"{user_id}:{chat_id}", value)
        if state is not None and due is not None:
            self._run_at(job_queue, user_id, chat_id, state.run, due)

    def _run_at(self, job_queue: JobQueue[Any], user_id: int, chat_id: int, run: str, due: float) -> None:
        job_queue.run_once(
            self.expire,
            max(0.0, due - self.clock()) + SLACK_SECONDS,
            data=run,
            name=job_name(user_id, chat_id),
            chat_id=chat_id,
            user_id=user_id,
            job_kwargs={"misfire_grace_time": None},  # late is better than never: always send the note
        )

    def adopt(self, job_queue: JobQueue[Any]) -> int:
        """With replicas: a job for every open check's timer this replica has none for; how many."""
        shared = shared_storage(job_queue)
        if shared is None:
            return 0
        adopted = 0
        for key, text in shared.load(TIMERS).items():
            user, _, chat = key.partition(":")
            try:
                timer = json.loads(text)
                user_id, chat_id, run, due = int(user), int(chat), str(timer["run"]), float(timer["due"])
            except (ValueError, TypeError, KeyError):
                continue
            if self.clock() - due > LATE_NOTE_SECONDS:
                shared.save(TIMERS, key, None)
                continue
            if not any(j.data == run for j in job_queue.get_jobs_by_name(job_name(user_id, chat_id))):
                self._run_at(job_queue, user_id, chat_id, run, due)
                adopted += 1
        return adopted

    async def expire(self, context: Context) -> None:
        """The job: close the check if it is still the same one and the core says its time is up."""
        job = context.job
        if job is None or job.user_id is None or job.chat_id is None:
            return
        chat_key = str(job.chat_id)
        state = load_state(context.user_data, chat_key)
        if state is None or state.run != job.data:
            return  # finished, cancelled or replaced meanwhile
        outcome = self.core().on_silence(state, self.clock())
        if outcome.state is not None:  # it moved on meanwhile: wait for its new 30 minutes
            self.schedule(context.job_queue, job.user_id, job.chat_id, outcome.state)
            return
        if not first_across_replicas(context.application, f"check-expiry:{state.run}"):
            return  # another replica's timer closed it
        store_state(context.user_data, chat_key, None)
        self.schedule(context.job_queue, job.user_id, job.chat_id, None)
        self.on_events(job.user_id, job.chat_id, outcome.events)
        app = context.application
        app.mark_data_for_update_persistence(user_ids=job.user_id)
        await app.update_persistence()
        for reply in outcome.replies:
            await context.bot.send_message(
                job.chat_id, reply.text, reply_markup=render_keyboard(reply.buttons, context.bot.username)
            )

    def restore(self, app: BotApp) -> None:
        """At start-up: a timer for every stored check, since jobs do not survive a restart."""
        now = self.clock()
        for user_id, user_data in app.user_data.items():
            checks = user_data.get(CHECKS)
            if not isinstance(checks, dict):
                continue
            for chat_key in list(checks):
                state = load_state(user_data, chat_key)
                if state is None or not chat_key.lstrip("-").isdigit():
                    continue
                if now - state.updated > EXPIRY_SECONDS + LATE_NOTE_SECONDS:
                    continue
                self.schedule(app.job_queue, user_id, int(chat_key), state)
