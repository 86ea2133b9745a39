"""Logging for the bot: one stderr handler, quiet HTTP libraries, and no secret in any record.

httpx and httpcore log every request URL, and Telegram puts the token in the URL path, so they are held at
WARNING even when the bot runs at DEBUG. As a second line of defence every record is redacted when it is
created: its message, arguments and traceback text, whichever handler (or test) ends up reading it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.dialogue import Outcome

NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "tornado.access")
REDACTED = "[REDACTED]"

_secrets: set[str] = set()
_base_factory = logging.getLogRecordFactory()
_installed = False


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler to report, as logging does
        return record
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def protect(*secrets: str) -> None:
    """Redact these values from every log record created from now on, in this process."""
    global _installed
    _secrets.update(s for s in secrets if s)
    if not _installed:
        logging.setLogRecordFactory(_redacting_factory)
        _installed = True


def utc_time(record: logging.LogRecord) -> str:
    """When it happened, in UTC with the zone said: 2026-05-01T12:00:00.123Z."""
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """`2026-05-01T12:00:00.123Z INFO bot.telegram: message`, for people reading a terminal or journal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (time, level, logger, message, and the traceback as `exc`), for log
    collectors; the standard library's json is all it takes."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def setup_logging(level: str, secrets: tuple[str, ...] = (), log_format: str = "text") -> None:
    """Configure the root logger once for the whole process: LOG_LEVEL, and LOG_FORMAT text or json."""
    protect(*secrets)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_legpress", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(FORMATTERS[log_format]())
        handler._legpress = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------ one line per update
updates_log = logging.getLogger("bot.telegram.updates")


def band_of(outcome: Outcome) -> str:
    """How sure the answer was (confident, unsure, none), urgent, or "-" for commands and buttons."""
    if outcome.urgent:
        return "urgent"
    return outcome.match.band if outcome.match is not None else "-"


def handled(kind: str, chat: str, band: str, started: float) -> None:
    """`message in private: confident, 12 ms`: that the bot is serving, and how fast. No text, no ids.

    `started` is a `time.perf_counter()` reading taken when the update arrived."""
    if updates_log.isEnabledFor(logging.INFO):
        elapsed = (time.perf_counter() - started) * 1000
        updates_log.info("%s in %s: %s, %.0f ms", kind, chat, band, elapsed)
