"""Where each person's conversation context lives on Telegram: `user_data`, one small record per chat.

The core decides what a follow-up refers to (`bot.core.context`); this module only keeps the record,
JSON-compatible and bounded, beside the person's check. It needs no timer: a context older than 30 minutes
is simply not used, and is replaced by the next one.
"""

from __future__ import annotations

from typing import Any

from bot.core.context import Recent, carried
from bot.core.dialogue import Outcome
from bot.telegram.context import Data, remember

CONTEXTS = "contexts"  # user_data: {chat id: Recent.to_dict()}
CHATS_KEPT = 16  # per person: the chats whose context is remembered


def load_recent(user_data: Data | None, chat_key: str) -> Recent | None:
    if user_data is None:
        return None
    kept = user_data.get(CONTEXTS)
    return Recent.from_dict(kept.get(chat_key)) if isinstance(kept, dict) else None


def keep_recent(
    user_data: Data | None, chat_key: str, before: Recent | None, outcome: Outcome, now: float
) -> None:
    """Store the context after `outcome` (what it showed, or the core's own decision to forget)."""
    if user_data is None:
        return
    after = carried(before, outcome.recent, outcome.replies, now)
    if after == before:
        return
    kept: Any = user_data.get(CONTEXTS)
    if not isinstance(kept, dict):
        kept = user_data[CONTEXTS] = {}
    if after is None:
        kept.pop(chat_key, None)
    else:
        remember(kept, chat_key, after.to_dict(), CHATS_KEPT)
