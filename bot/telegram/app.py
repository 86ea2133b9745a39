"""The Telegram door: updates in, core calls, rendered replies out.

Every decision about what to say is the core's (`bot.dialogue.Dialogue`); this module only knows Telegram:
who is addressed in a group, which message to quote or edit, how buttons become keyboards, where each
person's state lives (`context.user_data`, persisted), and what the platform needs (callback answers,
command menus, webhooks, migrations).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Chat,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BasePersistence,
    BaseRateLimiter,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.cli import faq_path as default_faq_path
from bot.config import Settings
from bot.dialogue import COMMAND_MENU, FEEDBACK_ASK, ChatKind, Dialogue, Outcome
from bot.questionnaire import CheckState
from bot.replies import Reply, esc, format_body, to_plain
from bot.telegram.admin import Admin, QuestionLog, open_analytics
from bot.telegram.checks import CHECKS as CHECKS
from bot.telegram.checks import CheckTimers, load_state, store_state
from bot.telegram.keyboards import NO_LINK_PREVIEWS, render_keyboard
from bot.telegram.logs import protect
from bot.telegram.network import (
    BotApiRequest,
    NetworkPolicy,
    describe,
    is_network_fault,
    quiet_network_tracebacks,
    transport,
    wait_for_bot_api,
)
from bot.telegram.ordering import PerChatUpdateProcessor, skip_repeated
from bot.telegram.persistence import Data, sqlite_persistence

log = logging.getLogger("bot.telegram")

Context = CallbackContext[ExtBot[None], Data, Data, Data]
BotApp = Application[ExtBot[None], Context, Data, Data, Data, Any]

COMMANDS = ("start", *(name for name, _ in COMMAND_MENU))
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
RECENT_SECONDS = 5 * 60  # in a group, the same answer within this time gets a pointer, not a repost
REMEMBERED_ANSWERS = 64  # per chat: which bot message answered which question, for edits
INLINE_DESCRIPTION_CHARS = 120

# chat_data / user_data keys (values must be JSON-compatible: see bot.telegram.persistence)
ANSWERS = "answers"  # chat_data: {asker message id: bot message id}
RECENT = "recent"  # chat_data: {answer key: [bot message id, unix time]}
INLINE_CHAT = "inline"  # the state key for buttons on inline-mode messages, which have no chat

# Telegram-only situations the terminal never meets
ONLY_TEXT = "I can only read text messages. Ask me in words, or try /help."
ANSWERED_RECENTLY = "I answered this a few minutes ago: see my earlier message"


def chat_kind(chat: Chat) -> ChatKind:
    return "private" if chat.type == ChatType.PRIVATE else "group"


def new_run_id() -> str:
    """Identifies one questionnaire run, so that buttons of an older run are recognised as stale."""
    return uuid.uuid4().hex[:6]


def command_of(message: Message) -> tuple[str, str | None, str] | None:
    """(/name, @target or None, argument) when the message starts with a bot command."""
    text = message.text or ""
    entities = message.entities
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    head = entity_text(text, entities[0])[1:]
    name, _, target = head.partition("@")
    return name.lower(), target or None, text[len(head) + 1 :].strip()


def entity_text(text: str, entity: MessageEntity) -> str:
    """Like `Message.parse_entity`, but a lone surrogate (JSON can carry one, UTF-16 cannot) never raises."""
    units = text.encode("utf-16-le", "surrogatepass")
    return units[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le", "surrogatepass")


def mentions(message: Message, username: str) -> bool:
    wanted = f"@{username}".lower()
    text = message.text or ""
    return any(
        entity_text(text, e).lower() == wanted for e in message.entities if e.type == MessageEntity.MENTION
    )


def strip_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


class _AddressedToBot(filters.MessageFilter):
    """A group message meant for the bot: it mentions @BotName or replies to one of the bot's messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        return mentions(message, bot.username)


ADDRESSED = _AddressedToBot(name="AddressedToBot")
FOR_BOT = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & ADDRESSED)


def question_text(message: Message) -> str | None:
    """The question a message addressed to the bot asks, as the core read it; None for a command."""
    if command_of(message) is not None:
        return None
    text = message.text or ""
    return strip_mention(text, message.get_bot().username) if chat_kind(message.chat) == "group" else text


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
        return "c:" + hashlib.sha1(command.encode()).hexdigest()[:12]
    return None


def message_link(chat: Chat, message_id: int) -> str | None:
    """A t.me link to a message, where Telegram has one (supergroups, not basic groups)."""
    if chat.username:
        return f"https://t.me/{chat.username}/{message_id}"
    if chat.type == ChatType.SUPERGROUP:
        return f"https://t.me/c/{str(chat.id).removeprefix('-100')}/{message_id}"
    return None


def remember(mapping: dict[str, Any], key: str, value: Any, limit: int = REMEMBERED_ANSWERS) -> None:
    """Insert into a small map kept in chat_data, dropping the oldest entries beyond `limit`."""
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > limit:
        mapping.pop(next(iter(mapping)))


@dataclass
class TelegramDoor:
    """The handlers. Holds the core; all per-person data lives in PTB's (persisted) user and chat data.

    `dialogue` is the one mutable part: a reload replaces it whole, in one assignment (see admin.py)."""

    dialogue: Dialogue
    clock: Callable[[], float] = time.time  # the time given to the core: when a check runs out
    question_log: QuestionLog = field(default_factory=QuestionLog)
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
            outcome = self.dialogue.on_command(name, arg, state, kind, now, new_run_id())
            return outcome, answer_key(outcome, f"/{name} {arg}")
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
        outcome = self.dialogue.on_text(text, state, kind, now)
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
        message = update.effective_message
        if message is None:
            return
        decided = self.interpret(message, context.user_data)
        if decided is None:
            return
        outcome, key = decided
        self._keep(update, context, str(message.chat.id), outcome.state)
        chat_data = context.chat_data if context.chat_data is not None else {}
        group = chat_kind(message.chat) == "group"
        now = self.clock()
        recent: dict[str, Any] = chat_data.setdefault(RECENT, {}) if group else {}
        earlier = recent.get(key) if key else None
        if earlier is not None and now - earlier[1] < RECENT_SECONDS:
            await self._point_to(message, int(earlier[0]))
        else:
            quote = message.message_id if group else None  # in a group, say whom the answer is for
            sent = await self._send_all(context, message.chat.id, outcome.replies, quote=quote)
            if sent is not None:
                remember(chat_data.setdefault(ANSWERS, {}), str(message.message_id), sent)
                if group and key:
                    remember(recent, key, [sent, now])
        self.question_log.answered(message, question_text(message), outcome, context.user_data)
        await self._persist(update, context)

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
        query = update.callback_query
        if query is None:
            return
        message = query.message
        chat_key = str(message.chat.id) if message is not None else INLINE_CHAT
        kind: ChatKind = chat_kind(message.chat) if message is not None else "group"
        outcome = self.dialogue.on_button(
            query.data or "", load_state(context.user_data, chat_key), kind, self.clock(), new_run_id()
        )
        await query.answer(outcome.notice)
        self._keep(update, context, chat_key, outcome.state)
        vote = self.question_log.pressed(query.from_user.id, chat_key, outcome, context.user_data)
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
            summary = " ".join(to_plain(format_body(entry.answer)).split())
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


async def _edit(call: Any) -> Any:
    try:
        return await call
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            raise _NotModified from None
        raise


# ------------------------------------------------------------------------------------------ building
def build_application(
    settings: Settings,
    dialogue: Dialogue,
    *,
    persistence: BasePersistence[Data, Data, Data] | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    mode: str = "polling",
    clock: Callable[[], float] = time.time,
    faq: Path | None = None,
    network: NetworkPolicy | None = None,
) -> BotApp:
    """The Application with its handlers, rate limiter and persistence; `announce` runs when it starts,
    and so does the restoring of the open checks' 30-minute timers."""
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_LINK_PREVIEWS)
    protect(*settings.secrets)  # every log record of this process, tracebacks included, without the token
    requests = transport(network)
    quiet_network_tracebacks()
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .rate_limiter(rate_limiter or AIORateLimiter())
        .request(requests.request)  # retries and incident logging: bot.telegram.network
        .get_updates_request(requests.updates)
        .persistence(persistence or sqlite_persistence(settings.data_dir))
        .context_types(ContextTypes(context=CallbackContext, bot_data=dict, chat_data=dict, user_data=dict))
        .concurrent_updates(PerChatUpdateProcessor())
    )

    analytics = open_analytics(settings)  # the question log; closed when the application shuts down
    door = TelegramDoor(dialogue, clock, QuestionLog(analytics))
    admin = Admin(door, settings.admin_ids, faq or settings.faq_path or default_faq_path(), analytics)

    collector: list[tuple[int, int, int]] = []  # the garbage collector's settings before the start

    async def post_init(app: BotApp) -> None:
        await announce(app, dialogue, mode)
        door.timers.restore(app)
        await admin.start(app)
        collector.append(settle_heap())

    async def post_shutdown(app: BotApp) -> None:
        if collector:
            unsettle_heap(collector.pop())
        if analytics is not None:
            analytics.close()

    app: BotApp = builder.post_init(post_init).post_shutdown(post_shutdown).build()  # type: ignore[arg-type,assignment]
    admin.register(app)  # first: an admin's /stats must not reach the door's "unknown command"
    door.register(app)
    app.add_handler(TypeHandler(Update, skip_repeated), group=-1)  # each update once, even after a crash
    return app


GC_THRESHOLDS = (20_000, 20, 20)  # Python's defaults are (700, 10, 10)


def settle_heap() -> tuple[int, int, int]:
    """Once started: what exists now (the knowledge base and its indexes, the libraries) lives as long as
    the bot, so the garbage collector stops walking it, and it runs less often: each update makes a few
    thousand short-lived objects, nearly all freed at once by reference counting. Under load the
    collector took about a tenth of the bot's time before (bench/bench_updates.py); a cycle of garbage
    now waits a little longer, a few MB at most. Returns the thresholds to restore."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return before


def unsettle_heap(thresholds: tuple[int, int, int]) -> None:
    """At shutdown, for a process that goes on (the tests): the collector as it was."""
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def announce(app: BotApp, dialogue: Dialogue, mode: str) -> None:
    """At start-up: the command menu for private chats and groups, and one line in the log."""
    menu = [BotCommand(name, description) for name, description in COMMAND_MENU]
    await app.bot.set_my_commands(menu, scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(menu, scope=BotCommandScopeAllGroupChats())
    log.info("Started @%s in %s mode with %d entries", app.bot.username, mode, len(dialogue.kb.entries))


class StartupError(Exception):
    """The bot cannot start; the message is one line for the person running it, and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or a fresh one: Telegram learns it from setWebhook at every start."""
    return settings.webhook_secret or secrets.token_urlsafe(32)


async def preflight(settings: Settings, network: NetworkPolicy | None = None) -> str:
    """Ask Telegram who the bot is before starting, so that a refused token is one clear line.

    An unreachable Bot API is waited for (with backoff, one log line per attempt): the network or the
    server may come up after the bot.
    """
    policy = network or NetworkPolicy()

    async def who_am_i() -> str:
        request = BotApiRequest(policy, None, retry=False, connection_pool_size=1)  # wait_for_bot_api retries
        async with Bot(
            settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url, request=request
        ) as bot:
            return bot.username

    try:
        return await wait_for_bot_api(policy, who_am_i, settings.base_url)
    except InvalidToken:
        raise StartupError(
            "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token from @BotFather "
            "into the environment or .env",
            2,
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"cannot reach the Telegram Bot API at {settings.base_url}: {exc.message}", 1
        ) from None


def run(settings: Settings, dialogue: Dialogue, faq: Path | None = None) -> None:
    """Run until stopped (SIGINT / SIGTERM); SIGHUP reloads `faq`, the file `dialogue` came from.
    Raises StartupError when Telegram refuses the token."""
    asyncio.run(preflight(settings))
    mode = "webhook" if settings.webhook else "polling"
    app = build_application(settings, dialogue, mode=mode, faq=faq)
    if settings.webhook:
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=webhook_secret(settings),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
