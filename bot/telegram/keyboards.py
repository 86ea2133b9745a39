"""The core's buttons -> Telegram inline keyboards (rendering only: which buttons exist is the core's call),
and the other objects that go out with every message, serialised once."""

from __future__ import annotations

import functools
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.helpers import create_deep_linked_url

from bot.replies import Button, Keyboard


class _SerialisedOnce:
    """A Telegram object that is turned into its wire form once, not at every send.

    PTB turns each object into a dict for every request, walking every attribute of every button; the same
    few keyboards (and the same link-preview setting) go out with nearly every answer, so that walk cost
    more than matching the question. Telegram objects are immutable, so the wire form cannot go stale."""

    __slots__ = ()
    _wire: dict[str, Any]

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return self._wire


class PreparedKeyboard(_SerialisedOnce, InlineKeyboardMarkup):
    __slots__ = ("_wire",)

    def __init__(self, inline_keyboard: list[list[InlineKeyboardButton]]) -> None:
        super().__init__(inline_keyboard)
        with self._unfrozen():
            self._wire = InlineKeyboardMarkup.to_dict(self)


class PreparedLinkPreview(_SerialisedOnce, LinkPreviewOptions):
    __slots__ = ("_wire",)

    def __init__(self, is_disabled: bool) -> None:
        super().__init__(is_disabled=is_disabled)
        with self._unfrozen():
            self._wire = LinkPreviewOptions.to_dict(self)


NO_LINK_PREVIEWS = PreparedLinkPreview(is_disabled=True)  # sent with every message (PTB's Defaults)


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
def render_keyboard(buttons: Keyboard, bot_username: str) -> PreparedKeyboard | None:
    """None for a reply without buttons, so Telegram gets no empty keyboard.

    Cached: the core returns the same few keyboards again and again (an entry's related buttons, the menus),
    and Telegram objects are immutable, so one rendering can be sent any number of times."""
    if not any(buttons):
        return None
    return PreparedKeyboard(
        [[render_button(b, bot_username) for b in row] for row in buttons if row],
    )
