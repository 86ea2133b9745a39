"""`legpress-bot run` and `legpress-bot chat`: settings, knowledge base, then the Telegram or terminal door.

Problems a person running the bot can fix (no token, a malformed or refused token, a bad setting, a DATA_DIR
that cannot be written) end the program with one line on stderr and exit status 2, never with a traceback.
A damaged database is moved aside, not wiped (see bot.database).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli import _load_or_exit, faq_path
from bot.config import ConfigError, Settings, load_settings
from bot.database import DB_NAME, StorageError, check_data_dir, open_database
from bot.dialogue import Dialogue
from bot.matching import Matcher

PROG = "legpress-bot"


def fail(message: str, status: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def faq_source(settings: Settings, args: argparse.Namespace) -> Path:
    """The faq.yaml the bot serves: --faq, FAQ_PATH, ./faq.yaml or the packaged one. /reload re-reads it."""
    explicit = getattr(args, "faq", None) or (str(settings.faq_path) if settings.faq_path else None)
    return faq_path(explicit)


def build_dialogue(settings: Settings, args: argparse.Namespace) -> Dialogue:
    kb = _load_or_exit(faq_source(settings, args))
    return Dialogue(kb, Matcher(kb))


def chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.terminal import TerminalChat

    return TerminalChat(build_dialogue(settings, args)).run(sys.stdin)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.token and sys.stdin.isatty():
        print(
            f"{PROG}: no TELEGRAM_BOT_TOKEN set, so this is the terminal chat; "
            "set it in the environment or .env to run on Telegram",
            file=sys.stderr,
        )
        return chat(settings, args)
    try:
        settings.check_token()
    except ConfigError as exc:
        return fail(str(exc))

    from bot.telegram.app import StartupError
    from bot.telegram.app import run as run_telegram
    from bot.telegram.logs import setup_logging

    setup_logging(settings.log_level, settings.secrets)
    dialogue = build_dialogue(settings, args)
    try:
        prepare_storage(settings)
        run_telegram(settings, dialogue, faq_source(settings, args))
    except StorageError as exc:
        return fail(str(exc))
    except StartupError as exc:
        return fail(str(exc), exc.status)
    return 0


def prepare_storage(settings: Settings) -> None:
    """DATA_DIR writable and its database healthy (a damaged one moved aside), before any network wait."""
    check_data_dir(settings.data_dir)
    open_database(settings.data_dir / DB_NAME).close()


def main(command: str, args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc))
    if command == "chat":
        return chat(settings, args)
    if command == "run":
        return run(settings, args)
    return fail(f"unknown command {command!r}")
