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
  "years ago" (see bot.core.safety_text). A sign with `history: true` (cancer) still counts what is over.
- each sign says how soon to get care (`urgency`: emergency, today or soon), `why` in plain words, and
  `examples` that the tests check it catches; `levels` gives each urgency its heading and advice.

Text is split into clauses at punctuation and "but" (bot.core.safety_text); a word nobody uses in
everyday English is corrected to the nearest red-flag word (one edit, two for long words) so "tingeling"
still reads "tingling". Everything is built once at load; `detect` is pure and takes well under a
millisecond on a typical message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

from bot.content.model import (
    CUE_GROUPS,
    FALLBACK_URGENT,
    IGNORE_GROUP,
    NOT_GROUP,
    KnowledgeBase,
    RedFlag,
    RedFlagRules,
    Rule,
    Urgency,
)
from bot.core.safety_text import Cue, split_clauses, taken_back
from bot.replies import Button, Reply, bold, esc, italic, rows
from bot.text import base_forms, everyday_words, root, tokens

NEGATION_REACH = 3  # a cue like "no" covers the next three words of its clause: "no numbness or tingling"
MAX_TEXT_CHARS = 20000  # a warning sign late in a long story still counts
CORRECTIONS_KEPT = 20000  # words whose correction is remembered: a few MB at most
DEFAULT_TITLES: dict[Urgency, str] = {
    "emergency": "Go to A&E or call an emergency number now",
    "today": "Please get medical help today",
    "soon": "Please see a doctor within the next few days",
}


@dataclass(frozen=True)
class Unit:
    """One recognised word or phrase: its groups, where it is, and whether a negation covers it."""

    groups: frozenset[str]
    clause: int
    start: int
    end: int
    negated: bool = False
    past: bool = False  # over or long ago ("had a fever last week, gone now")


class RedFlagDetector:
    """Reads messages against faq.yaml's red-flag rules; built once per knowledge base."""

    def __init__(self, rules: RedFlagRules, known: frozenset[str] = frozenset()) -> None:
        """`known`: more words written on purpose (the matcher's vocabulary: "trashed" is not "crashed")."""
        self.rules = rules
        self._vocab = tuple(sorted({w for p in rules.phrases for w in p if len(w) >= 4 and w.isalpha()}))
        self._sign_words = frozenset(w for p in rules.phrases for w in p)
        self._known = everyday_words() | known | self._sign_words
        self._also_known = known  # ...in any form ("twinging" for "twinge" is not "tingling")
        self._known_roots: frozenset[str] | None = None  # built at the first unknown word
        self._correct = lru_cache(maxsize=CORRECTIONS_KEPT)(self._correct_uncached)
        self._prefix_starts = tuple(p for p, _ in rules.prefixes)
        sizes: dict[str, set[int]] = {}
        for p in rules.phrases:
            sizes.setdefault(p[0], set()).add(len(p))
        # for each first word of a phrase, the lengths of its phrases, longest first
        self._sizes: Mapping[str, tuple[int, ...]] = MappingProxyType(
            {w: tuple(sorted(n, reverse=True)) for w, n in sizes.items()}
        )

    # ------------------------------------------------------------------------------------ reading text
    def _correct_uncached(self, word: str) -> str:
        """A word nobody writes on purpose -> the red-flag word it is one typo away from."""
        if word in self._known or len(word) < 4 or not word.isalpha():
            return word
        bases = base_forms(word)
        if (sign := next((b for b in bases if b in self._sign_words), None)) is not None:
            return sign  # another form of a red-flag word is that word: "coughs" is "cough"
        if any(base in self._known for base in bases):
            return word  # another form of an everyday word: "flipped" is not "slipped"
        if self._known_roots is None:
            self._known_roots = frozenset(root(w) for w in self._also_known if w.isalpha())
        if root(word) in self._known_roots:
            return word
        from rapidfuzz import process  # only for a word nobody writes on purpose: `ask` seldom needs it
        from rapidfuzz.distance import OSA

        edits = 1 if len(word) < 8 else 2
        best = process.extractOne(word, self._vocab, scorer=OSA.distance, score_cutoff=edits)
        return str(best[0]) if best else word

    def clauses(self, text: str) -> list[list[str]]:
        """The message's clauses (bot.core.safety_text.split_clauses), each word typo-corrected."""
        return [[self._correct(w) for w in clause] for clause in split_clauses(text[:MAX_TEXT_CHARS])]

    def units(self, text: str) -> list[Unit]:
        """The message as recognised phrases, longest first, with negation applied within each clause."""
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
                size, groups = self._phrase_at(words, i)
                if groups & CUE_GROUPS:  # a negated cue is no cue: "it hasnt gone away"
                    cues.extend(Cue(g, c, i) for g in sorted(groups & CUE_GROUPS) if i > negation_reach)
                elif groups:
                    found.append(Unit(groups, c, i, i + size - 1))
                    if NOT_GROUP in groups:
                        negation_reach = i + size - 1 + NEGATION_REACH
                i += size
            out.extend(_negate(found) if negation_reach >= 0 else found)
        return _take_back(out, cues) if cues else out

    def _phrase_at(self, words: Sequence[str], i: int) -> tuple[int, frozenset[str]]:
        for size in self._sizes.get(words[i], ()):
            groups = self.rules.phrases.get(tuple(words[i : i + size])) if size <= len(words) - i else None
            if groups:
                return size, groups
        for prefix, groups in self.rules.prefixes:
            if words[i].startswith(prefix):
                return 1, groups
        return 1, frozenset()

    # -------------------------------------------------------------------------------------- detecting
    def detect(self, text: str) -> RedFlag | None:
        """The first warning sign (in faq.yaml's order) the message describes, or None."""
        if not text.strip():
            return None
        units = [u for u in self.units(text) if not u.negated and IGNORE_GROUP not in u.groups]
        if not units:
            return None
        present = [u for u in units if not u.past]
        found = frozenset().union(*(u.groups for u in units))
        for sign in self.rules.signs:
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


# ------------------------------------------------------------------------------------------- the API
def detector_for(kb: KnowledgeBase) -> RedFlagDetector | None:
    """The knowledge base's detector, or None when its faq.yaml has no red_flags section."""
    if kb.red_flags is None:
        return None
    concept_words = {w for phrases in kb.matching.concepts.values() for p in phrases for w in tokens(p)}
    return RedFlagDetector(kb.red_flags, frozenset(concept_words) | kb.matching.keep_words)


URGENT_ENTRY = "professional-help"  # the one entry the urgent message links to


def urgent_reply(kb: KnowledgeBase, flag: RedFlag) -> Reply:
    """The urgent message: how soon to get care and why, what was noticed, what to tell the doctor."""
    flags = kb.red_flags
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
        buttons=rows([Button("When to see a professional", data=f"e:{URGENT_ENTRY}")])
        if kb.get(URGENT_ENTRY) is not None
        else (),
        urgent=True,
    )
