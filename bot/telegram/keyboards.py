"""The core's buttons -> Telegram inline keyboards: rendering only, which buttons exist is the core's call."""

from __future__ import annotations

import functools

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.helpers import create_deep_linked_url

from bot.replies import Button, Keyboard

NO_LINK_PREVIEWS = LinkPreviewOptions(is_disabled=True)  # sent with every message (PTB's Defaults)


def deep_link(bot_username: str, payload: str) -> str:
    """t.me/<bot>?start=<payload>: opens a private chat with the bot and sends /start <payload>."""
    return create_deep_linked_url(bot_username, payload)


def render_button(button: Button, bot_username: str) -> InlineKeyboardButton:
    if button.data is not None:
        return InlineKeyboardButton(button.label, callback_data=button.data)
    if button.start_payload is not None:
        return InlineKeyboardButton(button.label, url=deep_link(bot_username, button.start_payload))
    return InlineKeyboardButton(button.label, url=button.url)


@functools.lru_cache(maxsize=1024)
def render_keyboard(buttons: Keyboard, bot_username: str) -> InlineKeyboardMarkup | None:
    """None for a reply without buttons, so Telegram gets no empty keyboard.

    Cached: the core returns the same few keyboards again and again (an entry's related buttons, the menus),
    and Telegram objects are immutable, so one rendering can be sent any number of times."""
    if not any(buttons):
        return None
    return InlineKeyboardMarkup([[render_button(b, bot_username) for b in row] for row in buttons if row])
