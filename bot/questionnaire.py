"""The guided check: questions, options and their weights per cause -> a ranked result.

(Stub: the API that bot.dialogue relies on. The full questionnaire replaces it.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge import Entry, KnowledgeBase, Report
from bot.replies import Reply

EXPIRY_SECONDS = 30 * 60


@dataclass(frozen=True)
class Questionnaire:
    questions: tuple[Any, ...]


@dataclass(frozen=True)
class CheckState:
    """One person's check in one chat: plain data, stored through the bot's persistence."""

    run: str
    step: int = 0
    answers: tuple[str, ...] = ()
    focus: str | None = None
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "step": self.step,
            "answers": list(self.answers),
            "focus": self.focus,
            "updated": self.updated,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> CheckState | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("run"), str):
            return None
        return cls(
            run=raw["run"],
            step=int(raw.get("step", 0)),
            answers=tuple(str(a) for a in raw.get("answers", ())),
            focus=raw.get("focus"),
            updated=float(raw.get("updated", 0.0)),
        )


@dataclass(frozen=True)
class Step:
    replies: tuple[Reply, ...]
    state: CheckState | None
    notice: str | None = None
    urgent: bool = False
    events: tuple[str, ...] = field(default_factory=tuple)


def parse_questionnaire(
    raw: Any, known_ids: Collection[str], entries: Sequence[Entry], report: Report
) -> Questionnaire | None:
    return None


def expired(state: CheckState, now: float) -> bool:
    return now - state.updated > EXPIRY_SECONDS


def offer_text(kb: KnowledgeBase, entry: Entry) -> str:
    return "Take the quick check"


def start(kb: KnowledgeBase, focus: str | None, now: float, run_id: str) -> tuple[CheckState, Reply]:
    return CheckState(run_id, focus=focus, updated=now), Reply("The check is not available yet.")


def step(kb: KnowledgeBase, state: CheckState | None, data: str, now: float) -> Step:
    return Step((), None, notice="This check has ended.")


def resume_reply(kb: KnowledgeBase, state: CheckState) -> Reply:
    return Reply("Your check is still open.")


def cancelled_reply(kb: KnowledgeBase) -> Reply:
    return Reply("Check cancelled. Ask me anything, or start again with /check.")
