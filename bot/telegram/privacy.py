"""What the bot keeps about a person, for how long, and how it lets go of it.

- Per-person and per-chat state (`user_data`, `chat_data`) carries the day it was last used; state silent
  for RETENTION_DAYS is deleted by a daily job, as the question log's rows are.
- `/forget`, confirmed, deletes the person's state (their checks, their open "what were you looking for?"
  prompts, the private chat's data), their check timers and everything they added to the question log.
- PTB logs every Bot API call with its parameters at DEBUG: message texts, names, and the webhook secret
  that `setWebhook` carries. Those loggers are held at INFO unless LOG_CONTENT asks for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.telegram.checks import JOB_PREFIX, TIMERS, shared_storage
from bot.telegram.context import BotApp, Context, Data
from bot.telegram.inbox import first_across_replicas
from bot.telegram.persistence import StoragePersistence
from bot.telegram.recording import Recorder

log = logging.getLogger("bot.telegram.privacy")
AnyApp = Application[Any, Any, Data, Data, Data, Any]  # the application, as jobs and handlers see it

ACTIVE = "active"  # user_data / chat_data: the day (days since 1970, UTC) it was last used
DAY = 86400
PURGE_JOB = "silent-state-purge"
PURGE_INTERVAL = timedelta(days=1)
ACTIVE_GROUP = 900  # handler group: after the door's handlers, so that only data in use is marked
# PTB's loggers that write Bot API parameters and answers, or whole updates, at DEBUG: texts, names, secrets
CONTENT_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application", "telegram.ext.Updater")


def today(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // DAY)


def hold_content_logs(log_content: bool) -> None:
    """Keep message texts, names and secrets out of the log at DEBUG, unless LOG_CONTENT asks for them."""
    for name in CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if log_content else logging.INFO)


def _touch(data: Data | None, day: int) -> None:
    if data and data.get(ACTIVE) != day:  # only data that holds something: an empty one is not kept
        data[ACTIVE] = day


async def mark_active(update: object, context: Context) -> None:
    """After the handlers: the day this person's and this chat's data were last used."""
    if isinstance(update, Update):
        day = today()
        _touch(context.user_data, day)
        _touch(context.chat_data, day)


def silent(data: Mapping[int, Data], retention_days: int, day: int) -> list[int]:
    """Ids whose data has been silent longer than the retention period. Data from before the day was
    recorded counts as used today: it gets the full period from now."""
    found = []
    for key, value in data.items():
        active = value.get(ACTIVE)
        if not isinstance(active, int) or isinstance(active, bool):
            value[ACTIVE] = day
        elif day - active > retention_days:
            found.append(key)
    return found


def purge_silent(
    app: AnyApp,
    retention_days: int,
    now: float | None = None,
    stored: tuple[Mapping[int, Data], Mapping[int, Data]] | None = None,
) -> tuple[int, int]:
    """Drop the state of people and chats silent for longer than `retention_days`; (people, chats).
    `stored`: everyone's state as the database holds it (with replicas, memory holds only some)."""
    day = today(now)
    users, chats_data = stored if stored is not None else (app.user_data, app.chat_data)
    people = silent(users, retention_days, day)
    chats = silent(chats_data, retention_days, day)
    for user_id in people:
        app.drop_user_data(user_id)
        _cancel_timers(app, user_id)
    for chat_id in chats:
        app.drop_chat_data(chat_id)
    if people or chats:
        log.info(
            "Deleted the state of %d people and %d chats silent for over %d days",
            len(people),
            len(chats),
            retention_days,
        )
    return len(people), len(chats)


async def purge_job(context: Context) -> None:
    """Daily, by one replica (the first to claim the day)."""
    job, app = context.job, context.application
    if job is None or not isinstance(job.data, int):
        return
    if not first_across_replicas(app, f"retention:{today()}"):
        return
    persistence = app.persistence
    shared = isinstance(persistence, StoragePersistence) and persistence.shared
    stored = persistence.stored() if isinstance(persistence, StoragePersistence) and shared else None
    purge_silent(app, job.data, stored=stored)
    await app.update_persistence()


def _cancel_timers(app: AnyApp, user_id: int) -> None:
    if app.job_queue is None:
        return
    for job in app.job_queue.jobs():
        if job.name is not None and job.name.startswith(f"{JOB_PREFIX}:{user_id}:"):
            job.schedule_removal()
    shared = shared_storage(app.job_queue)
    if shared is not None:  # the replicas' copy of this person's timers
        for key in shared.load(TIMERS):
            if key.startswith(f"{user_id}:"):
                shared.save(TIMERS, key, None)


async def forget(context: Context, user_id: int, chat_id: int | None, recorder: Recorder) -> None:
    """Everything about this person, gone before the reply says so: their state, their private chat's
    data, their check timers and their rows in the question log."""
    app = context.application
    app.drop_user_data(user_id)
    if chat_id == user_id:  # a private chat's data is that person's too
        app.drop_chat_data(chat_id)
    _cancel_timers(app, user_id)
    removed = recorder.forget(user_id)
    await app.update_persistence()
    log.info("A person asked to be forgotten: their state and %d question-log rows deleted", removed)


OLD_USER_KEYS = ("asked",)  # earlier versions: question-log ids of what the person asked
OLD_CHAT_KEYS = ("missing",)  # earlier versions: open 👎 prompts with the raw id of the person asked


def drop_old_links(app: AnyApp) -> None:
    """At start-up: state written by earlier versions that pointed into the question log, or named people
    by their raw ids in a chat's data, is dropped (and written at the next persistence run)."""
    for data, keys in ((app.user_data, OLD_USER_KEYS), (app.chat_data, OLD_CHAT_KEYS)):
        for key, value in data.items():
            if any(k in value for k in keys):
                for k in keys:
                    value.pop(k, None)
                if data is app.user_data:
                    app.mark_data_for_update_persistence(user_ids=key)
                else:
                    app.mark_data_for_update_persistence(chat_ids=key)


def register(app: BotApp, retention_days: int) -> None:
    """The day-of-use mark after every update, and the daily purge of silent state."""
    app.add_handler(TypeHandler(Update, mark_active), group=ACTIVE_GROUP)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            purge_job, PURGE_INTERVAL, first=timedelta(seconds=30), name=PURGE_JOB, data=retention_days
        )
