"""For the people who run the bot: /stats, /reload and SIGHUP.

`Admin` adds two commands that exist only for ADMIN_IDS in a private chat; for everyone else they fall
through to the door and get exactly the reply any unknown command gets. A reload builds the new content off
the event loop and swaps the door's whole `Dialogue` in one assignment, so an update is answered from the
old content or the new, never a mix; a file with errors changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.content.load import load_knowledge
from bot.content.problems import KnowledgeError
from bot.core.dialogue import Dialogue
from bot.core.matching import Matcher
from bot.core.wording import COMMAND_MENU
from bot.replies import clip, esc
from bot.storage.question_log import QuestionLog
from bot.storage.summary import Summary, percent, summarise
from bot.telegram.context import BotApp, Context
from bot.telegram.door import TelegramDoor
from bot.telegram.recording import FLUSH_INTERVAL, FLUSH_JOB, PURGE_INTERVAL, PURGE_JOB, flush_job, purge_job
from bot.text import one_line

log = logging.getLogger("bot.telegram.admin")

ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Summary of the question log: /stats [days]"),
    ("reload", "Re-read faq.yaml"),
)
DEFAULT_STATS_DAYS = 7
MAX_STATS_DAYS = 366


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
    return Dialogue.from_kb(load_knowledge(path))


def parse_days(args: Sequence[str] | None) -> int | None:
    """`/stats` -> 7, `/stats 30` -> 30; None for anything that is not a number of days."""
    if not args:
        return DEFAULT_STATS_DAYS
    if len(args) == 1 and args[0].isascii() and args[0].isdecimal() and 1 <= int(args[0]) <= MAX_STATS_DAYS:
        return int(args[0])
    return None


@dataclass(frozen=True)
class Admin:
    """/stats and /reload for ADMIN_IDS in a private chat, SIGHUP, and the admins' own command menu."""

    door: TelegramDoor
    admin_ids: frozenset[int]
    faq: Path
    question_log: QuestionLog | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)

    def register(self, app: BotApp) -> None:
        """Before the door's handlers: an admin's /stats must not reach the door's "unknown command"."""
        if self.question_log is not None and app.job_queue is not None:
            app.job_queue.run_repeating(
                purge_job, PURGE_INTERVAL, first=PURGE_INTERVAL, name=PURGE_JOB, data=self.question_log
            )
            app.job_queue.run_repeating(
                flush_job, FLUSH_INTERVAL, first=FLUSH_INTERVAL, name=FLUSH_JOB, data=self.question_log
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
        elif self.question_log is None:
            text = "The question log is off: see the bot's log for why."
        else:
            try:
                text = await asyncio.to_thread(
                    short_stats, self.question_log, days, self.door.dialogue.matcher
                )
            except Exception:
                log.exception("/stats failed")
                text = "Could not read the question log: see the bot's log."
        await message.reply_text(clip(text))


def short_stats(question_log: QuestionLog, days: int, matcher: Matcher | None) -> str:
    """The admin's /stats message (Telegram HTML)."""
    return stats_html(summarise(question_log, days, matcher, limit=3))


def stats_html(report: Summary) -> str:
    """A short summary for Telegram: the numbers, then the three things most worth a look."""
    t, f = report.totals, report.funnel
    lines = [
        f"<b>Last {report.days} day{'s' if report.days != 1 else ''}</b>: {t.questions} question"
        f"{'s' if t.questions != 1 else ''} from {t.askers} "
        f"{'person' if t.askers == 1 else 'people'}",
        f"answered {t.answered} ({percent(t.answered, t.questions)}) · unsure {t.unsure} · "
        f"no match {t.no_match} · urgent {t.urgent}",
        f"Check: {f.started} started, {f.finished} finished, {f.red_flag} red-flag stops",
    ]
    if f.top_causes:
        lines.append("Top causes: " + ", ".join(f"{esc(c)} {n}" for c, n in f.top_causes))
    if report.top_entries:
        lines.append("Most asked: " + ", ".join(f"{esc(e.entry_id)} {e.asked}" for e in report.top_entries))
    if report.disliked:
        lines.append("Most 👎: " + ", ".join(f"{esc(e.entry_id)} {e.negative}" for e in report.disliked))
    if report.unanswered:
        lines.append("<b>Unanswered</b>:")
        lines += [f"• {g.count}× “{esc(one_line(g.example, 80))}”" for g in report.unanswered]
    lines.append("Full report: <code>legpress-bot report</code>")
    return "\n".join(lines)
