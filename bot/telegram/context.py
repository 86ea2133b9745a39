"""The types PTB's handlers see in this bot: plain dicts for user, chat and bot data."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

Data = dict[str, Any]  # JSON-compatible, with string keys: see bot.telegram.persistence
Context = CallbackContext[ExtBot[None], Data, Data, Data]
BotApp = Application[ExtBot[None], Context, Data, Data, Data, Any]


def remember(mapping: dict[str, Any], key: str, value: Any, limit: int) -> None:
    """Insert into a small map kept in user or chat data, dropping the oldest entries beyond `limit`."""
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > limit:
        mapping.pop(next(iter(mapping)))
