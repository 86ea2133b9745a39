"""Is this message for the bot? Commands, mentions and replies to the bot, as Telegram marks them.

In a group the bot reads only what is addressed to it: a command (`/causes` or `/causes@ThisBot`), a message
that mentions @ThisBot, or a reply to one of its messages. Entity offsets are in UTF-16 code units, and a
lone surrogate (JSON can carry one) must never make reading them raise.
"""

from __future__ import annotations

import re

from telegram import Chat, Message, MessageEntity
from telegram.constants import ChatType
from telegram.ext import filters

from bot.core.dialogue import ChatKind


def chat_kind(chat: Chat) -> ChatKind:
    return "private" if chat.type == ChatType.PRIVATE else "group"


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


def message_link(chat: Chat, message_id: int) -> str | None:
    """A t.me link to a message, where Telegram has one (supergroups, not basic groups)."""
    if chat.username:
        return f"https://t.me/{chat.username}/{message_id}"
    if chat.type == ChatType.SUPERGROUP:
        return f"https://t.me/c/{str(chat.id).removeprefix('-100')}/{message_id}"
    return None
