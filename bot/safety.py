"""Red flags: warning signs in free text that need a doctor, not a FAQ answer.

(Stub: the API that bot.dialogue relies on. The full detector replaces it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.knowledge import KnowledgeBase, Report
from bot.replies import Reply


@dataclass(frozen=True)
class RedFlag:
    id: str
    label: str


@dataclass(frozen=True)
class RedFlags:
    flags: tuple[RedFlag, ...]


def parse_red_flags(raw: Any, report: Report) -> RedFlags | None:
    return None


def detect_red_flag(kb: KnowledgeBase, text: str) -> RedFlag | None:
    return None


def urgent_reply(kb: KnowledgeBase, flag: RedFlag) -> Reply:
    return Reply(f"⚠️ {flag.label}: please seek medical care urgently.", urgent=True)
