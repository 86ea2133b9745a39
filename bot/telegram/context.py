"""The types PTB's handlers see in this bot: plain dicts for user, chat and bot data."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

Data = dict[str, Any]  # JSON-compatible, with string keys: see bot.telegram.persistence
Context = CallbackContext[ExtBot[None], Data, Data, Data]
BotApp = Application[ExtBot[None], Context, Data, Data, Data, Any]
