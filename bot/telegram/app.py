"""The Telegram application: settings, the door, the admin commands and persistence, put together; then
run it, by long polling or as a webhook. Composition only: what the bot says is decided in bot.core, how it
talks to Telegram in bot.telegram.door.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackContext,
    ContextTypes,
    Defaults,
)

from bot import __version__
from bot.config import Settings, faq_path
from bot.content.model import Meta
from bot.core.dialogue import Dialogue
from bot.core.wording import COMMAND_MENU
from bot.storage.backends import claims_for, intake_for, replica_name, shared
from bot.storage.database import DB_NAME
from bot.storage.state import SqliteStorage, Storage
from bot.telegram.admin import Admin
from bot.telegram.context import BotApp, Context
from bot.telegram.door import TelegramDoor
from bot.telegram.inbox import AnyApp, Inbox, first_across_replicas
from bot.telegram.keyboards import NO_LINK_PREVIEWS
from bot.telegram.logs import protect
from bot.telegram.network import (
    BotApiRequest,
    NetworkPolicy,
    quiet_network_tracebacks,
    transport,
    wait_for_bot_api,
)
from bot.telegram.ordering import PerChatUpdateProcessor
from bot.telegram.persistence import StoragePersistence
from bot.telegram.polling import Poller
from bot.telegram.privacy import drop_old_links, hold_content_logs
from bot.telegram.privacy import register as register_privacy
from bot.telegram.recording import Recorder, open_question_log
from bot.telegram.webhook import Route, close, listen

log = logging.getLogger("bot.telegram")

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]


def build_application(
    settings: Settings,
    dialogue: Dialogue,
    *,
    persistence: StoragePersistence | None = None,
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
    hold_content_logs(settings.log_content)  # no message texts, names or secrets at DEBUG
    requests = transport(network)
    quiet_network_tracebacks()
    if persistence is None:  # DATA_DIR/bot.sqlite3, the folder checked first (see bot.storage.database)
        storage = open_storage(settings)
        persistence = StoragePersistence(storage, shared=shared(storage))
    processor = PerChatUpdateProcessor()
    builder = (
        ApplicationBuilder()
        .updater(
            None
        )  # updates come through the Inbox, stored before they are confirmed (bot.telegram.polling)
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(defaults)
        .rate_limiter(rate_limiter or AIORateLimiter())
        .request(requests.request)  # retries and incident logging: bot.telegram.network
        .get_updates_request(requests.updates)
        .persistence(persistence)
        .context_types(ContextTypes(context=CallbackContext, bot_data=dict, chat_data=dict, user_data=dict))
        .concurrent_updates(processor)
    )

    question_log = open_question_log(settings)  # closed when the application shuts down
    door = TelegramDoor(dialogue, clock, Recorder(question_log))
    admin = Admin(door, settings.admin_ids, faq or settings.faq_path or faq_path(), question_log)

    async def post_init(app: BotApp) -> None:
        await announce(app, dialogue, mode)
        drop_old_links(app)
        door.timers.restore(app)
        await admin.start(app)
        inbox_of(app).start_keeping()  # and, first of all, the updates the last run left

    async def post_shutdown(app: BotApp) -> None:
        if question_log is not None:
            question_log.close()

    app: BotApp = builder.post_init(post_init).post_shutdown(post_shutdown).build()  # type: ignore[arg-type,assignment]
    admin.register(app)  # first: an admin's /stats must not reach the door's "unknown command"
    door.register(app)
    register_privacy(app, settings.retention_days)
    storage = persistence.storage
    claims = claims_for(storage, replica_name(), settings.intake_lease_seconds, settings.poller_lease_seconds)
    processor.inbox = Inbox(app, intake_for(storage), persistence, claims)
    if app.job_queue is not None:
        app.job_queue.run_repeating(purge_intake, INTAKE_PURGE_SECONDS, first=INTAKE_PURGE_SECONDS)
        if persistence.shared:  # timers of checks that another replica started, or that it left behind

            async def adopt_timers(context: Context) -> None:
                if context.job_queue is not None:
                    door.timers.adopt(context.job_queue)

            app.job_queue.run_repeating(adopt_timers, ADOPT_SECONDS, first=ADOPT_SECONDS, name=ADOPT_JOB)
    return app


INTAKE_PURGE_SECONDS = 3600.0
ADOPT_SECONDS = 60.0  # how often a replica adopts the check timers it has no job for
ADOPT_JOB = "adopt-check-timers"


def open_storage(settings: Settings) -> Storage:
    """The state's storage: PostgreSQL when DATABASE_URL is set, else DATA_DIR/bot.sqlite3."""
    if settings.database_url:
        from bot.storage.postgres import PostgresStorage  # the `postgres` extra, only when asked for

        return PostgresStorage(settings.database_url)
    return SqliteStorage(settings.data_dir / DB_NAME)


def inbox_of(app: AnyApp) -> Inbox:
    """The application's inbox: where polling and the webhook put what Telegram sends."""
    processor = app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor) and processor.inbox is not None
    return processor.inbox


async def purge_intake(context: Context) -> None:
    """Hourly, by one replica: forget the ids of updates handled more than a day ago."""
    if first_across_replicas(context.application, f"intake-purge:{int(time.time() // INTAKE_PURGE_SECONDS)}"):
        inbox_of(context.application).intake.purge()


async def announce(app: BotApp, dialogue: Dialogue, mode: str) -> None:
    """At start-up: the command menu for private chats and groups, the profile's descriptions from faq.yaml's
    `meta`, and one line in the log."""
    menu = [BotCommand(name, description) for name, description in COMMAND_MENU]
    await app.bot.set_my_commands(menu, scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(menu, scope=BotCommandScopeAllGroupChats())
    await describe_bot(app.bot, dialogue.kb.meta)
    log.info(
        "Started @%s in %s mode with %d entries (legpress-bot %s)",
        app.bot.username,
        mode,
        len(dialogue.kb.entries),
        __version__,
    )


async def describe_bot(bot: Bot, meta: Meta) -> None:
    """The profile's description and short description, each set only when it differs (Telegram limits how
    often they may change). A refusal is one warning: the bot serves without them."""
    try:
        if meta.description and (await bot.get_my_description()).description != meta.description:
            await bot.set_my_description(meta.description)
        current = (await bot.get_my_short_description()).short_description
        if meta.short_description and current != meta.short_description:
            await bot.set_my_short_description(meta.short_description)
    except TelegramError as exc:
        log.warning("The bot's description was not set: %s", exc.message)


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
    Raises StartupError when Telegram refuses the token, or the webhook cannot listen."""
    mode = "webhook" if settings.webhook else "polling"
    app = build_application(settings, dialogue, mode=mode, faq=faq)
    asyncio.run(serve(app, settings))


async def serve(app: BotApp, settings: Settings) -> None:
    """PTB's run_polling / run_webhook, with updates stored before they are confirmed (see ordering.py)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    inbox = inbox_of(app)
    server = None
    secret = ""
    if settings.webhook:
        secret = webhook_secret(settings)
        protect(secret)  # a generated secret is as secret as a configured one
        route = Route(inbox, secret)
        path = urlsplit(settings.webhook_url).path
        try:  # bound before Telegram is told to send here
            server = listen(route, path, settings.webhook_listen, settings.webhook_port)
        except OSError as exc:
            raise StartupError(
                f"cannot listen for the webhook on {settings.webhook_listen}:{settings.webhook_port} "
                f"({exc.strerror or exc}); set WEBHOOK_LISTEN and WEBHOOK_PORT to a free local address",
                2,
            ) from None
    poller = Poller(app, inbox, ALLOWED_UPDATES)
    try:
        await preflight(settings)
    except BaseException:
        if server is not None:
            await close(server)
        if app.post_shutdown is not None:
            await app.post_shutdown(app)  # closes the question log
        raise
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if server is not None:
            try:
                await app.bot.set_webhook(
                    settings.webhook_url,
                    secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                )
            except TelegramError as exc:  # the address itself is refused: nothing to retry
                raise StartupError(
                    f"Telegram refused WEBHOOK_URL: {exc.message}; it must be a public https:// address "
                    "Telegram can reach (ports 443, 80, 88 or 8443)",
                    2,
                ) from None
        else:
            await poller.start()
        await stopping.wait()
    finally:
        await poller.stop()
        if server is not None:
            await close(server)
        if app.running:
            await app.stop()
        await inbox.stop_keeping()  # the others may take this replica's chats at once
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
