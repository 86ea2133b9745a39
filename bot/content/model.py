"""faq.yaml's content as frozen, fully typed objects: what every other part of the bot reads.

Parsed and validated once by `bot.content.load`; a reload builds a whole new KnowledgeBase, so nothing here
ever changes while it is in use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

KINDS = ("cause", "fix", "faq")
Urgency = Literal["emergency", "today", "soon"]
URGENCIES: tuple[Urgency, ...] = ("emergency", "today", "soon")
FALLBACK_URGENT = (
    "This can be a sign that something needs a doctor's attention soon. Stop training and get medical "
    "care today: an urgent care clinic, your doctor, or the emergency department."
)


# ------------------------------------------------------------------------------------- entries and meta
@dataclass(frozen=True)
class Meta:
    """The `meta` section: who the bot is, the article it answers from, and its disclaimer."""

    bot_name: str
    source_title: str
    disclaimer: str
    source_url: str = ""
    about: str = ""
    description: str = ""  # the bot's profile: what Telegram shows before the first message
    short_description: str = ""  # the bot's profile page and shared links


@dataclass(frozen=True)
class Entry:
    """One cause, fix or FAQ: the questions it answers (the canonical one first) and its answer."""

    id: str
    kind: str
    title: str
    questions: tuple[str, ...]
    answer: str
    related: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    label: str = ""

    @property
    def button_label(self) -> str:
        return self.label or self.title


@dataclass(frozen=True)
class GateRule:
    """Off-topic when any of `concepts` is present, all of `with`, none of `unless`, and not all of
    any group in `unless_together` (tight hamstrings and the back, together, whatever the sport). With
    `only_asked`, the `concepts` count only in the question of a message that asks something: a story that
    mentions painkillers is not a question about them."""

    name: str
    concepts: frozenset[str]
    unless: frozenset[str]
    with_all: frozenset[str] = frozenset()
    only_asked: bool = False
    unless_together: tuple[frozenset[str], ...] = ()  # ...nor all of any one of these groups
    # what it names is about the person (a hip replacement, a pregnancy): off topic even when the question
    # itself names the machine ("… is the leg press still safe?")
    about_the_person: bool = False

    def applies(self, present: frozenset[str]) -> bool:
        return (
            bool(present & self.concepts)
            and self.with_all <= present
            and not present & self.unless
            and not any(group <= present for group in self.unless_together)
        )


@dataclass(frozen=True)
class LongStory:
    """A long story of back pain (`words` or more) that names neither the machine nor any of `unless` is
    about its own activity, a run or a chest day: the `entries` whose advice is about the leg press itself
    ("see someone if the leg press keeps hurting", "do this instead") do not answer it."""

    words: int
    unless: frozenset[str]
    entries: frozenset[str]


@dataclass(frozen=True)
class MatchingConfig:
    """The `matching` section: thresholds, the concept map and the topic gate the matcher works with."""

    confident: float = 55.0
    unsure: float = 30.0
    margin: float = 8.0
    concepts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    subjects: frozenset[str] = frozenset()
    weak_subjects: frozenset[str] = frozenset()
    anchors: frozenset[str] = frozenset()
    pairs: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    off_topic: tuple[GateRule, ...] = ()
    keep_words: frozenset[str] = frozenset()
    question_words: frozenset[str] = frozenset()
    tie_break_kinds: tuple[str, ...] = ()
    kind_hints: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    # concepts a negation does not deny: "never stretch", "no core work" name what is missing
    practices: frozenset[str] = frozenset()
    # the conditions the article covers: one named anywhere counts in full, not as story ("I have a slipped
    # disc. is the leg press a no go?")
    conditions: frozenset[str] = frozenset()
    # concepts a story reports rather than asks for ("my physio says my core is weak, is that why?"): they do
    # not decide the answer to the question beside it, unless the story names one of `reported_unless`
    reported: frozenset[str] = frozenset()
    reported_unless: frozenset[str] = frozenset()
    long_story: LongStory | None = None


@dataclass(frozen=True)
class SmallTalkTopic:
    """One kind of small talk ("thanks", "who are you"): the phrases that say it and the reply to them."""

    id: str
    phrases: tuple[str, ...]
    reply: str
    buttons: tuple[str, ...] = ()  # menu names: causes, fixes, faq, check
    emoji: bool = False  # also answers a message made only of emoji


@dataclass(frozen=True)
class SmallTalk:
    """The parsed `small_talk` section: topics in file order, and the words that may surround a phrase."""

    topics: tuple[SmallTalkTopic, ...]
    fillers: frozenset[str] = frozenset()
    about_what: str = "About what? Ask me in your own words, or pick one of these:"
    partial: str = "I only know about lower-back pain on the leg press, so I can't answer that in general."


@dataclass(frozen=True)
class KnowledgeBase:
    """The whole faq.yaml, validated: what every part of the bot reads, never changed while in use."""

    path: str
    meta: Meta
    entries: tuple[Entry, ...]
    matching: MatchingConfig
    questionnaire: Questionnaire | None = None
    red_flags: RedFlagRules | None = None
    small_talk: SmallTalk | None = None

    @cached_property
    def _by_id(self) -> Mapping[str, Entry]:
        return MappingProxyType({e.id: e for e in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def of_kind(self, kind: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)


# ------------------------------------------------------------------------------------- the guided check
@dataclass(frozen=True)
class Option:
    """One answer to a check question, and the points it gives each cause."""

    id: str
    label: str
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    red_flag: str | None = None


@dataclass(frozen=True)
class Question:
    """One question of the guided check, with its answers in the order they are shown."""

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
    """The `questionnaire` section: the guided check's questions and what it says about each cause."""

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
class Ranked:
    """A cause as the check's result lists it: its points and the answers that gave them."""

    cause: CauseResult
    score: float
    because: tuple[str, ...]  # labels of the answers that pointed to it


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


# ------------------------------------------------------------------------------------------- red flags
# word groups of the `red_flags` section with a meaning of their own (the detector reads them; the loader
# keeps them out of rules)
NOT_GROUP = "not"
IGNORE_GROUP = "ignore"
# cue groups: words that take a sign back (bot.core.safety_text), never a sign themselves
JOKE_GROUP = "joke"
SERIOUS_GROUP = "serious"
PAST_GROUP = "past"
ONGOING_GROUP = "ongoing"
CUE_GROUPS = frozenset({JOKE_GROUP, SERIOUS_GROUP, PAST_GROUP, ONGOING_GROUP})


@dataclass(frozen=True)
class RedFlag:
    """A warning sign: what it is called, and what the doctor should hear about it."""

    id: str
    label: str
    tell: str = ""
    urgency: Urgency = "today"
    why: str = ""  # why a doctor should see it, in plain words; never a diagnosis


@dataclass(frozen=True)
class Rule:
    """Fires when each element (a set of alternative groups) is present, none of `unless` is."""

    all: tuple[frozenset[str], ...]
    near: int | None = None
    unless: frozenset[str] = frozenset()
    urgency: Urgency | None = None  # raises the sign's urgency when this rule is the one that fires


@dataclass(frozen=True)
class Sign:
    """A warning sign and the rules that recognise it in a message."""

    flag: RedFlag
    rules: tuple[Rule, ...]
    examples: tuple[str, ...] = ()
    history: bool = False  # what is over still counts: a cancer in remission is a cancer history


@dataclass(frozen=True)
class Level:
    """How one urgency is told: the heading and what to do."""

    title: str
    advice: str = ""


@dataclass(frozen=True)
class RedFlagRules:
    """The parsed `red_flags` section: signs in priority order and the lexicon they are written in."""

    flags: tuple[RedFlag, ...]
    signs: tuple[Sign, ...] = ()
    phrases: Mapping[tuple[str, ...], frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    prefixes: tuple[tuple[str, frozenset[str]], ...] = ()
    urgent: str = FALLBACK_URGENT
    tell_doctor: str = ""
    levels: Mapping[str, Level] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, flag_id: str) -> RedFlag | None:
        return next((f for f in self.flags if f.id == flag_id), None)
