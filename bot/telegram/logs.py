"""Logging for the bot: one stderr handler, quiet HTTP libraries, and no secret in any record.

httpx and httpcore log every request URL, and Telegram puts the token in the URL path, so they are held at
WARNING even when the bot runs at DEBUG. As a second line of defence every record is redacted when it is
created: its message, arguments and traceback text, whichever handler (or test) ends up reading it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

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


def setup_logging(level: str, secrets: tuple[str, ...] = ()) -> None:
    """Configure the root logger once for the whole process."""
    protect(*secrets)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_legpress", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._legpress = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
