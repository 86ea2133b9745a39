"""Red flags: warning signs in free text that need a doctor, not a FAQ answer.

People describe these signs in their own words and with typos ("cant feel my inner thighs since leg day",
"peeing myself after the leg press"), so the detector works on word groups rather than sentences:

- faq.yaml's `red_flags.words` names groups of words and phrases (`numb`, `saddle`, `toilet`...). Two groups
  are special: `not` (negation cues: "no numbness" must not alarm) and `ignore` (idioms that look like a sign
  but are not: "fell asleep", "leg day").
- each sign lists rules; a rule fires when every one of its groups occurs (an element may offer
  alternatives, `pain|back`), optionally all within `near` words of one clause, and none of `unless` occurs.

Text is split into clauses at punctuation and "but"; words are normalised, and a word nobody uses in
everyday English is corrected to the nearest red-flag word (one edit, two for long words) so "tingeling"
still reads "tingling". Everything is built once at load; `detect` is pure and takes well under a
millisecond on a typical message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.content.model import FALLBACK_URGENT, KnowledgeBase, RedFlag, RedFlagRules, Rule
from bot.content.red_flags import DIGIT_LETTER, IGNORE_GROUP, NOT_GROUP
from bot.replies import Button, Reply, bold, esc, italic, rows
from bot.text import everyday_words, normalise

NEGATION_REACH = 3  # a cue like "no" covers the next three words of its clause: "no numbness or tingling"
MAX_TEXT_CHARS = 20000  # a warning sign late in a long story still counts
CORRECTIONS_KEPT = 20000  # words whose correction is remembered: a few MB at most

_CLAUSE_SPLIT = re.compile(r"[.,;:!?\n]+|\s+but\s+|\s+though\s+|\s+however\s+", re.IGNORECASE)
_REPEATS = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True)
class Unit:
    """One recognised word or phrase: its groups, where it is, and whether a negation covers it."""

    groups: frozenset[str]
    clause: int
    start: int
    end: int
    negated: bool = False


class RedFlagDetector:
    """Reads messages against faq.yaml's red-flag rules; built once per knowledge base."""

    def __init__(self, rules: RedFlagRules) -> None:
        self.rules = rules
        self._max_phrase = max((len(p) for p in rules.phrases), default=1)
        self._vocab = tuple(sorted({w for p in rules.phrases for w in p if len(w) >= 4 and w.isalpha()}))
        self._known = everyday_words() | {w for p in rules.phrases for w in p}
        self._correct = lru_cache(maxsize=CORRECTIONS_KEPT)(self._correct_uncached)

    # ------------------------------------------------------------------------------------ reading text
    def _correct_uncached(self, word: str) -> str:
        """A word nobody writes on purpose -> the red-flag word it is one typo away from."""
        if word in self._known or len(word) < 4 or not word.isalpha():
            return word
        edits = 1 if len(word) < 8 else 2
        best = process.extractOne(word, self._vocab, scorer=OSA.distance, score_cutoff=edits)
        return str(best[0]) if best else word

    def words(self, clause: str) -> list[str]:
        text = _REPEATS.sub(r"\1\1", normalise(DIGIT_LETTER.sub(" ", clause)))
        return [self._correct(w) for w in text.split()]

    def units(self, text: str) -> list[Unit]:
        """The message as recognised phrases, longest first, with negation applied within each clause."""
        out: list[Unit] = []
        for c, clause in enumerate(_CLAUSE_SPLIT.split(text[:MAX_TEXT_CHARS])):
            words = self.words(clause)
            found: list[Unit] = []
            i = 0
            while i < len(words):
                size, groups = self._phrase_at(words, i)
                if groups:
                    found.append(Unit(groups, c, i, i + size - 1))
                i += size
            out.extend(_negate(found))
        return out

    def _phrase_at(self, words: Sequence[str], i: int) -> tuple[int, frozenset[str]]:
        for size in range(min(self._max_phrase, len(words) - i), 0, -1):
            groups = self.rules.phrases.get(tuple(words[i : i + size]))
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
        for sign in self.rules.signs:
            if any(_fires(rule, units) for rule in sign.rules):
                return sign.flag
        return None


def _negate(units: list[Unit]) -> Iterator[Unit]:
    """Mark the units a negation cue covers; the cues themselves carry no meaning afterwards."""
    reach = -1
    for u in units:
        if NOT_GROUP in u.groups:
            reach = u.end + NEGATION_REACH
            continue
        yield Unit(u.groups, u.clause, u.start, u.end, negated=u.start <= reach)


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
    return RedFlagDetector(kb.red_flags) if kb.red_flags is not None else None


def urgent_reply(kb: KnowledgeBase, flag: RedFlag) -> Reply:
    """The urgent message: what was noticed, to get care now, and what to tell the doctor."""
    flags = kb.red_flags
    urgent = flags.urgent if flags is not None else FALLBACK_URGENT
    known = flags.get(flag.id) if flags is not None else None
    tell = flag.tell or (known.tell if known is not None else "")
    general = flags.tell_doctor if flags is not None else ""
    parts = [
        f"⚠️ {bold('Please get medical help today')}",
        f"You mentioned: {bold(flag.label)}.",
        esc(urgent),
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
