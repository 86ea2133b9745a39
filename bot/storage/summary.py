"""The read side of the question log: what `legpress-bot report` and /stats show.

Unanswered questions are grouped by similarity (the same question in other words), each group with the entry
that comes closest, scored as `legpress-bot ask` scores it; feedback, the most asked entries and the check's
funnel come from plain counts.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rapidfuzz import fuzz, process

from bot.core.matching import Matcher
from bot.storage.question_log import QuestionLog
from bot.text import normalise, one_line

MAX_GROUPED = 5000  # the most recent unanswered questions considered for grouping, to keep the report fast
SIMILAR = 70.0  # two questions at or above this (0-100) are "the same question in other words"


def similarity(a: str, b: str, **_: object) -> float:
    """How alike two normalised questions are. Token-set alone calls "hi" the same as "hi my knee hurts";
    averaging with token-sort keeps word overlap decisive without letting a short subset win."""
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


@dataclass(frozen=True)
class Asked:
    """One logged question, as the report groups it."""

    text: str
    user_hash: str


def group_similar(asked: Sequence[Asked], threshold: float = SIMILAR) -> list[list[Asked]]:
    """Greedy grouping: the most frequent wording founds a group, each other wording joins the most
    similar group founder at or above `threshold`. Largest groups first. Messages with no words are noise."""
    by_key: dict[str, list[Asked]] = defaultdict(list)
    for a in asked:
        key = normalise(a.text)
        if key:
            by_key[key].append(a)
    order = sorted(by_key, key=lambda k: -len(by_key[k]))  # stable: ties keep the most recent first
    founders: list[str] = []
    groups: dict[str, list[Asked]] = {}
    for key in order:
        best = None
        if founders:
            # a cheap C-speed shortlist, then the stricter combined score
            for cand, _, _ in process.extract(key, founders, scorer=fuzz.token_set_ratio, limit=5):
                if similarity(key, cand) >= threshold:
                    best = cand
                    break
        if best is None:
            founders.append(key)
            groups[key] = []
            best = key
        groups[best].extend(by_key[key])
    return sorted(groups.values(), key=len, reverse=True)


# ---------------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Totals:
    questions: int
    answered: int
    unsure: int
    no_match: int
    urgent: int
    askers: int  # different people
    repeat_askers: int  # people who asked more than once
    took_check: int  # questions followed by the check within half an hour


@dataclass(frozen=True)
class Group:
    """Similar questions the bot could not answer (or was unsure about), with the entry closest to them."""

    count: int
    askers: int
    example: str
    others: tuple[str, ...]  # a few other wordings
    closest: str | None  # entry id in the current faq.yaml
    closest_title: str | None
    closest_score: float | None  # the score `legpress-bot ask` gives the example, 0-100
    closest_reason: str = ""  # why `ask` turns the example away (then `closest` is only nearest by words)


@dataclass(frozen=True)
class EntryStat:
    entry_id: str
    title: str | None  # None when the entry is no longer in faq.yaml
    asked: int  # questions it answered
    positive: int
    negative: int
    missing: tuple[str, ...]  # what people said was missing, newest first


@dataclass(frozen=True)
class Funnel:
    started: int
    finished: int
    red_flag: int
    cancelled: int
    expired: int
    top_causes: tuple[tuple[str, int], ...]  # (cause id, times it came out on top), most first


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD, UTC
    answered: int
    unsure: int
    no_match: int
    urgent: int


@dataclass(frozen=True)
class Summary:
    days: int
    since: str  # first day covered, YYYY-MM-DD UTC
    until: str  # last day covered
    totals: Totals
    unanswered: tuple[Group, ...]
    unsure: tuple[Group, ...]
    top_entries: tuple[EntryStat, ...]
    disliked: tuple[EntryStat, ...]
    funnel: Funnel
    per_day: tuple[Day, ...]


def closest_entry(matcher: Matcher | None, text: str) -> tuple[str, str, float, str] | None:
    """The entry nearest to a question in the current faq.yaml, with the score `ask` gives the question and,
    when `ask` turns it away (the topic gate), why: the score is then 0 and the entry the nearest by words,
    which is still where its wording may belong."""
    if matcher is None:
        return None
    m = matcher.match(text)
    nearest = m.candidates or tuple(matcher.rank(matcher.analyse(text)))
    if not nearest:
        return None
    top = nearest[0]
    return top.entry.id, top.entry.title, round(m.score, 1), m.reason if not m.candidates else ""


def make_groups(asked: Sequence[Asked], matcher: Matcher | None, limit: int) -> tuple[Group, ...]:
    out = []
    for members in group_similar(asked)[:limit]:
        wordings = Counter(one_line(a.text, 200) for a in members)
        example, *others = [w for w, _ in wordings.most_common()]
        near = closest_entry(matcher, example)
        out.append(
            Group(
                count=len(members),
                askers=len({a.user_hash for a in members}),
                example=example,
                others=tuple(others[:3]),
                closest=near[0] if near else None,
                closest_title=near[1] if near else None,
                closest_score=near[2] if near else None,
                closest_reason=near[3] if near else "",
            )
        )
    return tuple(out)


def day_range(since: date, until: date) -> list[str]:
    return [(since + timedelta(days=i)).isoformat() for i in range((until - since).days + 1)]


def summarise(
    log: QuestionLog,
    days: int = 30,
    matcher: Matcher | None = None,
    *,
    limit: int = 10,
    now: float | None = None,
) -> Summary:
    """Everything the maintainer's report shows, for the last `days` days (today included). With a
    matcher on the current faq.yaml, unanswered questions get their closest entry and titles."""
    end = time.time() if now is None else now
    until = datetime.fromtimestamp(end, UTC).date()
    since = until - timedelta(days=max(days, 1) - 1)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp()
    window = (start, end)
    kb = matcher.kb if matcher is not None else None

    def title(entry_id: str) -> str | None:
        entry = kb.get(entry_id) if kb is not None else None
        return entry.title if entry is not None else None

    counts = Counter(
        str(o)
        for (o,) in log.rows("SELECT outcome FROM analytics_questions WHERE ts BETWEEN ? AND ?", window)
    )
    per_user = log.rows(
        "SELECT COUNT(*) FROM analytics_questions WHERE ts BETWEEN ? AND ? GROUP BY user_hash", window
    )
    (took,) = log.rows(
        "SELECT COUNT(*) FROM analytics_questions WHERE ts BETWEEN ? AND ? AND took_check = 1", window
    )[0]
    totals = Totals(
        questions=sum(counts.values()),
        answered=counts["answered"],
        unsure=counts["unsure"],
        no_match=counts["none"],
        urgent=counts["urgent"],
        askers=len(per_user),
        repeat_askers=sum(1 for (n,) in per_user if n > 1),
        took_check=took,
    )

    def asked(outcome: str) -> list[Asked]:
        rows = log.rows(
            "SELECT text, user_hash FROM analytics_questions WHERE ts BETWEEN ? AND ? AND outcome = ?"
            " ORDER BY ts DESC LIMIT ?",
            (*window, outcome, MAX_GROUPED),
        )
        return [Asked(str(t), str(u)) for t, u in rows]

    votes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missing: dict[str, list[str]] = defaultdict(list)
    for entry_id, positive, text in log.rows(
        "SELECT entry_id, positive, missing FROM analytics_feedback WHERE ts BETWEEN ? AND ?"
        " ORDER BY ts DESC",
        window,
    ):
        votes[str(entry_id)][0 if positive else 1] += 1
        if text:
            missing[str(entry_id)].append(str(text))

    def entry_stat(entry_id: str, n: int) -> EntryStat:
        pos, neg = votes.get(entry_id, [0, 0])
        return EntryStat(entry_id, title(entry_id), n, pos, neg, tuple(missing.get(entry_id, [])[:5]))

    asked_per_entry = {
        str(e): int(n)
        for e, n in log.rows(
            "SELECT entry_id, COUNT(*) FROM analytics_questions WHERE ts BETWEEN ? AND ?"
            " AND outcome = 'answered' GROUP BY entry_id",
            window,
        )
    }
    top = sorted(asked_per_entry.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    disliked = sorted(
        (e for e, (_, neg) in votes.items() if neg), key=lambda e: (-votes[e][1], votes[e][0], e)
    )[:limit]

    events = Counter(
        str(e) for (e,) in log.rows("SELECT event FROM analytics_checks WHERE ts BETWEEN ? AND ?", window)
    )
    causes = log.rows(
        "SELECT top_cause, COUNT(*) AS n FROM analytics_checks WHERE ts BETWEEN ? AND ?"
        " AND event = 'finished' AND top_cause IS NOT NULL GROUP BY top_cause ORDER BY n DESC, top_cause",
        window,
    )
    funnel = Funnel(
        started=events["started"],
        finished=events["finished"],
        red_flag=events["red-flag"],
        cancelled=events["cancelled"],
        expired=events["expired"],
        top_causes=tuple((str(c), int(n)) for c, n in causes[:limit]),
    )

    daily: dict[str, Counter[str]] = defaultdict(Counter)
    for d, o, n in log.rows(
        f"SELECT {log.day}, outcome, COUNT(*) FROM analytics_questions"
        " WHERE ts BETWEEN ? AND ? GROUP BY 1, 2",
        window,
    ):
        daily[str(d)][str(o)] = int(n)
    per_day = tuple(
        Day(d, daily[d]["answered"], daily[d]["unsure"], daily[d]["none"], daily[d]["urgent"])
        for d in day_range(since, until)
    )

    return Summary(
        days=days,
        since=since.isoformat(),
        until=until.isoformat(),
        totals=totals,
        unanswered=make_groups(asked("none"), matcher, limit),
        unsure=make_groups(asked("unsure"), matcher, limit),
        top_entries=tuple(entry_stat(e, n) for e, n in top),
        disliked=tuple(entry_stat(e, asked_per_entry.get(e, 0)) for e in disliked),
        funnel=funnel,
        per_day=per_day,
    )


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"
