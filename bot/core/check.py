"""The guided check: a few one-tap questions -> the causes that fit, ranked, with their fixes.

Content lives in faq.yaml's `questionnaire` section (validated by `bot.content.questionnaire`); this
module runs it as pure functions of (knowledge base, state, button data, time) -> replies and a new state,
so every adapter (and every test) gets the same behaviour.

A run asks `per_run` questions, fixed when it starts: the warning-sign screens first (never skipped),
then the question closest to the entry the person came from, then the rest in file order. Any red-flag
answer stops the check at once with the urgent message.

Button data (at most 64 bytes; `<run>` identifies one check so buttons of an old one are recognised):
  q:<run>:<n>:<option>   answer question n (1-based) of this run
  q:<run>:back           back to the previous question
  q:<run>:cancel         stop the check
  q:<run>:resume         show the current question again (after free text mid-way)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.content.model import Entry, KnowledgeBase, Questionnaire, Ranked, RedFlag, rank
from bot.core.events import CheckCancelled, CheckExpired, CheckFinished, Event, RedFlagRaised
from bot.core.safety import urgent_reply
from bot.replies import Button, Keyboard, Reply, bold, esc, italic, rows

EXPIRY_SECONDS = 30 * 60
MAX_RUN_CHARS = 16
MAX_SHOWN_CAUSES = 3
STRONG_MARGIN = 2  # points above min_score that make a cause a "strong fit"
RUN_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

ENDED = "This check has ended."
NEW_CHECK = "Start a new check"


@dataclass(frozen=True)
class CheckState:
    """One person's check in one chat: plain data, stored through the bot's persistence."""

    run: str
    plan: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()  # option ids, one per question of `plan` answered so far
    focus: str | None = None
    updated: float = 0.0

    @property
    def step(self) -> int:
        """The index in `plan` of the question being asked."""
        return len(self.answers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "run": self.run,
            "plan": list(self.plan),
            "answers": list(self.answers),
            "focus": self.focus,
            "updated": self.updated,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> CheckState | None:
        """Stored data -> a state, or None for anything that is not one (old formats, garbage)."""
        try:
            if not isinstance(raw, dict) or type(raw.get("v")) is not int or raw["v"] != 1:
                return None
            run, plan, answers = raw["run"], raw["plan"], raw["answers"]
            focus, updated = raw.get("focus"), raw.get("updated", 0.0)
            if not isinstance(run, str) or not RUN_RE.match(run):
                return None
            if not isinstance(plan, list) or not plan or not all(isinstance(p, str) for p in plan):
                return None
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                return None
            if len(answers) >= len(plan) or (focus is not None and not isinstance(focus, str)):
                return None
            if isinstance(updated, bool) or not isinstance(updated, int | float):
                return None
            if not math.isfinite(float(updated)):
                return None
            return cls(run, tuple(plan), tuple(answers), focus, float(updated))
        except (KeyError, TypeError, OverflowError):
            return None


@dataclass(frozen=True)
class Step:
    """What one button press did to a check."""

    replies: tuple[Reply, ...]
    state: CheckState | None
    notice: str | None = None
    events: tuple[Event, ...] = ()


# ---------------------------------------------------------------------------------------------- running
def expired(state: CheckState, now: float) -> bool:
    return now - state.updated > EXPIRY_SECONDS


def touch(state: CheckState, now: float) -> CheckState:
    """The same check, with its 30-minute clock restarted by activity."""
    return CheckState(state.run, state.plan, state.answers, state.focus, now)


def offer_text(kb: KnowledgeBase, entry: Entry) -> str:
    """The check button's label after an answer: what the check is for, when the entry says."""
    q: Questionnaire | None = kb.questionnaire
    if q is None:
        return "Take the quick check"
    cause = q.cause_for_entry(entry.id)
    return cause.offer if cause is not None else q.offer


def new_run_id() -> str:
    """Identifies one check, so that buttons of an older one are recognised as stale."""
    return os.urandom(3).hex()


def run_id_for(run_id: str, now: float) -> str:
    """A usable run id: the adapter's, or one made from the clock when it gave none."""
    if RUN_RE.match(run_id):
        return run_id
    n, digits = abs(int(now * 1000)), "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n and len(out) < 8:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def start(kb: KnowledgeBase, focus: str | None, now: float, run_id: str) -> tuple[CheckState, Reply]:
    q = _q(kb)
    run = run_id_for(run_id, now)
    state = CheckState(run, q.plan(focus), (), focus if kb.get(focus or "") else None, now)
    return state, question_reply(kb, state, edit=False)


FIRST_QUESTION = "This is the first question: pick an answer, or ✖ Cancel to stop the check."


def step(kb: KnowledgeBase, state: CheckState | None, data: str, now: float) -> Step:
    """One tap on a check button. Stale, foreign or malformed data is answered politely, never raised."""
    parts = data.removeprefix("q:").split(":")
    if state is not None and expired(state, now):
        if parts and parts[0] == state.run:
            return Step((expired_reply(edit=True),), None, "This check expired.", events=(CheckExpired(),))
        state = None
    if state is None or len(parts) < 2 or parts[0] != state.run or not _plan_valid(kb, state):
        return _ended(state)
    action = parts[1]
    if action == "cancel" and len(parts) == 2:
        return Step((cancelled_reply(edit=True),), None, "Check cancelled.", events=(CheckCancelled(),))
    if action == "back" and len(parts) == 2:
        if not state.answers:
            return Step((question_reply(kb, state),), touch(state, now), FIRST_QUESTION)
        back = CheckState(state.run, state.plan, state.answers[:-1], state.focus, now)
        return Step((question_reply(kb, back),), back)
    if action == "resume" and len(parts) == 2:
        return Step((question_reply(kb, state, edit=False),), touch(state, now))
    if len(parts) == 3 and action.isascii() and action.isdecimal():  # not '²', which int() refuses
        return _answer(kb, state, int(action), parts[2], now)
    return _ended(state)


def _answer(kb: KnowledgeBase, state: CheckState, number: int, option_id: str, now: float) -> Step:
    q = _q(kb)
    if number != state.step + 1:
        if 1 <= number <= state.step:  # a second tap on a question already answered
            return Step((question_reply(kb, state),), state, "Already answered.")
        return _ended(state)
    question = q.question(state.plan[state.step])
    option = question.option(option_id) if question is not None else None
    if option is None:
        return _ended(state)
    if option.red_flag is not None:
        flags = kb.red_flags
        flag = flags.get(option.red_flag) if flags is not None else None
        stopped = Reply(f"{bold('Check stopped.')} {esc(option.label)}: see the message below.", edit=True)
        urgent = urgent_reply(kb, flag or RedFlag(option.red_flag, option.label.lower()))
        return Step((stopped, urgent), None, events=(RedFlagRaised(option.red_flag, in_check=True),))
    answered = CheckState(state.run, state.plan, (*state.answers, option.id), state.focus, now)
    if answered.step < len(answered.plan):
        return Step((question_reply(kb, answered),), answered)
    ranked = rank(q, answered.plan, answered.answers)
    top = ranked[0].cause.id if ranked else None
    result = result_reply(kb, ranked, edit=True)  # in place of the last question: no answers left to tap
    return Step((result,), None, events=(CheckFinished(top),))


def _ended(state: CheckState | None) -> Step:
    """A button of a check that is over (finished, cancelled, expired, replaced): say so, offer a new one."""
    reply = Reply(f"{ENDED} Start a new one any time.", buttons=_new_check_button(), edit=True)
    return Step((reply,), state, ENDED)


def _plan_valid(kb: KnowledgeBase, state: CheckState) -> bool:
    """False when faq.yaml changed under a running check so that its questions no longer exist."""
    q: Questionnaire | None = kb.questionnaire
    if q is None or not state.plan or state.step >= len(state.plan):
        return False
    for qid, oid in zip(state.plan, (*state.answers, None), strict=False):
        question = q.question(qid)
        if question is None or (oid is not None and question.option(oid) is None):
            return False
    return True


def _q(kb: KnowledgeBase) -> Questionnaire:
    q: Questionnaire | None = kb.questionnaire
    if q is None:
        raise LookupError("faq.yaml has no questionnaire")
    return q


def _new_check_button() -> Keyboard:
    return rows([Button(NEW_CHECK, data="c:-")])


# ---------------------------------------------------------------------------------------------- replies
def question_reply(kb: KnowledgeBase, state: CheckState, edit: bool = True) -> Reply:
    """The current question: progress, text, one button per option, then Back and Cancel."""
    q = _q(kb)
    question = q.question(state.plan[state.step])
    assert question is not None
    number, total = state.step + 1, len(state.plan)
    lines = [bold(f"{q.title} · {number}/{total}")]
    if number == 1 and q.intro:
        lines.append(esc(q.intro))
    lines.append(esc(question.text))
    if question.hint:
        lines.append(italic(question.hint))
    options = [Button(o.label, data=f"q:{state.run}:{number}:{o.id}") for o in question.options]
    nav = (Button("« Back", data=f"q:{state.run}:back"), Button("✖ Cancel", data=f"q:{state.run}:cancel"))
    return Reply("\n\n".join(lines), buttons=(*rows(options), nav), edit=edit)


def result_reply(kb: KnowledgeBase, ranked: Sequence[Ranked], edit: bool = False) -> Reply:
    """The causes that fit, best first, each with its fixes as buttons; a plan; the disclaimer."""
    q = _q(kb)
    if not ranked:
        return replace(_nothing_stands_out(kb, q), edit=edit)
    lines = [bold("Your check: what most likely fits"), ""]
    for i, r in enumerate(ranked[:MAX_SHOWN_CAUSES], 1):
        entry = kb.get(r.cause.id)
        name = entry.button_label if entry is not None else r.cause.id
        fit = "strong fit" if r.score >= q.min_score + STRONG_MARGIN else "possible"
        lines.append(f"{i}. {bold(name)} ({fit})")
        if r.because:
            lines.append(f"   {italic('You said: ' + '; '.join(r.because) + '.')}")
    tied = [r for r in ranked if r.score == ranked[0].score]
    if len(tied) > 1:
        names = [_name(kb, r.cause.id) for r in tied[:MAX_SHOWN_CAUSES]]
        lines += ["", esc(f"{_join(names)} fit equally well, so work on them together.")]
    lines += ["", bold("Your plan")]
    steps = [r.cause.plan for r in ranked[:MAX_SHOWN_CAUSES]] + ([q.closing] if q.closing else [])
    lines += [f"{i}. {esc(s)}" for i, s in enumerate(steps, 1)]
    lines += ["", italic(kb.meta.disclaimer)]
    seen: set[str] = set()
    buttons: list[tuple[Button, ...]] = []
    for r in ranked[:MAX_SHOWN_CAUSES]:
        fixes = [f for f in r.cause.fixes if f not in seen and kb.get(f) is not None]
        seen.update(fixes)
        if fixes:
            buttons.append(tuple(Button(_name(kb, f), data=f"e:{f}") for f in fixes))
    buttons.append((Button("Take the check again", data="c:-"),))
    return Reply("\n".join(lines), buttons=tuple(buttons), edit=edit, tags=frozenset({"check-result"}))


def _nothing_stands_out(kb: KnowledgeBase, q: Questionnaire) -> Reply:
    parts = [
        bold("Nothing stands out"),
        esc("Your answers don't point clearly to one cause. " + q.general_advice),
        esc(q.closing),
        italic(kb.meta.disclaimer),
    ]
    text = "\n\n".join(p for p in parts if p)
    fixes = [Button(_name(kb, f), data=f"e:{f}") for f in q.general_fixes if kb.get(f) is not None]
    buttons = (*rows(fixes), (Button("Take the check again", data="c:-"),))
    return Reply(text, buttons=buttons, tags=frozenset({"check-result", "check-nothing"}))


def _name(kb: KnowledgeBase, entry_id: str) -> str:
    entry = kb.get(entry_id)
    return entry.button_label if entry is not None else entry_id


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1].lower()


def resume_reply(state: CheckState) -> Reply:
    """Shown under a normal answer while a check is open: continue where it was, or stop it."""
    return Reply(
        f"Your quick check is still open at question {state.step + 1}/{len(state.plan)}.",
        buttons=rows(
            [
                Button("Continue the check", data=f"q:{state.run}:resume"),
                Button("Cancel the check", data=f"q:{state.run}:cancel"),
            ]
        ),
    )


def expired_reply(edit: bool = False) -> Reply:
    return Reply(
        "Your quick check closed after 30 minutes without an answer. Start a new one whenever you like.",
        buttons=_new_check_button(),
        edit=edit,
    )


def cancelled_reply(edit: bool = False) -> Reply:
    return Reply("Check cancelled. Ask me anything, or start again with /check.", edit=edit)
