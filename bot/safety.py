"""Red flags: warning signs in free text that need a doctor, not a FAQ answer.

People describe these signs in their own words and with typos ("cant feel my inner thighs since leg day",
"peeing myself after the leg press"), so the detector works on word groups rather than sentences:

- faq.yaml's `red_flags.words` names groups of words and phrases (`numb`, `saddle`, `toilet`...). Two groups
  are special: `not` (negation cues: "no numbness" must not alarm) and `ignore` (idioms that look like a sign
  but are not: "fell asleep", "leg day").
- each sign lists rules; a rule fires when every one of its groups occurs (an element may offer
  alternatives, `pain|back`), optionally all within `near` words of one clause, and none of `unless` occurs.
  A rule may raise its sign's urgency (`urgency: emergency` for both legs).
- the cue groups `joke`, `serious`, `past` and `ongoing` take words back: "not literally", "gone now",
  "years ago" (see bot.safety_text). A sign with `history: true` (cancer) still counts what is over.
- each sign says how soon to get care (`urgency`: emergency, today or soon), `why` in plain words, and
  `examples` that the tests check it catches; `levels` gives each urgency its heading and advice.

Text is split into clauses at punctuation and "but" (bot.safety_text); a word nobody uses in
everyday English is corrected to the nearest red-flag word (one edit, two for long words) so "tingeling"
still reads "tingling". Everything is built once at load; `detect` is pure and takes well under a
millisecond on a typical message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any, Literal, cast

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge import CONCEPT_RE, ID_RE, KnowledgeBase, Report
from bot.matching import everyday_words, normalise
from bot.replies import Button, Reply, bold, esc, italic, rows
from bot.safety_text import CUE_GROUPS, Cue, split_clauses, taken_back

NOT_GROUP = "not"
IGNORE_GROUP = "ignore"
NEGATION_REACH = 3  # a cue like "no" covers the next three words of its clause: "no numbness or tingling"
MAX_TEXT_CHARS = 20000  # a warning sign late in a long story still counts
SECTION_KEYS = {"urgent", "tell_doctor", "words", "signs", "levels"}
SIGN_KEYS = {"id", "label", "tell", "when", "urgency", "why", "examples", "history"}
RULE_KEYS = {"all", "near", "unless", "urgency"}
LEVEL_KEYS = {"title", "advice"}
Urgency = Literal["emergency", "today", "soon"]
URGENCIES: tuple[Urgency, ...] = ("emergency", "today", "soon")

Bad = Callable[[str | None, str, str], None]
"""bad(entry, field, message): one validation problem of the section."""

_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_REPEATS = re.compile(r"([a-z])\1{2,}")

FALLBACK_URGENT = (
    "This can be a sign that something needs a doctor's attention soon. Stop training and get medical "
    "care today: an urgent care clinic, your doctor, or the emergency department."
)
DEFAULT_TITLES: dict[Urgency, str] = {
    "emergency": "Go to A&E or call an emergency number now",
    "today": "Please get medical help today",
    "soon": "Please see a doctor within the next few days",
}


# ------------------------------------------------------------------------------------------------ types
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
class Unit:
    """One recognised word or phrase: its groups, where it is, and whether a negation covers it."""

    groups: frozenset[str]
    clause: int
    start: int
    end: int
    negated: bool = False
    past: bool = False  # over or long ago ("had a fever last week, gone now")


@dataclass(frozen=True)
class RedFlags:
    """The parsed `red_flags` section: signs in priority order and the lexicon they are written in."""

    flags: tuple[RedFlag, ...]
    signs: tuple[Sign, ...] = ()
    phrases: Mapping[tuple[str, ...], frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    prefixes: tuple[tuple[str, frozenset[str]], ...] = ()
    urgent: str = FALLBACK_URGENT
    tell_doctor: str = ""
    levels: Mapping[str, Level] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        max_len = max((len(p) for p in self.phrases), default=1)
        vocab = sorted({w for p in self.phrases for w in p if len(w) >= 4 and w.isalpha()})
        known = everyday_words() | {w for p in self.phrases for w in p}
        object.__setattr__(self, "_max_phrase", max_len)
        object.__setattr__(self, "_vocab", tuple(vocab))
        object.__setattr__(self, "_known", frozenset(known))
        object.__setattr__(self, "_correct", lru_cache(maxsize=20000)(self._correct_uncached))

    def get(self, flag_id: str) -> RedFlag | None:
        return next((f for f in self.flags if f.id == flag_id), None)

    # ------------------------------------------------------------------------------------ reading text
    def _correct_uncached(self, word: str) -> str:
        """A word nobody writes on purpose -> the red-flag word it is one typo away from."""
        known: frozenset[str] = object.__getattribute__(self, "_known")
        if word in known or len(word) < 4 or not word.isalpha():
            return word
        vocab: tuple[str, ...] = object.__getattribute__(self, "_vocab")
        edits = 1 if len(word) < 8 else 2
        best = process.extractOne(word, vocab, scorer=OSA.distance, score_cutoff=edits)
        return str(best[0]) if best else word

    def words(self, clause: str) -> list[str]:
        correct = object.__getattribute__(self, "_correct")
        text = _REPEATS.sub(r"\1\1", normalise(_DIGIT_LETTER.sub(" ", clause)))
        return [correct(w) for w in text.split()]

    def clauses(self, text: str) -> list[list[str]]:
        """The message's clauses (bot.safety_text.split_clauses), each word typo-corrected."""
        correct = object.__getattribute__(self, "_correct")
        return [[correct(w) for w in clause] for clause in split_clauses(text[:MAX_TEXT_CHARS])]

    def units(self, text: str) -> list[Unit]:
        """The message as recognised phrases, longest first, with negation applied within each clause."""
        max_phrase: int = object.__getattribute__(self, "_max_phrase")
        sizes, starts = self._sizes, self._prefix_starts
        out: list[Unit] = []
        cues: list[Cue] = []
        for c, words in enumerate(self.clauses(text)):
            found: list[Unit] = []
            i, negation_reach = 0, -1
            while i < len(words):
                if words[i] not in sizes and not words[i].startswith(starts):
                    i += 1
                    continue
                size, groups = self._phrase_at(words, i, max_phrase)
                if groups & CUE_GROUPS:  # a negated cue is no cue: "it hasnt gone away"
                    cues.extend(Cue(g, c, i) for g in sorted(groups & CUE_GROUPS) if i > negation_reach)
                elif groups:
                    found.append(Unit(groups, c, i, i + size - 1))
                    if NOT_GROUP in groups:
                        negation_reach = i + size - 1 + NEGATION_REACH
                i += size
            out.extend(_negate(found) if negation_reach >= 0 else found)
        return _take_back(out, cues) if cues else out

    @cached_property
    def _prefix_starts(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.prefixes)

    @cached_property
    def _sizes(self) -> Mapping[str, tuple[int, ...]]:
        """For each first word of a phrase, the lengths of its phrases, longest first."""
        sizes: dict[str, set[int]] = {}
        for p in self.phrases:
            sizes.setdefault(p[0], set()).add(len(p))
        return MappingProxyType({w: tuple(sorted(n, reverse=True)) for w, n in sizes.items()})

    def _phrase_at(self, words: Sequence[str], i: int, max_phrase: int) -> tuple[int, frozenset[str]]:
        for size in self._sizes.get(words[i], ()):
            groups = self.phrases.get(tuple(words[i : i + size])) if size <= len(words) - i else None
            if groups:
                return size, groups
        for prefix, groups in self.prefixes:
            if words[i].startswith(prefix):
                return 1, groups
        return 1, frozenset()

    # -------------------------------------------------------------------------------------- detecting
    def detect(self, text: str) -> RedFlag | None:
        units = [u for u in self.units(text) if not u.negated and IGNORE_GROUP not in u.groups]
        if not units:
            return None
        present = [u for u in units if not u.past]
        found = frozenset().union(*(u.groups for u in units))
        for sign in self.signs:
            for rule in sign.rules:
                if all(element & found for element in rule.all) and _fires(
                    rule, units if sign.history else present
                ):
                    return sign.flag if rule.urgency is None else replace(sign.flag, urgency=rule.urgency)
        return None


def _negate(units: list[Unit]) -> Iterator[Unit]:
    """Mark the units a negation cue covers; the cues themselves carry no meaning afterwards."""
    reach = -1
    for u in units:
        if NOT_GROUP in u.groups:
            reach = u.end + NEGATION_REACH
            continue
        yield Unit(u.groups, u.clause, u.start, u.end, negated=u.start <= reach)


def _take_back(units: Sequence[Unit], cues: Sequence[Cue]) -> list[Unit]:
    """Jokes count as negated; what is over is marked past (a `history` sign still counts it)."""
    back = taken_back(cues)
    return [
        Unit(
            u.groups, u.clause, u.start, u.end, u.negated or back.joke(u.clause), back.over(u.clause, u.start)
        )
        for u in units
    ]


def _fires(rule: Rule, units: Sequence[Unit]) -> bool:
    if rule.unless and any(u.groups & rule.unless for u in units):
        return False
    hits = [[u for u in units if u.groups & element] for element in rule.all]
    if not all(hits):
        return False
    return rule.near is None or _close_together(hits, rule.near)


def _close_together(hits: Sequence[Sequence[Unit]], near: int) -> bool:
    """One hit per element, all in one clause, spanning at most `near` words (linear in the hits)."""
    for anchor in (u for element in hits for u in element):
        ends = []
        for element in hits:
            same = [u.end for u in element if u.clause == anchor.clause and u.start >= anchor.start]
            if not same:
                break
            ends.append(min(same))
        else:
            if max(ends) - anchor.start <= near:
                return True
    return False


# ---------------------------------------------------------------------------------------------- loading
def parse_red_flags(raw: Any, report: Report) -> RedFlags | None:
    """Validate the `red_flags` section of faq.yaml; every problem goes to `report`."""
    if not isinstance(raw, dict):
        report(None, "red_flags", "must be a mapping with words and signs")
        return None
    problems = 0

    def bad(entry: str | None, fld: str, message: str) -> None:
        nonlocal problems
        problems += 1
        report(entry, fld, message)

    for key in sorted(set(raw) - SECTION_KEYS, key=str):
        bad(None, f"red_flags.{key}", f"unknown key (allowed: {', '.join(sorted(SECTION_KEYS))})")
    urgent = raw.get("urgent")
    if not isinstance(urgent, str) or not urgent.strip():
        bad(None, "red_flags.urgent", "missing or empty: the message that tells people to get care")
        urgent = FALLBACK_URGENT
    tell_doctor = raw.get("tell_doctor", "")
    if not isinstance(tell_doctor, str):
        bad(None, "red_flags.tell_doctor", "must be text")
        tell_doctor = ""

    phrases, prefixes = _parse_words(raw.get("words"), bad)
    groups = {g for gs in phrases.values() for g in gs} | {g for _, gs in prefixes for g in gs}
    signs = _parse_signs(raw.get("signs"), groups, bad)
    levels = _parse_levels(raw.get("levels", {}), bad)
    if problems:
        return None
    return RedFlags(
        flags=tuple(s.flag for s in signs),
        signs=tuple(signs),
        phrases=MappingProxyType(phrases),
        prefixes=tuple(prefixes),
        urgent=urgent.strip(),
        tell_doctor=tell_doctor.strip(),
        levels=MappingProxyType(levels),
    )


def _parse_levels(raw: Any, bad: Bad) -> dict[str, Level]:
    """`levels`: for each urgency, the heading of the urgent message and what to do (optional)."""
    levels: dict[str, Level] = {}
    if not isinstance(raw, dict):
        bad(None, "red_flags.levels", f"must map urgencies ({', '.join(URGENCIES)}) to a title and advice")
        return levels
    for name, item in raw.items():
        fld = f"red_flags.levels.{name}"
        if name not in URGENCIES:
            bad(None, fld, f"unknown urgency (allowed: {', '.join(URGENCIES)})")
            continue
        if not isinstance(item, dict):
            bad(None, fld, "must be a mapping with title and advice")
            continue
        for key in sorted(set(item) - LEVEL_KEYS, key=str):
            bad(None, f"{fld}.{key}", f"unknown key (allowed: {', '.join(sorted(LEVEL_KEYS))})")
        title, advice = item.get("title"), item.get("advice", "")
        if not isinstance(title, str) or not title.strip():
            bad(None, f"{fld}.title", "missing or empty: the heading of the urgent message")
        elif not isinstance(advice, str):
            bad(None, f"{fld}.advice", "must be text")
        else:
            levels[name] = Level(" ".join(title.split()), " ".join(advice.split()))
    return levels


def _parse_words(
    raw: Any, bad: Bad
) -> tuple[dict[tuple[str, ...], frozenset[str]], list[tuple[str, frozenset[str]]]]:
    phrases: dict[tuple[str, ...], frozenset[str]] = {}
    prefixes: dict[str, frozenset[str]] = {}
    if not isinstance(raw, dict) or not raw:
        bad(None, "red_flags.words", "must map each word group to its words and phrases")
        return phrases, []
    for name, items in raw.items():
        fld = f"red_flags.words.{name}"
        if not isinstance(name, str) or not CONCEPT_RE.match(name):
            bad(None, fld, "group names use lowercase letters, digits and dashes")
            continue
        if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
            bad(None, fld, "needs a list of words or phrases")
            continue
        for item in items:
            if item.strip().endswith("*"):
                stem = normalise(item.strip()[:-1])
                if " " in stem or len(stem) < 4:
                    bad(None, fld, f"{item!r}: a '*' goes after one word of at least four letters")
                    continue
                prefixes[stem] = prefixes.get(stem, frozenset()) | {name}
                continue
            key = tuple(normalise(_DIGIT_LETTER.sub(" ", item)).split())
            if not key:
                bad(None, fld, f"{item!r} has no words in it")
                continue
            phrases[key] = phrases.get(key, frozenset()) | {name}
    return phrases, sorted(prefixes.items(), key=lambda p: -len(p[0]))


def _parse_signs(raw: Any, groups: set[str], bad: Bad) -> list[Sign]:
    signs: list[Sign] = []
    if not isinstance(raw, list) or not raw:
        bad(None, "red_flags.signs", "needs a list of signs, each with id, label, tell and when")
        return signs
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            bad(f"sign #{i + 1}", "red_flags.signs", "a sign must be a mapping with id, label, tell, when")
            continue
        sid = item.get("id")
        name = sid if isinstance(sid, str) and sid else f"sign #{i + 1}"
        fld = f"red_flags.signs[{name}]"
        ok = True

        def fail(sub: str, message: str, name: str = name, fld: str = fld) -> None:
            nonlocal ok
            ok = False
            bad(name, f"{fld}.{sub}" if sub else fld, message)

        for key in sorted(set(item) - SIGN_KEYS, key=str):
            fail(str(key), f"unknown key (allowed: {', '.join(sorted(SIGN_KEYS))})")
        if not isinstance(sid, str) or not ID_RE.match(sid):
            fail("id", f"missing or malformed id {sid!r}")
        elif sid in seen:
            fail("id", "duplicate sign id")
        label, tell = item.get("label"), item.get("tell", "")
        if not isinstance(label, str) or not label.strip():
            fail("label", "missing or empty")
        if not isinstance(tell, str):
            fail("tell", "must be text: what to tell the doctor")
        urgency, why, examples, history = _parse_sign_extras(item, lambda sub, msg: fail(sub, msg))
        rules = _parse_rules(item.get("when"), groups, lambda sub, msg: fail(sub, msg))
        if ok and isinstance(sid, str) and isinstance(label, str) and isinstance(tell, str):
            seen.add(sid)
            flag = RedFlag(sid, label.strip(), tell.strip(), urgency, why)
            signs.append(Sign(flag, tuple(rules), examples, history))
    return signs


def _parse_urgency(raw: Any, fail: Callable[[str, str], None], sub: str) -> Urgency | None:
    if raw is None:
        return None
    if raw not in URGENCIES:
        fail(sub, f"must be one of {', '.join(URGENCIES)}")
        return None
    return cast(Urgency, raw)


def _parse_sign_extras(
    item: dict[Any, Any], fail: Callable[[str, str], None]
) -> tuple[Urgency, str, tuple[str, ...], bool]:
    """A sign's urgency, why, examples and history flag; a `soon` sign must say why it cannot wait."""
    urgency = _parse_urgency(item.get("urgency", "today"), fail, "urgency") or "today"
    why = item.get("why", "")
    if not isinstance(why, str):
        fail("why", "must be text: why a doctor should see it")
        why = ""
    why = " ".join(why.split())
    if urgency != "today" and not why:
        fail("why", f"missing: a sign with urgency {urgency} must say why, in plain words")
    examples = item.get("examples", [])
    if not isinstance(examples, list) or not all(isinstance(x, str) and x.strip() for x in examples):
        fail("examples", "must be a list of messages that describe this sign")
        examples = []
    history = item.get("history", False)
    if not isinstance(history, bool):
        fail("history", "must be true or false")
        history = False
    return urgency, why, tuple(examples), history


def _parse_rules(raw: Any, groups: set[str], fail: Callable[[str, str], None]) -> list[Rule]:
    if not isinstance(raw, list) or not raw:
        fail("when", "needs a list of rules, e.g. - all: [numb]")
        return []
    rules: list[Rule] = []
    for k, r in enumerate(raw):
        sub = f"when[{k}]"
        if not isinstance(r, dict) or not isinstance(r.get("all"), list) or not r["all"]:
            fail(sub, "a rule needs 'all': a list of word groups (and optionally 'near', 'unless')")
            continue
        for key in sorted(set(r) - RULE_KEYS, key=str):
            fail(f"{sub}.{key}", f"unknown key (allowed: {', '.join(sorted(RULE_KEYS))})")
        elements: list[frozenset[str]] = []
        for element in r["all"]:
            names = frozenset(str(element).split("|"))
            for n in sorted(names - groups):
                fail(f"{sub}.all", f"unknown word group {n!r} (define it under red_flags.words)")
            if names & {NOT_GROUP, IGNORE_GROUP, *CUE_GROUPS}:
                fail(f"{sub}.all", f"'{NOT_GROUP}', '{IGNORE_GROUP}' and cue groups cannot be part of a rule")
            elements.append(names)
        near = r.get("near")
        if near is not None and (isinstance(near, bool) or not isinstance(near, int) or near < 1):
            fail(f"{sub}.near", "must be a whole number of words, 1 or more")
            near = None
        unless = r.get("unless", [])
        if not isinstance(unless, list):
            fail(f"{sub}.unless", "must be a list of word groups")
            unless = []
        for n in sorted({str(u) for u in unless} - groups):
            fail(f"{sub}.unless", f"unknown word group {n!r}")
        urgency = _parse_urgency(r.get("urgency"), fail, f"{sub}.urgency")
        rules.append(Rule(tuple(elements), near, frozenset(str(u) for u in unless), urgency))
    return rules


# ------------------------------------------------------------------------------------------- the API
def detect_red_flag(kb: KnowledgeBase, text: str) -> RedFlag | None:
    """The first warning sign (in faq.yaml's order) the message describes, or None."""
    flags: RedFlags | None = kb.red_flags
    if flags is None or not text.strip():
        return None
    return flags.detect(text)


def urgent_reply(kb: KnowledgeBase, flag: RedFlag) -> Reply:
    """The urgent message: how soon to get care and why, what was noticed, what to tell the doctor."""
    flags: RedFlags | None = kb.red_flags
    known = flags.get(flag.id) if flags is not None else None
    level = flags.levels.get(flag.urgency) if flags is not None else None
    title = level.title if level is not None else DEFAULT_TITLES[flag.urgency]
    advice = level.advice if level is not None and level.advice else ""
    advice = advice or (flags.urgent if flags is not None else FALLBACK_URGENT)
    why = flag.why or (known.why if known is not None else "")
    tell = flag.tell or (known.tell if known is not None else "")
    general = flags.tell_doctor if flags is not None else ""
    parts = [
        f"{'🚨' if flag.urgency == 'emergency' else '⚠️'} {bold(title)}",
        f"You mentioned: {bold(flag.label)}." + (f" {esc(why)}" if why else ""),
        esc(advice),
    ]
    told = " ".join(t for t in (tell, general) if t)
    if told:
        parts.append(f"{bold('Tell the doctor:')} {esc(told)}")
    parts.append(italic("I can't examine you, so please don't wait for exercises to fix this."))
    return Reply(
        "\n\n".join(parts),
        buttons=rows([Button("When to see a professional", data="e:professional-help")])
        if kb.get("professional-help") is not None
        else (),
        urgent=True,
    )
