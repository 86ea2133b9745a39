"""Reading a message for the red-flag detector: its clauses, and which words it takes back.

Pure functions, no Telegram: `bot.core.safety` finds the word groups of faq.yaml's `red_flags.words` in a
message and asks these helpers which of them the message takes back. Four optional groups act as cues,
never as signs:

- `joke`: the message says it is not literal ("not literally", "just kidding"): the cue's clause does not
  count, nor the clause before when the cue opens its own ("cant feel my legs, not literally").
  Laughter alone ("lol", "😂") is not a cue: people laugh nervously about real symptoms.
- `serious`: "seriously", "not joking": no `joke` cue counts anywhere in the message.
- `past`: the sign is over or long ago ("gone now", "went away", "fully healed", "years ago", "for a
  second"): words before the cue in its clause do not count, nor the clause before when the cue opens its
  own ("had a fever last week, gone now"). A sign marked `history` (a cancer history) ignores this.
- `ongoing`: "ever since", "still": a `past` cue in the same clause does not count ("fell years ago and it
  has hurt ever since").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.content.model import JOKE_GROUP, ONGOING_GROUP, PAST_GROUP, SERIOUS_GROUP
from bot.text import normalise

OPENS_CLAUSE = 2  # a cue this few words into its clause comments on the clause before ("its gone now")

_SYMBOLS = str.maketrans({"&": " and ", "+": " and "})
_CLAUSE_MARK = re.compile(r"[.,;:!?\n]+")
_BREAK, _BREAK_WORDS = "qqclauseqq", frozenset({"but", "however"})  # a clause ends at these words too
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_REPEATS = re.compile(r"([a-z])\1{2,}")
# words that soften or stress what they stand in, and change nothing about it: "i cant really feel when i
# need to pee" says what "i cant feel when i need to pee" says
_SOFTENERS = frozenset(
    {"really", "actually", "honestly", "truly", "quite", "totally", "kinda", "sorta", "properly", "fully"}
)

# a sign in someone else is the same sign: "he wet himself" is what "I wet myself" says
_REFLEXIVES = frozenset({"himself", "herself", "themselves", "themself", "yourself", "ourselves"})


def split_clauses(text: str) -> list[list[str]]:
    """A message's clauses as normalised words ("3am" -> "3 am", "sooo" -> "soo"), in one pass.

    A clause ends at punctuation and at "but", "however" and "though" (not "even though"); empty
    clauses are dropped, so "fever, but gone now" is two clauses. Softeners ("really") are left out, and
    "himself" or "herself" is "myself"."""
    marked = _CLAUSE_MARK.sub(f" {_BREAK} ", _DIGIT_LETTER.sub(" ", text.translate(_SYMBOLS)))
    out: list[list[str]] = [[]]
    prev = ""
    for w in _REPEATS.sub(r"\1\1", normalise(marked)).split():
        if w == _BREAK or w in _BREAK_WORDS or (w == "though" and prev != "even"):
            if out[-1]:
                out.append([])
        elif w not in _SOFTENERS:
            out[-1].append("myself" if w in _REFLEXIVES else w)
        prev = w
    return out


@dataclass(frozen=True)
class Cue:
    """Where a cue word of one of CUE_GROUPS is: its group, clause, and first word in the clause."""

    group: str
    clause: int
    start: int


@dataclass(frozen=True)
class TakenBack:
    """What the cues of one message take back: whole clauses, and clause prefixes that are over."""

    jokes: frozenset[int] = frozenset()
    past: tuple[tuple[int, int], ...] = ()  # (clause, word): words of the clause before `word` are over
    past_clauses: frozenset[int] = frozenset()

    def joke(self, clause: int) -> bool:
        return clause in self.jokes

    def over(self, clause: int, start: int) -> bool:
        return clause in self.past_clauses or any(c == clause and start < w for c, w in self.past)


NOTHING_TAKEN_BACK = TakenBack()


def taken_back(cues: Iterable[Cue]) -> TakenBack:
    """The clauses and words the message's cues take back (see the module docstring)."""
    cues = list(cues)
    if not cues:
        return NOTHING_TAKEN_BACK
    serious = any(c.group == SERIOUS_GROUP for c in cues)
    jokes: set[int] = set()
    past: list[tuple[int, int]] = []
    past_clauses: set[int] = set()
    ongoing = {c.clause for c in cues if c.group == ONGOING_GROUP}
    for c in cues:
        opens = c.start <= OPENS_CLAUSE
        if c.group == JOKE_GROUP and not serious:
            jokes.add(c.clause)
            if opens:
                jokes.add(c.clause - 1)
        elif c.group == PAST_GROUP and c.clause not in ongoing:
            past.append((c.clause, c.start))
            if opens and c.clause - 1 not in ongoing:
                past_clauses.add(c.clause - 1)
    return TakenBack(frozenset(jokes), tuple(past), frozenset(past_clauses))
