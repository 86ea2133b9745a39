"""For the people who run the bot: the question log, 👍/👎, /stats, /reload and SIGHUP.

The door calls `QuestionLog` after it has answered, so the log never delays or breaks a reply: every
failure is logged and swallowed. `Admin` adds two commands that exist only for ADMIN_IDS in a private
chat; for everyone else they fall through to the door and get exactly the reply any unknown command gets.
A reload builds the new content off the event loop and swaps the door's whole `Dialogue` in one
assignment, so an update is answered from the old content or the new, never a mix; a file with errors
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from telegram import BotCommand, BotCommandScopeChat, CallbackQuery, ForceReply, Message, ReplyParameters
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.analytics import Analytics
from bot.config import Settings
from bot.dialogue import COMMAND_MENU, Dialogue, Outcome
from bot.knowledge import KnowledgeError, load_knowledge
from bot.matching import Matcher
from bot.replies import Reply, clip, esc
from bot.telegram.persistence import Data

if TYPE_CHECKING:
    from bot.telegram.app import BotApp, Context, TelegramDoor

log = logging.getLogger("bot.telegram.admin")
T = TypeVar("T")
P = ParamSpec("P")

ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Summary of the question log: /stats [days]"),
    ("reload", "Re-read faq.yaml"),
)
DEFAULT_STATS_DAYS = 7
MAX_STATS_DAYS = 366
PURGE_JOB = "analytics-purge"
FLUSH_JOB = "analytics-flush"
FLUSH_INTERVAL = 1.0  # seconds: the most of the question log a crash can cost
PURGE_INTERVAL = timedelta(days=1)

# user_data / chat_data keys (JSON-compatible values: see bot.telegram.persistence)
ASKED = "asked"  # user_data: {"<chat>:<entry id>": [question id, unix time]}, the entries a question led to
MISSING = "missing"  # chat_data: {prompt message id: [entry id, question id or None, user id]}
REMEMBERED = 32  # per person or chat, the newest entries of those maps
LINK_SECONDS = 24 * 3600  # a vote belongs to a question asked at most this long before it
CHECK_EVENTS = {"check-started", "check-finished", "check-red-flag", "check-cancelled", "check-expired"}


def _remember(mapping: dict[str, Any], key: str, value: Any) -> None:
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > REMEMBERED:
        mapping.pop(next(iter(mapping)))


def check_events(events: Sequence[str]) -> list[tuple[str, str | None]]:
    """The dialogue's events -> the log's check events, each with the cause that came out on top.

    A finished check names its top cause in a separate `check-result:<cause>` event; a red flag met inside
    the check is `red-flag-check`. A red flag in free text is a question, not a check event."""
    top = next((e.partition(":")[2] for e in events if e.startswith("check-result:")), None)
    found: list[tuple[str, str | None]] = []
    for event in events:
        name, _, cause = event.partition(":")
        if name == "red-flag-check":
            name = "check-red-flag"
        if name not in CHECK_EVENTS:
            continue
        if name == "check-finished":
            cause = cause or top or ""
        found.append((name, cause if cause and cause != "none" else None))
    return found


@dataclass(frozen=True)
class Vote:
    """A 👍/👎 just recorded: the entry and, when known, the question it answered."""

    entry_id: str
    question_id: int | None
    positive: bool


@dataclass(frozen=True)
class QuestionLog:
    """What the door writes to the question log; without an Analytics (it would not open), nothing."""

    analytics: Analytics | None = None

    def _safely(
        self, what: str, work: Callable[Concatenate[Analytics, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        if self.analytics is None:
            return None
        try:
            return work(self.analytics, *args, **kwargs)
        except Exception:  # the log must never cost a person their answer
            log.warning("question log: could not record %s", what, exc_info=True)
            return None

    # ----------------------------------------------------------------------------------- messages
    def answered(self, message: Message, text: str | None, outcome: Outcome, user_data: Data | None) -> None:
        """After a message was answered: the question (`text`, None for a command) and any check events.
        Remembers which entries the question led to, so a later 👍/👎 on them is stored with it."""
        sender = message.from_user
        if sender is None:
            return
        self.checks(sender.id, message.chat.id, outcome.events)
        if text is None:
            return
        chat = message.chat
        qid = self._safely(
            "a question",
            Analytics.record_question,
            sender.id,
            chat.id,
            chat.type,
            text,
            outcome.match,
            urgent=outcome.urgent,
        )
        m = outcome.match
        if qid is None or user_data is None or m is None or m.band == "none" or outcome.urgent:
            return
        asked: dict[str, Any] = user_data.setdefault(ASKED, {})
        now = time.time()
        for entry_id in dict.fromkeys(
            [*([m.entry.id] if m.entry else []), *(c.entry.id for c in m.candidates)]
        ):
            _remember(asked, f"{message.chat.id}:{entry_id}", [qid, now])

    def checks(self, user_id: int, chat_id: int, events: Sequence[str]) -> None:
        for event, cause in check_events(events):
            self._safely("a check event", Analytics.record_check, user_id, chat_id, event, cause)

    # ------------------------------------------------------------------------------------ buttons
    def pressed(self, user_id: int, chat_key: str, outcome: Outcome, user_data: Data | None) -> Vote | None:
        """After a button press: check events and the 👍/👎 vote, which is returned (None when none)."""
        chat_id = int(chat_key) if chat_key.lstrip("-").isdigit() else user_id
        self.checks(user_id, chat_id, outcome.events)
        vote = None
        for event in outcome.events:
            kind, _, rest = event.partition(":")
            sign, _, entry_id = rest.partition(":")
            if kind != "feedback" or sign not in ("+", "-") or not entry_id:
                continue
            vote = Vote(entry_id, self.question_for(user_data, chat_key, entry_id), sign == "+")
            self._safely(
                "feedback",
                Analytics.record_feedback,
                user_id,
                vote.positive,
                question_id=vote.question_id,
                entry_id=vote.entry_id,
            )
        return vote

    @staticmethod
    def question_for(user_data: Data | None, chat_key: str, entry_id: str) -> int | None:
        """This person's latest question in this chat that led to the entry, if it was recent."""
        found = (user_data or {}).get(ASKED, {}).get(f"{chat_key}:{entry_id}")
        if not isinstance(found, list) or len(found) != 2 or time.time() - float(found[1]) > LINK_SECONDS:
            return None
        return int(found[0])

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
        if context.chat_data is not None:
            prompts: dict[str, Any] = context.chat_data.setdefault(MISSING, {})
            _remember(prompts, str(sent.message_id), [vote.entry_id, vote.question_id, query.from_user.id])

    async def take_missing(self, dialogue: Dialogue, message: Message, context: Context) -> bool:
        """A reply to "what were you looking for?" by the person asked: stored with their 👎 and
        acknowledged, not matched as a new question. False for any other message."""
        quoted, sender = message.reply_to_message, message.from_user
        if quoted is None or sender is None or context.chat_data is None:
            return False
        prompts: dict[str, Any] = context.chat_data.get(MISSING, {})
        asked = prompts.get(str(quoted.message_id))
        if not isinstance(asked, list) or len(asked) != 3 or asked[2] != sender.id:
            return False
        del prompts[str(quoted.message_id)]
        entry_id, question_id = str(asked[0]), asked[1]
        self._safely(
            "what was missing",
            Analytics.record_feedback,
            sender.id,
            False,
            question_id=question_id,
            entry_id=entry_id,
            text=message.text or "",
        )
        outcome = dialogue.on_feedback_text(entry_id, None)
        for reply in outcome.replies:
            await message.reply_text(reply.text, do_quote=message.chat.type != ChatType.PRIVATE)
        return True


def open_analytics(settings: Settings) -> Analytics | None:
    """The question log in DATA_DIR, with rows past the retention period removed. None (and a warning)
    when it cannot be opened: the bot then answers as usual and records nothing."""
    try:
        analytics = Analytics.open(settings.data_dir, retention_days=settings.retention_days)
    except Exception as exc:  # AnalyticsError, an unwritable folder, a locked file: the bot answers anyway
        log.warning("The question log is off: %s", exc)
        return None
    purge(analytics)
    return analytics


def purge(analytics: Analytics) -> int:
    removed = analytics.purge()
    if removed:
        log.info("Question log: removed %d questions older than %d days", removed, analytics.retention_days)
    return removed


async def flush_job(context: Context) -> None:
    """Every second: the questions asked since the last batch go into the log (see bot.analytics)."""
    job = context.job
    if job is not None and isinstance(job.data, Analytics):
        job.data.flush()


async def purge_job(context: Context) -> None:
    """The daily clean-up; in a thread, so a large delete never holds up an answer."""
    job = context.job
    if job is not None and isinstance(job.data, Analytics):
        await asyncio.to_thread(purge, job.data)


# ------------------------------------------------------------------------------------------ reload
@dataclass(frozen=True)
class Reloaded:
    """What a reload did: the new content is served, or the file was refused and nothing changed."""

    path: Path
    ok: bool
    problems: tuple[str, ...] = ()
    entries: int = 0
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def html(self) -> str:
        if not self.ok:
            n = len(self.problems)
            head = (
                f"<b>Not reloaded</b>: {esc(str(self.path))} has {n} problem{'s' if n != 1 else ''}. "
                "I'm still serving the old content.\n\n"
            )
            return clip(head + "<pre>" + esc("\n".join(self.problems)) + "</pre>")
        lines = [f"<b>Reloaded</b> {esc(str(self.path))}: {self.entries} entries."]
        if self.added:
            lines.append("New: " + ", ".join(esc(e) for e in self.added))
        if self.removed:
            lines.append(
                "Removed (their buttons now say they have expired): "
                + ", ".join(esc(e) for e in self.removed)
            )
        return clip("\n".join(lines))

    def line(self) -> str:
        if not self.ok:
            return f"Refused to reload {self.path}; still serving the old content:\n" + "\n".join(
                self.problems
            )
        return (
            f"Reloaded {self.path}: {self.entries} entries"
            f" ({len(self.added)} new, {len(self.removed)} removed)"
        )


def load_dialogue(path: Path) -> Dialogue:
    """A whole new core from faq.yaml: slow enough (parsing, indexing) to run in a thread."""
    kb = load_knowledge(path)
    return Dialogue(kb, Matcher(kb))


def parse_days(args: Sequence[str] | None) -> int | None:
    """`/stats` -> 7, `/stats 30` -> 30; None for anything that is not a number of days."""
    if not args:
        return DEFAULT_STATS_DAYS
    if len(args) == 1 and args[0].isdigit() and 1 <= int(args[0]) <= MAX_STATS_DAYS:
        return int(args[0])
    return None


@dataclass(frozen=True)
class Admin:
    """/stats and /reload for ADMIN_IDS in a private chat, SIGHUP, and the admins' own command menu."""

    door: TelegramDoor
    admin_ids: frozenset[int]
    faq: Path
    analytics: Analytics | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)

    def register(self, app: BotApp) -> None:
        """Before the door's handlers: an admin's /stats must not reach the door's "unknown command"."""
        if self.analytics is not None and app.job_queue is not None:
            app.job_queue.run_repeating(
                purge_job, PURGE_INTERVAL, first=PURGE_INTERVAL, name=PURGE_JOB, data=self.analytics
            )
            app.job_queue.run_repeating(
                flush_job, FLUSH_INTERVAL, first=FLUSH_INTERVAL, name=FLUSH_JOB, data=self.analytics
            )
        if not self.admin_ids:
            return
        only_admins = (
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.User(user_id=self.admin_ids)
        )
        app.add_handler(CommandHandler("stats", self.on_stats, filters=only_admins))
        app.add_handler(CommandHandler("reload", self.on_reload, filters=only_admins))

    async def start(self, app: BotApp) -> None:
        """When the bot starts: SIGHUP reloads, and each admin sees the admin commands in their menu."""
        self.install_sighup(app)
        menu = [BotCommand(name, description) for name, description in (*COMMAND_MENU, *ADMIN_COMMANDS)]
        for admin_id in sorted(self.admin_ids):
            try:
                await app.bot.set_my_commands(menu, scope=BotCommandScopeChat(admin_id))
            except TelegramError as exc:  # e.g. the admin has not opened a chat with the bot yet
                log.info("No admin command menu for %s: %s", admin_id, exc.message)

    def install_sighup(self, app: BotApp) -> None:
        hup = getattr(signal, "SIGHUP", None)
        if hup is None:
            return
        try:
            asyncio.get_running_loop().add_signal_handler(hup, lambda: app.create_task(self.reload("SIGHUP")))
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            log.info("SIGHUP will not reload faq.yaml here: %s", exc)

    async def reload(self, cause: str) -> Reloaded:
        """Re-read faq.yaml; swap the door's whole dialogue if it is valid. The outcome is logged."""
        async with self.lock:  # two reloads at once would race to assign
            try:
                new = await asyncio.to_thread(load_dialogue, self.faq)
            except KnowledgeError as exc:
                result = Reloaded(self.faq, False, tuple(str(p) for p in exc.problems))
            except Exception as exc:  # a bug in indexing must not take the running bot down with it
                log.exception("Reloading %s failed", self.faq)
                result = Reloaded(self.faq, False, (f"{self.faq}: {type(exc).__name__}: {exc}",))
            else:
                old = {e.id for e in self.door.dialogue.kb.entries}
                ids = [e.id for e in new.kb.entries]
                self.door.dialogue = new
                added = tuple(i for i in ids if i not in old)
                result = Reloaded(self.faq, True, (), len(ids), added, tuple(sorted(old - set(ids))))
        if result.ok:
            log.info("%s (%s)", result.line(), cause)
        else:
            log.warning("%s (%s)", result.line(), cause)
        return result

    async def on_reload(self, update: Any, context: Context) -> None:
        message = update.effective_message
        if message is not None:
            result = await self.reload("/reload")
            await message.reply_text(result.html())

    async def on_stats(self, update: Any, context: Context) -> None:
        message = update.effective_message
        if message is None:
            return
        days = parse_days(context.args)
        if days is None:
            text = (
                f"Usage: /stats [days], e.g. /stats 30 (1 to {MAX_STATS_DAYS}; default {DEFAULT_STATS_DAYS})"
            )
        elif self.analytics is None:
            text = "The question log is off: see the bot's log for why."
        else:
            try:
                text = await asyncio.to_thread(self.analytics.short_stats, days, self.door.dialogue.matcher)
            except Exception:
                log.exception("/stats failed")
                text = "Could not read the question log: see the bot's log."
        await message.reply_text(clip(text))
