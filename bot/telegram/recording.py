"""What the door writes to the question log after it has answered, and the 👎 follow-up.

Called after the reply is sent, so the log never delays or breaks a reply: every failure is logged and
swallowed. A 👎 is followed by "what were you looking for?"; the person's reply to that is stored with the
vote and acknowledged, never matched as a new question.

Nothing in a person's state points into the log: a vote finds the question it is about inside the log,
through the salted names (`QuestionLog.record_feedback(chat_id=…)`), and the open "what were you looking
for?" prompts are kept in the person's own data, by message, without any id of the log or of a person.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from telegram import CallbackQuery, ForceReply, Message, ReplyParameters
from telegram.constants import ChatType

from bot.config import Settings
from bot.core.dialogue import Dialogue, Outcome
from bot.core.events import Event, Voted
from bot.replies import Reply
from bot.storage.question_log import QuestionLog
from bot.telegram.context import Context, Data, remember
from bot.telegram.inbox import first_across_replicas

log = logging.getLogger("bot.telegram.recording")
T = TypeVar("T")
P = ParamSpec("P")

PURGE_JOB = "question-log-purge"
FLUSH_JOB = "question-log-flush"
FLUSH_INTERVAL = 1.0  # seconds: the most of the question log a crash can cost
PURGE_INTERVAL = timedelta(days=1)
# user_data keys (JSON-compatible values: see bot.telegram.persistence)
MISSING = "missing"  # user_data: {"<chat id>:<prompt message id>": [entry id, unix time]}
REMEMBERED = 32  # per person, the newest prompts


@dataclass(frozen=True)
class Vote:
    """A 👍/👎 just recorded, on this entry."""

    entry_id: str
    positive: bool


@dataclass(frozen=True)
class Recorder:
    """What the door writes to the question log; without one (it would not open), nothing."""

    question_log: QuestionLog | None = None

    def _safely(
        self, what: str, work: Callable[Concatenate[QuestionLog, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        if self.question_log is None:
            return None
        try:
            return work(self.question_log, *args, **kwargs)
        except Exception:  # the log must never cost a person their answer
            log.warning("question log: could not record %s", what, exc_info=True)
            return None

    # ----------------------------------------------------------------------------------- messages
    def answered(self, message: Message, text: str | None, outcome: Outcome, user_data: Data | None) -> None:
        """After a message was answered: the question (`text`, None for a command) and any check events."""
        sender = message.from_user
        if sender is None:
            return
        self.checks(sender.id, message.chat.id, outcome.events)
        if text is None:
            return
        chat = message.chat
        self._safely(
            "a question",
            QuestionLog.record_question,
            sender.id,
            chat.id,
            chat.type,
            text,
            outcome.match,
            urgent=outcome.urgent,
        )

    def checks(self, user_id: int, chat_id: int, events: Sequence[Event]) -> None:
        """The check's events (started, finished, ...); the log ignores the others."""
        for event in events:
            self._safely("a check event", QuestionLog.record_check, user_id, chat_id, event)

    # ------------------------------------------------------------------------------------ buttons
    def pressed(self, user_id: int, chat_key: str, outcome: Outcome, user_data: Data | None) -> Vote | None:
        """After a button press: check events and the 👍/👎 vote, which is returned (None when none)."""
        chat_id = int(chat_key) if chat_key.lstrip("-").isdigit() else user_id
        self.checks(user_id, chat_id, outcome.events)
        vote = None
        for event in outcome.events:
            if not isinstance(event, Voted):
                continue
            vote = Vote(event.entry_id, event.positive)
            self._safely(
                "feedback",
                QuestionLog.record_feedback,
                user_id,
                vote.positive,
                entry_id=vote.entry_id,
                chat_id=chat_id,
            )
        return vote

    def forget(self, user_id: int) -> int:
        """/forget: this person's questions, votes and check events leave the log."""
        return self._safely("a deletion", QuestionLog.forget, user_id) or 0

    async def ask_what_was_missing(
        self, context: Context, query: CallbackQuery, reply: Reply, vote: Vote | None
    ) -> None:
        """Send the core's "what were you looking for?" and remember it, so a reply to it is feedback.

        In a private chat the app opens the reply box by itself (ForceReply); in a group the question
        quotes the answer it is about. Inline-mode messages have no chat to ask in."""
        message = query.message
        if message is None or vote is None or query.inline_message_id is not None:
            return
        private = message.chat.type == ChatType.PRIVATE
        quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
        sent = await context.bot.send_message(
            message.chat.id,
            reply.text,
            reply_markup=ForceReply(input_field_placeholder="What was missing?") if private else None,
            reply_parameters=None if private else quote,
        )
        if context.user_data is not None:  # the presser's own data: only their reply is taken as the answer
            prompts: dict[str, Any] = context.user_data.setdefault(MISSING, {})
            remember(
                prompts, f"{message.chat.id}:{sent.message_id}", [vote.entry_id, time.time()], REMEMBERED
            )

    async def take_missing(self, dialogue: Dialogue, message: Message, context: Context) -> bool:
        """A reply to "what were you looking for?" by the person asked: stored with their 👎 and
        acknowledged, not matched as a new question. False for any other message."""
        quoted, sender = message.reply_to_message, message.from_user
        if quoted is None or sender is None or context.user_data is None:
            return False
        prompts = context.user_data.get(MISSING)
        key = f"{message.chat.id}:{quoted.message_id}"
        asked = prompts.get(key) if isinstance(prompts, dict) else None
        if not isinstance(asked, list) or len(asked) != 2 or not isinstance(prompts, dict):
            return False
        del prompts[key]
        entry_id = str(asked[0])
        self._safely(
            "what was missing",
            QuestionLog.record_feedback,
            sender.id,
            False,
            entry_id=entry_id,
            text=message.text or "",
            chat_id=message.chat.id,
        )
        outcome = dialogue.on_feedback_text(entry_id, None)
        for reply in outcome.replies:
            await message.reply_text(reply.text, do_quote=message.chat.type != ChatType.PRIVATE)
        return True


def open_question_log(settings: Settings) -> QuestionLog | None:
    """The question log in DATA_DIR (or on DATABASE_URL), with rows past the retention period removed.
    None (and a warning) when it cannot be opened: the bot then answers as usual and records nothing."""
    try:
        question_log = QuestionLog.open(
            settings.data_dir, retention_days=settings.retention_days, database_url=settings.database_url
        )
    except Exception as exc:  # QuestionLogError, an unwritable folder, a locked file: the bot answers anyway
        log.warning("The question log is off: %s", exc)
        return None
    purge(question_log)
    return question_log


def purge(question_log: QuestionLog) -> int:
    removed = question_log.purge()
    if removed:
        log.info(
            "Question log: removed %d questions older than %d days", removed, question_log.retention_days
        )
    return removed


async def flush_job(context: Context) -> None:
    """Every second: the questions asked since the last batch go into the log (bot.storage.question_log)."""
    job = context.job
    if job is not None and isinstance(job.data, QuestionLog):
        job.data.flush()


async def purge_job(context: Context) -> None:
    """The daily clean-up, by one replica (the first to claim the day); in a thread, so a large delete
    never holds up an answer."""
    job = context.job
    if job is None or not isinstance(job.data, QuestionLog):
        return
    day = time.strftime("%Y-%m-%d", time.gmtime())
    if not first_across_replicas(context.application, f"question-log-purge:{day}"):
        return
    await asyncio.to_thread(purge, job.data)
