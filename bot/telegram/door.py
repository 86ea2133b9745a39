"""The Telegram door: updates in, core calls, rendered replies out.

Every decision about what to say is the core's (`bot.core.dialogue.Dialogue`); this module only knows
Telegram: which message to quote or edit, how buttons become keyboards, where each person's state lives
(`context.user_data`, persisted), and what the platform needs (callback answers, edits, migrations).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, InlineQueryHandler, MessageHandler, filters

from bot.core.check import CheckState
from bot.core.dialogue import ChatKind, Dialogue, Outcome
from bot.core.events import Forgotten
from bot.core.wording import COMMAND_MENU, FEEDBACK_ASK
from bot.replies import Reply, esc, plain_body, to_plain
from bot.telegram.addressing import (
    FOR_BOT,
    chat_kind,
    command_of,
    mentions,
    message_link,
    question_text,
    strip_mention,
)
from bot.telegram.checks import CheckTimers, load_state, store_state
from bot.telegram.context import BotApp, Context, Data, remember
from bot.telegram.conversation import keep_recent, load_recent
from bot.telegram.keyboards import render_keyboard
from bot.telegram.logs import band_of, handled
from bot.telegram.network import describe, is_network_fault
from bot.telegram.privacy import forget
from bot.telegram.recording import Recorder

log = logging.getLogger("bot.telegram")
T = TypeVar("T")

COMMANDS = ("start", *(name for name, _ in COMMAND_MENU))
RECENT_SECONDS = 5 * 60  # in a group, the same answer within this time gets a pointer, not a repost
REMEMBERED_ANSWERS = 64  # per chat: which bot message answered which question, for edits
REMEMBERED_GROUPS = 16  # per person: the groups whose latest answer to them is remembered
INLINE_DESCRIPTION_CHARS = 120

# chat_data / user_data keys (values must be JSON-compatible: see bot.telegram.persistence)
ANSWERS = "answers"  # chat_data: {asker message id: bot message id}
RECENT = "recent"  # chat_data: {answer key: [bot message id, unix time]}
OWN_ANSWERS = "own-answers"  # user_data: {group chat id: [answer key, bot message id]}
INLINE_CHAT = "inline"  # the state key for buttons on inline-mode messages, which have no chat

# Telegram-only situations the terminal never meets
ONLY_TEXT = "I can only read text messages. Ask me in words, or try /help."
ANSWERED_RECENTLY = "I answered this recently: see my earlier message"
OWN_REPEAT_SECONDS = 30  # the same person sending the same thing again this soon: the answer is just above


def answer_key(outcome: Outcome, command: str | None) -> str | None:
    """What makes two answers in a group "the same": the entries answered, or the command asked.

    Urgent replies are always sent in full, and so are replies that answer nothing in particular.
    """
    if outcome.urgent:
        return None
    entries = [r.entry_id for r in outcome.replies if r.entry_id]
    if entries:
        return "e:" + ",".join(entries)
    if command is not None:
        command_bytes = command.encode("utf-8", "surrogatepass")  # a lone surrogate is a valid argument
        return "c:" + hashlib.sha1(command_bytes).hexdigest()[:12]
    return None


def run_id_of(*origin: object) -> str:
    """A check's run id, made from the message or press that started it: handled again after a crash, the
    same update starts the same check, so the buttons the person already sees keep working."""
    return hashlib.blake2s(":".join(map(str, origin)).encode(), digest_size=3).hexdigest()


@dataclass
class TelegramDoor:
    """The handlers. Holds the core; all per-person data lives in PTB's (persisted) user and chat data.

    `dialogue` is the one mutable part: a reload replaces it whole, in one assignment (see admin.py)."""

    dialogue: Dialogue
    clock: Callable[[], float] = time.time  # the time given to the core: when a check runs out
    question_log: Recorder = field(default_factory=Recorder)
    moved: set[int] = field(default_factory=set, repr=False)  # updates that moved a check: saved at once

    @property
    def timers(self) -> CheckTimers:
        return CheckTimers(lambda: self.dialogue, self.clock, self.question_log.checks)

    def register(self, app: BotApp) -> None:
        message = filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(CommandHandler(COMMANDS, self.on_command, filters=message))
        app.add_handler(MessageHandler(message & filters.COMMAND, self.on_other_command))
        app.add_handler(MessageHandler(message & filters.TEXT & FOR_BOT, self.on_text))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, self.on_edit))
        app.add_handler(
            MessageHandler(
                message & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                self.on_non_text,
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_error_handler(self.on_error)

    # ------------------------------------------------------------------------------------ messages
    def interpret(self, message: Message, user_data: Data | None) -> tuple[Outcome, str | None] | None:
        """A text message -> what the core says to it, or None when it is not for this bot."""
        username = message.get_bot().username
        kind = chat_kind(message.chat)
        key = str(message.chat.id)
        state = load_state(user_data, key)
        now = self.clock()
        command = command_of(message)
        if command is not None:
            name, target, arg = command
            if target is not None and target.lower() != username.lower():
                return None  # addressed to another bot
            if kind == "group" and target is None and name not in COMMANDS:
                return None  # some other bot's command
            run_id = run_id_of(message.chat.id, message.message_id)
            outcome = self.dialogue.on_command(name, arg, state, kind, now, run_id)
            return outcome, answer_key(outcome, f"/{name} {' '.join(arg.lower().split())}")
        text = message.text or ""
        if kind == "group":
            reply = message.reply_to_message
            replying = (
                reply is not None
                and reply.from_user is not None
                and reply.from_user.id == message.get_bot().id
            )
            if not replying and not mentions(message, username):
                return None
            text = strip_mention(text, username)
        recent = load_recent(user_data, key)
        outcome = self.dialogue.on_text(text, state, kind, now, recent)
        return outcome, answer_key(outcome, None)

    async def on_command(self, update: Update, context: Context) -> None:
        await self._answer(update, context)

    async def on_other_command(self, update: Update, context: Context) -> None:
        """Commands outside the menu: the core answers those meant for this bot; others are ignored."""
        await self._answer(update, context)

    async def on_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is not None and await self.question_log.take_missing(self.dialogue, message, context):
            await self._persist(update, context)  # a reply to "what were you looking for?"
            return
        await self._answer(update, context)

    async def _answer(self, update: Update, context: Context) -> None:
        started = time.perf_counter()
        message = update.effective_message
        if message is None:
            return
        decided = self.interpret(message, context.user_data)
        if decided is None:
            return
        outcome, key = decided
        chat_key = str(message.chat.id)
        keep_recent(
            context.user_data, chat_key, load_recent(context.user_data, chat_key), outcome, self.clock()
        )
        self._keep(update, context, chat_key, outcome.state)
        await self._persist(update, context)  # a check started or moved is saved before it is seen
        chat_data = context.chat_data if context.chat_data is not None else {}
        group = chat_kind(message.chat) == "group"
        now = self.clock()
        recent: dict[str, Any] = chat_data.setdefault(RECENT, {}) if group else {}
        # the asker's own latest answer in each group, kept in their data: the chat's names nobody
        mine: dict[str, Any] = (
            context.user_data.setdefault(OWN_ANSWERS, {}) if group and context.user_data is not None else {}
        )
        earlier = recent.get(key) if key else None
        if earlier is not None and now - earlier[1] < RECENT_SECONDS:
            # /check, then /check@Bot from the menu a second later: one answer is enough, and no pointer
            own = mine.get(chat_key) == [key, earlier[0]]
            if not (own and now - earlier[1] < OWN_REPEAT_SECONDS):
                await self._point_to(message, int(earlier[0]))
        else:
            quote = message.message_id if group else None  # in a group, say whom the answer is for
            sent = await self._send_all(context, message.chat.id, outcome.replies, quote=quote)
            if sent is not None:
                remember(chat_data.setdefault(ANSWERS, {}), str(message.message_id), sent, REMEMBERED_ANSWERS)
                if group and key:
                    remember(recent, key, [sent, now], REMEMBERED_ANSWERS)
                    remember(mine, chat_key, [key, sent], REMEMBERED_GROUPS)
        self.question_log.answered(message, question_text(message), outcome, context.user_data)
        await self._persist(update, context)
        handled("message", chat_kind(message.chat), band_of(outcome), started)

    async def _point_to(self, message: Message, earlier_id: int) -> None:
        link = message_link(message.chat, earlier_id)
        text = (
            f'<a href="{esc(link)}">{esc(ANSWERED_RECENTLY)}</a>.' if link else f"{esc(ANSWERED_RECENTLY)} ↑"
        )
        await message.get_bot().send_message(
            message.chat.id,
            text,
            reply_parameters=ReplyParameters(earlier_id, allow_sending_without_reply=True),
        )

    async def _send_all(
        self, context: Context, chat_id: int, replies: tuple[Reply, ...], quote: int | None
    ) -> int | None:
        """Send the replies in order, quoting `quote` with the first; the first message's id."""
        first: int | None = None
        for reply in replies:
            parameters = None
            if quote is not None and first is None:
                parameters = ReplyParameters(quote, allow_sending_without_reply=True)
            sent = await context.bot.send_message(
                chat_id,
                reply.text,
                reply_markup=render_keyboard(reply.buttons, context.bot.username),
                reply_parameters=parameters,
            )
            first = sent.message_id if first is None else first
        return first

    async def on_edit(self, update: Update, context: Context) -> None:
        """The asker corrected their question: correct the answer in place."""
        started = time.perf_counter()
        message = update.edited_message
        if message is None:
            return
        answers: dict[str, Any] = (context.chat_data or {}).get(ANSWERS, {})
        reply_id = answers.get(str(message.message_id))
        if reply_id is None:
            return  # not a message the bot answered
        decided = self.interpret(message, context.user_data)
        if decided is None or not decided[0].replies:
            return
        outcome = decided[0]
        self._keep(update, context, str(message.chat.id), outcome.state)
        first = outcome.replies[0]
        with contextlib.suppress(_NotModified):
            await _edit(
                context.bot.edit_message_text(
                    first.text,
                    chat_id=message.chat.id,
                    message_id=int(reply_id),
                    reply_markup=render_keyboard(first.buttons, context.bot.username),
                )
            )
        await self._persist(update, context)
        handled("edit", chat_kind(message.chat), band_of(outcome), started)

    async def on_non_text(self, update: Update, context: Context) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(ONLY_TEXT)

    async def on_migrate(self, update: Update, context: Context) -> None:
        """A group became a supergroup: its chat data moves with it."""
        if update.effective_message is not None:
            context.application.migrate_chat_data(message=update.effective_message)
            await context.application.update_persistence()

    # ------------------------------------------------------------------------------------- buttons
    async def on_button(self, update: Update, context: Context) -> None:
        """A button acts for whoever pressed it; the press is always answered, stale or not."""
        started = time.perf_counter()
        query = update.callback_query
        if query is None:
            return
        message = query.message
        chat_key = str(message.chat.id) if message is not None else INLINE_CHAT
        kind: ChatKind = chat_kind(message.chat) if message is not None else "group"
        outcome = self.dialogue.on_button(
            query.data or "", load_state(context.user_data, chat_key), kind, self.clock(), run_id_of(query.id)
        )
        await query.answer(outcome.notice)
        keep_recent(
            context.user_data, chat_key, load_recent(context.user_data, chat_key), outcome, self.clock()
        )
        self._keep(update, context, chat_key, outcome.state)
        vote = self.question_log.pressed(query.from_user.id, chat_key, outcome, context.user_data)
        if any(isinstance(event, Forgotten) for event in outcome.events):  # deleted before the reply says so
            await forget(context, query.from_user.id, message.chat.id if message else None, self.question_log)
        # saved before the person sees the new step, so that a crash cannot undo a step they saw
        await self._persist(update, context)
        for i, reply in enumerate(outcome.replies):
            if FEEDBACK_ASK in reply.tags:
                await self.question_log.ask_what_was_missing(context, query, reply, vote)
                continue
            markup = render_keyboard(reply.buttons, context.bot.username)
            if query.inline_message_id is not None:
                if i == 0:  # a message sent through inline mode: the bot can only edit it
                    with contextlib.suppress(_NotModified):
                        await _edit(query.edit_message_text(reply.text, reply_markup=markup))
            elif message is not None and reply.edit and isinstance(message, Message):
                with contextlib.suppress(_NotModified):
                    await _edit(query.edit_message_text(reply.text, reply_markup=markup))
            elif message is not None:
                await context.bot.send_message(message.chat.id, reply.text, reply_markup=markup)
        await self._persist(update, context)
        handled("button", kind if message is not None else "inline", band_of(outcome), started)

    def _keep(self, update: Update, context: Context, chat_key: str, state: CheckState | None) -> None:
        """Store the person's check in this chat, and move its 30-minute timer when the check moved."""
        before = load_state(context.user_data, chat_key)
        store_state(context.user_data, chat_key, state)
        if state != before:
            self.moved.add(update.update_id)
        user, chat = update.effective_user, update.effective_chat
        if state != before and user is not None and chat is not None and str(chat.id) == chat_key:
            self.timers.schedule(context.job_queue, user.id, chat.id, state)

    # --------------------------------------------------------------------------------------- inline
    async def on_inline(self, update: Update, context: Context) -> None:
        """`@BotName hamstrings` in any chat: the best entries, each as an article to send."""
        started = time.perf_counter()
        query = update.inline_query
        if query is None:
            return
        results = []
        if self.dialogue.is_urgent(query.query):  # a warning sign: the urgent message is the first result
            urgent = self.dialogue.on_text(query.query, None, "group").replies[0]
            title, _, rest = to_plain(urgent.text).partition("\n\n")
            results.append(
                InlineQueryResultArticle(
                    id="red-flag",
                    title=title,
                    description=rest.split("\n\n")[0][:INLINE_DESCRIPTION_CHARS],
                    input_message_content=InputTextMessageContent(urgent.text),
                    reply_markup=render_keyboard(urgent.buttons, context.bot.username),
                )
            )
        for entry in self.dialogue.inline_results(query.query):
            reply = self.dialogue.entry_reply(entry, "group")
            summary = plain_body(entry.answer)
            if len(summary) > INLINE_DESCRIPTION_CHARS:
                summary = summary[: INLINE_DESCRIPTION_CHARS - 1] + "…"
            results.append(
                InlineQueryResultArticle(
                    id=entry.id,
                    title=entry.title,
                    description=summary,
                    input_message_content=InputTextMessageContent(reply.text),
                    reply_markup=render_keyboard(reply.buttons, context.bot.username),
                )
            )
        await query.answer(results, cache_time=300)
        handled("inline query", "inline", f"{len(results)} results", started)

    # --------------------------------------------------------------------------------------- errors
    async def on_error(self, update: object, context: Context) -> None:
        """Log and carry on: one broken update must not stop the bot."""
        kind, chat_id = "no update", None
        if isinstance(update, Update):
            kind = next((t for t in Update.ALL_TYPES if getattr(update, t, None) is not None), "update")
            chat_id = update.effective_chat.id if update.effective_chat else None
        error = context.error
        if error is not None and is_network_fault(error):  # reported, once, by bot.telegram.network
            log.debug("Network fault while handling %s in chat %s: %s", kind, chat_id, describe(error))
            return
        log.error("Error while handling %s in chat %s", kind, chat_id, exc_info=context.error)

    # ---------------------------------------------------------------------------------- persistence
    async def _persist(self, update: Update, context: Context) -> None:
        """Write this update's user and chat data now when it moved a check, so that a step the person saw
        survives a crash (`kill -9` included). Everything else (which message answered which question,
        group pointers) PTB writes every `update_interval` seconds and at shutdown: a crash costs at most
        those seconds of edit tracking, never a check, and most updates cost no write of their own."""
        app = context.application
        if app.persistence is None or update.update_id not in self.moved:
            return
        self.moved.discard(update.update_id)
        app.mark_data_for_update_persistence(
            chat_ids=update.effective_chat.id if update.effective_chat else None,
            user_ids=update.effective_user.id if update.effective_user else None,
        )
        await app.update_persistence()


class _NotModified(Exception):
    """Telegram refused an edit because the message already says exactly that."""


async def _edit(call: Awaitable[T]) -> T:
    try:
        return await call
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            raise _NotModified from None
        raise
