"""The `questionnaire` section of faq.yaml: validation, and a proof that every result can be reached.

Every problem goes to the loader's `Report` with the field it is about, so a content editor sees each
mistake once, at its own line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from types import MappingProxyType
from typing import Any

from bot.content.model import CauseResult, Entry, Option, Question, Questionnaire
from bot.content.problems import ID_RE, Bad, Counting, Report, report_unknown_keys

MAX_OPTION_ID_CHARS = 20
MAX_LABEL_CHARS = 48  # longer button labels get cut off on phones
MAX_COMBINATIONS = 200_000  # reachability is checked exhaustively up to this many answer sets

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


def parse_questionnaire(
    raw: Any,
    known_ids: Collection[str],
    entries: Sequence[Entry],
    report: Report,
    cause_ids: Sequence[str] | None = None,
    maybe_causes: Collection[str] = (),
) -> Questionnaire | None:
    """Validate the `questionnaire` section of faq.yaml; every problem goes to `report`. `cause_ids`, when
    given, are every cause the file declares, also those whose entries have problems of their own: a
    mistake in an entry is then not reported again here; nor is a reference to one of `maybe_causes`,
    entries whose kind is itself a mistake."""
    bad = Counting(report)

    if not isinstance(raw, dict):
        bad(None, "questionnaire", "must be a mapping with causes and questions")
        return None
    report_unknown_keys(raw, SECTION_KEYS, "questionnaire", bad)
    cause_ids = tuple(cause_ids if cause_ids is not None else (e.id for e in entries if e.kind == "cause"))
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

    accepted = (*cause_ids, *maybe_causes)
    written = raw.get("questions")
    questions = _parse_questions(written, accepted, bad)
    qids = {q.id for q in questions} | _declared_ids(written)  # a broken question is reported once, itself
    causes = _parse_causes(raw.get("causes"), cause_ids, accepted, known_ids, qids, bad)
    complete = isinstance(written, list) and len(questions) == len(written)  # else: already reported
    if complete and questions and not any(q.first and any(o.red_flag for o in q.options) for q in questions):
        bad(None, "questionnaire.questions", "the first question (first: true) must ask about warning signs")
    defined = len(written) if isinstance(written, list) else 0
    if isinstance(per_run, int) and defined and per_run > defined:
        bad(None, "questionnaire.per_run", f"asks {per_run} questions but only {defined} are defined")
    if bad.count:
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
    return None if bad.count else q


def _declared_ids(items: Any) -> set[str]:
    return {x["id"] for x in items or () if isinstance(x, dict) and isinstance(x.get("id"), str)}


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _ids(raw: Any, known: Collection[str], entry: str | None, fld: str, bad: Bad) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        bad(entry, fld, "must be a list of entry ids")
        return ()
    for x in raw:
        if x not in known:
            bad(entry, fld, f"unknown entry id {x!r}")
    return tuple(x for x in raw if x in known)


def _parse_causes(
    raw: Any,
    cause_ids: Sequence[str],
    accepted: Sequence[str],
    known: Collection[str],
    qids: Collection[str],
    bad: Bad,
) -> list[CauseResult]:
    """The result of each cause; `accepted` are the ids a result may be for (causes, and entries whose kind
    is already reported as wrong)."""
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
        if cid not in accepted:
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
    """Every cause that some set of answers puts first, as `rank` would.

    Walks the answers question by question, keeping only the distinct score totals so far: many answer sets
    add up to the same totals, so this stays small where trying every set one by one would not."""
    causes = [c.id for c in q.causes]
    zero = tuple(0.0 for _ in causes)
    totals: set[tuple[float, ...]] = {zero}
    for qid in plan:
        question = q.question(qid)
        if question is None:
            continue
        steps = {tuple(o.weights.get(c, 0.0) for c in causes) for o in question.options if o.red_flag is None}
        totals = {
            tuple(t + w for t, w in zip(total, step, strict=True))
            for total in totals
            for step in steps or {()}
        }
        if (
            len(totals) > MAX_COMBINATIONS
        ):  # too many to try: trust the content, the tests exercise each cause
            return set(causes)
    winners: set[str] = set()
    for total in totals:
        best = max(range(len(causes)), key=lambda i: (total[i], -i), default=None)
        if best is not None and total[best] >= q.min_score:
            winners.add(causes[best])
    return winners
