"""The guided check: a few one-tap questions -> the causes that fit, ranked, with their fixes.

Content lives in faq.yaml's `questionnaire` section; this module validates it and runs it as pure
functions of (knowledge base, state, button data, time) -> replies and a new state, so every adapter (and
every test) gets the same behaviour.

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
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import product
from types import MappingProxyType
from typing import Any

from bot.knowledge import ID_RE, Entry, KnowledgeBase, Report
from bot.replies import Button, Keyboard, Reply, bold, esc, italic, rows
from bot.safety import RedFlag, urgent_reply

EXPIRY_SECONDS = 30 * 60
MAX_RUN_CHARS = 16
MAX_OPTION_ID_CHARS = 20
MAX_LABEL_CHARS = 48  # longer button labels get cut off on phones
MAX_SHOWN_CAUSES = 3
STRONG_MARGIN = 2  # points above min_score that make a cause a "strong fit"
MAX_COMBINATIONS = 200_000  # reachability is checked exhaustively up to this many answer sets
RUN_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

SECTION_KEYS = {
    "title",
    "intro",
    "offer",
    "per_run",
    "min_score",
    "general_advice",
    "closing",
    "general_fixes",
    "causes",
    "questions",
}
CAUSE_KEYS = {"offer", "entries", "start", "fixes", "plan"}
QUESTION_KEYS = {"id", "text", "topic", "hint", "first", "options"}
OPTION_KEYS = {"id", "label", "weights", "red_flag"}

ENDED = "This check has ended."
NEW_CHECK = "Start a new check"


# ------------------------------------------------------------------------------------------------ types
@dataclass(frozen=True)
class Option:
    id: str
    label: str
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    red_flag: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[Option, ...]
    hint: str = ""
    first: bool = False
    topic: str = ""  # a few words naming the question in a result: "core training"

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def causes(self) -> frozenset[str]:
        return frozenset(c for o in self.options for c, w in o.weights.items() if w > 0)


@dataclass(frozen=True)
class CauseResult:
    """What the check says about one cause: the offer after its entries, its fixes and plan line."""

    id: str
    offer: str
    fixes: tuple[str, ...]
    plan: str
    entries: tuple[str, ...] = ()
    start: str | None = None


@dataclass(frozen=True)
class Questionnaire:
    questions: tuple[Question, ...]
    causes: tuple[CauseResult, ...] = ()
    per_run: int = 6
    min_score: float = 3.0
    title: str = "Quick check"
    intro: str = ""
    offer: str = "Take the quick check"
    general_advice: str = ""
    closing: str = ""
    general_fixes: tuple[str, ...] = ()

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)

    def cause(self, cid: str) -> CauseResult | None:
        return next((c for c in self.causes if c.id == cid), None)

    def cause_for_entry(self, entry_id: str | None) -> CauseResult | None:
        """The cause an entry is about: the cause itself, or the cause that lists it."""
        if entry_id is None:
            return None
        return self.cause(entry_id) or next((c for c in self.causes if entry_id in c.entries), None)

    def plan(self, focus: str | None) -> tuple[str, ...]:
        """The questions of one run: warning signs first, then the focus question, then file order."""
        cause = self.cause_for_entry(focus)
        firsts = [q.id for q in self.questions if q.first]
        lead = [cause.start] if cause is not None and cause.start and cause.start not in firsts else []
        rest = [q.id for q in self.questions if q.id not in firsts and q.id not in lead]
        return tuple([*firsts, *lead, *rest][: max(self.per_run, len(firsts))])


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
    urgent: bool = False
    events: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Ranked:
    cause: CauseResult
    score: float
    because: tuple[str, ...]  # labels of the answers that pointed to it


# ---------------------------------------------------------------------------------------------- scoring
def scores(q: Questionnaire, plan: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
    totals = {c.id: 0.0 for c in q.causes}
    for _, option in _answered(q, plan, answers):
        for cid, w in option.weights.items():
            totals[cid] = totals.get(cid, 0.0) + w
    return totals


def rank(q: Questionnaire, plan: Sequence[str], answers: Sequence[str]) -> list[Ranked]:
    """Causes with at least `min_score` points, best first; equal scores keep the order of `causes`."""
    totals = scores(q, plan, answers)
    order = {c.id: i for i, c in enumerate(q.causes)}
    chosen = list(_answered(q, plan, answers))
    ranked = [
        Ranked(c, totals[c.id], tuple(_said(qu, o) for qu, o in chosen if o.weights.get(c.id, 0) > 0))
        for c in q.causes
        if totals[c.id] >= q.min_score
    ]
    ranked.sort(key=lambda r: (-r.score, order[r.cause.id]))
    return ranked


def _answered(
    q: Questionnaire, plan: Sequence[str], answers: Sequence[str]
) -> Iterator[tuple[Question, Option]]:
    for qid, oid in zip(plan, answers, strict=False):
        question = q.question(qid)
        option = question.option(oid) if question is not None else None
        if question is not None and option is not None:
            yield question, option


def _said(question: Question, option: Option) -> str:
    """An answer as the result quotes it: "core training: hardly ever"."""
    return f"{question.topic}: {option.label.lower()}" if question.topic else option.label


# ---------------------------------------------------------------------------------------------- loading
def parse_questionnaire(
    raw: Any, known_ids: Collection[str], entries: Sequence[Entry], report: Report
) -> Questionnaire | None:
    """Validate the `questionnaire` section of faq.yaml; every problem goes to `report`."""
    problems = 0

    def bad(entry: str | None, fld: str, message: str) -> None:
        nonlocal problems
        problems += 1
        report(entry, fld, message)

    if not isinstance(raw, dict):
        bad(None, "questionnaire", "must be a mapping with causes and questions")
        return None
    for key in sorted(set(raw) - SECTION_KEYS, key=str):
        bad(None, f"questionnaire.{key}", f"unknown key (allowed: {', '.join(sorted(SECTION_KEYS))})")
    cause_ids = tuple(e.id for e in entries if e.kind == "cause")
    texts = {k: _text(raw.get(k)) for k in ("title", "intro", "offer", "general_advice", "closing")}
    for key in ("offer", "general_advice"):
        if not texts[key]:
            bad(None, f"questionnaire.{key}", "missing or empty")
    if texts["offer"] and len(texts["offer"]) > MAX_LABEL_CHARS:
        bad(None, "questionnaire.offer", f"longer than {MAX_LABEL_CHARS} characters: too long for a button")
    per_run = raw.get("per_run", 6)
    if isinstance(per_run, bool) or not isinstance(per_run, int) or per_run < 2:
        bad(None, "questionnaire.per_run", "must be a whole number, 2 or more")
        per_run = 6
    min_score = raw.get("min_score", 3)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or min_score <= 0:
        bad(None, "questionnaire.min_score", "must be a number above 0")
        min_score = 3
    general_fixes = _ids(raw.get("general_fixes", []), known_ids, None, "questionnaire.general_fixes", bad)

    questions = _parse_questions(raw.get("questions"), cause_ids, bad)
    qids = {q.id for q in questions}
    causes = _parse_causes(raw.get("causes"), cause_ids, known_ids, qids, bad)
    if questions and not any(q.first and any(o.red_flag for o in q.options) for q in questions):
        bad(None, "questionnaire.questions", "the first question (first: true) must ask about warning signs")
    if isinstance(per_run, int) and questions and per_run > len(questions):
        bad(None, "questionnaire.per_run", f"asks {per_run} questions but only {len(questions)} are defined")
    if problems:
        return None
    q = Questionnaire(
        questions=tuple(questions),
        causes=tuple(c for cid in cause_ids for c in causes if c.id == cid),
        per_run=per_run,
        min_score=float(min_score),
        title=texts["title"] or "Quick check",
        intro=texts["intro"] or "",
        offer=texts["offer"] or "Take the quick check",
        general_advice=texts["general_advice"] or "",
        closing=texts["closing"] or "",
        general_fixes=general_fixes,
    )
    for problem in unreachable(q):
        bad(*problem)
    return None if problems else q


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


Bad = Callable[[str | None, str, str], None]


def _ids(raw: Any, known: Collection[str], entry: str | None, fld: str, bad: Bad) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        bad(entry, fld, "must be a list of entry ids")
        return ()
    for x in raw:
        if x not in known:
            bad(entry, fld, f"unknown entry id {x!r}")
    return tuple(x for x in raw if x in known)


def _parse_causes(
    raw: Any, cause_ids: Sequence[str], known: Collection[str], qids: Collection[str], bad: Bad
) -> list[CauseResult]:
    out: list[CauseResult] = []
    if not isinstance(raw, dict):
        bad(None, "questionnaire.causes", "must map each cause id to its offer, fixes and plan")
        return out
    for cid in cause_ids:
        if cid not in raw:
            bad(
                cid,
                "questionnaire.causes",
                f"missing result for cause {cid!r}: add its offer, fixes and plan",
            )
    claimed: dict[str, str] = {}
    for cid, item in raw.items():
        fld = f"questionnaire.causes.{cid}"
        if cid not in cause_ids:
            bad(str(cid), fld, f"unknown cause id {cid!r} (causes: {', '.join(cause_ids)})")
            continue
        if not isinstance(item, dict):
            bad(cid, fld, "must be a mapping with offer, fixes and plan")
            continue
        for key in sorted(set(item) - CAUSE_KEYS, key=str):
            bad(cid, f"{fld}.{key}", f"unknown key (allowed: {', '.join(sorted(CAUSE_KEYS))})")
        offer, plan = _text(item.get("offer")), _text(item.get("plan"))
        if not offer:
            bad(cid, f"{fld}.offer", "missing or empty: the check button's label after this cause")
        elif len(offer) > MAX_LABEL_CHARS:
            bad(cid, f"{fld}.offer", f"longer than {MAX_LABEL_CHARS} characters: too long for a button")
        if not plan:
            bad(cid, f"{fld}.plan", "missing or empty: one line of plan in plain words")
        fixes = _ids(item.get("fixes"), known, cid, f"{fld}.fixes", bad)
        if not fixes:
            bad(cid, f"{fld}.fixes", "needs at least one fix (entry id) to offer as a button")
        linked = _ids(item.get("entries", []), known, cid, f"{fld}.entries", bad)
        for e in linked:
            if e in claimed:
                bad(cid, f"{fld}.entries", f"{e!r} is already listed under {claimed[e]!r}")
            claimed[e] = cid
        start = item.get("start")
        if start is not None and start not in qids:
            bad(cid, f"{fld}.start", f"unknown question id {start!r}")
            start = None
        out.append(CauseResult(cid, offer or "", fixes, plan or "", linked, start))
    return out


def _parse_questions(raw: Any, cause_ids: Sequence[str], bad: Bad) -> list[Question]:
    out: list[Question] = []
    if not isinstance(raw, list) or not raw:
        bad(None, "questionnaire.questions", "needs a list of questions")
        return out
    seen: set[str] = set()
    for i, item in enumerate(raw):
        qid = item.get("id") if isinstance(item, dict) else None
        name = qid if isinstance(qid, str) and qid else f"#{i + 1}"
        fld = f"questionnaire.questions[{name}]"
        if not isinstance(item, dict):
            bad(name, fld, "a question must be a mapping with id, text and options")
            continue
        question = _parse_question(item, name, fld, cause_ids, bad)
        if question is None:
            continue
        if question.id in seen:
            bad(name, f"{fld}.id", "duplicate question id")
            continue
        seen.add(question.id)
        out.append(question)
    return out


def _parse_question(
    item: dict[Any, Any], name: str, fld: str, cause_ids: Sequence[str], bad: Bad
) -> Question | None:
    ok = True

    def fail(sub: str, message: str) -> None:
        nonlocal ok
        ok = False
        bad(name, f"{fld}.{sub}", message)

    for key in sorted(set(item) - QUESTION_KEYS, key=str):
        fail(str(key), f"unknown key (allowed: {', '.join(sorted(QUESTION_KEYS))})")
    qid, text = item.get("id"), _text(item.get("text"))
    if not isinstance(qid, str) or not ID_RE.match(qid):
        fail("id", f"missing or malformed id {qid!r} (lowercase letters, digits and dashes)")
    if not text:
        fail("text", "missing or empty")
    first = item.get("first", False)
    if not isinstance(first, bool):
        fail("first", "must be true or false")
    raw_options = item.get("options")
    if not isinstance(raw_options, list) or len(raw_options) < 2:
        fail("options", "a question needs at least two options")
        raw_options = raw_options if isinstance(raw_options, list) else []
    options: list[Option] = []
    for k, raw in enumerate(raw_options):
        option = _parse_option(raw, k, name, f"{fld}.options", cause_ids, fail)
        if option is not None:
            if any(o.id == option.id for o in options):
                fail(f"options[{option.id}].id", "duplicate option id in this question")
            options.append(option)
    if options and not any(o.weights or o.red_flag for o in options):
        fail("options", "no option points to a cause or a warning sign: the question tells nothing")
    if first is True and options and not any(o.red_flag for o in options):
        fail("first", "only warning signs come first: a first question needs red_flag options")
    if not ok or not isinstance(qid, str) or not text:
        return None
    hint, topic = _text(item.get("hint")) or "", _text(item.get("topic")) or ""
    return Question(qid, text, tuple(options), hint, bool(first), topic)


def _parse_option(
    raw: Any, k: int, qname: str, fld: str, cause_ids: Sequence[str], fail: Callable[[str, str], None]
) -> Option | None:
    if not isinstance(raw, dict):
        fail(f"options[{k + 1}]", "an option must be a mapping with id and label")
        return None
    oid = raw.get("id")
    name = oid if isinstance(oid, str) and oid else str(k + 1)
    sub = f"options[{name}]"
    ok = True

    def local(s: str, message: str) -> None:
        nonlocal ok
        ok = False
        fail(f"{sub}.{s}", message)

    for key in sorted(set(raw) - OPTION_KEYS, key=str):
        local(str(key), f"unknown key (allowed: {', '.join(sorted(OPTION_KEYS))})")
    if not isinstance(oid, str) or not ID_RE.match(oid) or len(oid) > MAX_OPTION_ID_CHARS:
        local("id", f"missing or malformed id {oid!r} (up to {MAX_OPTION_ID_CHARS} lowercase letters/dashes)")
    label = _text(raw.get("label"))
    if not label:
        local("label", "missing or empty")
    elif len(label) > MAX_LABEL_CHARS:
        local("label", f"longer than {MAX_LABEL_CHARS} characters: too long for a button")
    weights: dict[str, float] = {}
    raw_weights = raw.get("weights", {})
    if not isinstance(raw_weights, dict):
        local("weights", "must map cause ids to numbers")
        raw_weights = {}
    for cid, w in raw_weights.items():
        if cid not in cause_ids:
            local("weights", f"unknown cause id {cid!r} (causes: {', '.join(cause_ids)})")
        elif isinstance(w, bool) or not isinstance(w, int | float) or not -10 <= w <= 10:
            local("weights", f"weight for {cid!r} must be a number from -10 to 10")
        else:
            weights[cid] = float(w)
    red_flag = raw.get("red_flag")
    if red_flag is not None and (not isinstance(red_flag, str) or not ID_RE.match(red_flag)):
        local("red_flag", "must be the id of a sign under red_flags.signs")
    if red_flag is not None and weights:
        local("red_flag", "a red-flag option stops the check; it cannot also have weights")
    if not ok or not isinstance(oid, str) or not label:
        return None
    return Option(oid, label, MappingProxyType(weights), red_flag if isinstance(red_flag, str) else None)


def unreachable(q: Questionnaire) -> list[tuple[str | None, str, str]]:
    """Results no set of answers can put first, in the default run or a run started from a cause."""
    problems: list[tuple[str | None, str, str]] = []
    runs: list[tuple[str | None, str]] = [(None, "a run")]
    runs += [(c.id, f"a run started from {c.id!r}") for c in q.causes if c.start]
    for focus, where in runs:
        plan = q.plan(focus)
        winners = _possible_winners(q, plan)
        for c in q.causes:
            if c.id not in winners:
                problems.append(
                    (
                        c.id,
                        f"questionnaire.causes.{c.id}",
                        f"unreachable result: no answers in {where} ({', '.join(plan)}) put {c.id!r} first "
                        f"with at least {q.min_score:g} points; raise its weights or ask about it",
                    )
                )
    return problems


def _possible_winners(q: Questionnaire, plan: Sequence[str]) -> set[str]:
    choices: list[list[str]] = []
    for qid in plan:
        question = q.question(qid)
        if question is not None:
            choices.append([o.id for o in question.options if o.red_flag is None] or [""])
    count = 1
    for c in choices:
        count *= len(c)
    if count > MAX_COMBINATIONS:  # too many to try: trust the content, the tests exercise each cause
        return {c.id for c in q.causes}
    winners: set[str] = set()
    for answers in product(*choices):
        ranked = rank(q, plan, answers)
        if ranked:
            winners.add(ranked[0].cause.id)
    return winners


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


def step(kb: KnowledgeBase, state: CheckState | None, data: str, now: float) -> Step:
    """One tap on a check button. Stale, foreign or malformed data is answered politely, never raised."""
    parts = data.removeprefix("q:").split(":")
    if state is not None and expired(state, now):
        if parts and parts[0] == state.run:
            return Step(
                (expired_reply(kb, edit=True),), None, "This check expired.", events=("check-expired",)
            )
        state = None
    if state is None or len(parts) < 2 or parts[0] != state.run or not _plan_valid(kb, state):
        return _ended(state)
    action = parts[1]
    if action == "cancel" and len(parts) == 2:
        return Step((cancelled_reply(kb, edit=True),), None, "Check cancelled.", events=("check-cancelled",))
    if action == "back" and len(parts) == 2:
        if not state.answers:
            return Step((question_reply(kb, state),), touch(state, now), "This is the first question.")
        back = CheckState(state.run, state.plan, state.answers[:-1], state.focus, now)
        return Step((question_reply(kb, back),), back)
    if action == "resume" and len(parts) == 2:
        return Step((question_reply(kb, state, edit=False),), touch(state, now))
    if len(parts) == 3 and action.isdigit():
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
        return Step(
            (stopped, urgent), None, urgent=True, events=("red-flag-check", f"red-flag:{option.red_flag}")
        )
    answered = CheckState(state.run, state.plan, (*state.answers, option.id), state.focus, now)
    if answered.step < len(answered.plan):
        return Step((question_reply(kb, answered),), answered)
    ranked = rank(q, answered.plan, answered.answers)
    top = ranked[0].cause.id if ranked else "none"
    result = result_reply(kb, ranked, edit=True)  # in place of the last question: no answers left to tap
    return Step((result,), None, events=("check-finished", f"check-result:{top}"))


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


def resume_reply(kb: KnowledgeBase, state: CheckState) -> Reply:
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


def expired_reply(kb: KnowledgeBase, edit: bool = False) -> Reply:
    return Reply(
        "Your quick check closed after 30 minutes without an answer. Start a new one whenever you like.",
        buttons=_new_check_button(),
        edit=edit,
    )


def cancelled_reply(kb: KnowledgeBase, edit: bool = False) -> Reply:
    return Reply("Check cancelled. Ask me anything, or start again with /check.", edit=edit)
