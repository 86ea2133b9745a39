"""Conversation context: the entries a person was last shown, and the follow-ups that refer to them.

"How do I fix that?", "tell me more", "why?", "the second one", "and what about stretching?" mean nothing
alone; after an answer about tight hamstrings they do. Per person per chat the door keeps a small `Recent`
(JSON-compatible, a few ids and a time), forgotten after 30 minutes of silence and on /start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.content.model import Entry, KnowledgeBase
from bot.core.matching import Matcher
from bot.replies import Reply
from bot.text import tokens

CONTEXT_SECONDS = 30 * 60  # silence after which "that" no longer refers to anything
MAX_SHOWN = 3
MAX_OFFERED = 8
MAX_FOLLOW_UP_WORDS = 14  # longer messages say what they are about themselves
MAX_BARE_QUESTION_WORDS = 4  # "how often?", "what stretches": too short to be about anything new

ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "last": -1, "top": 0,
}  # fmt: skip
ORDINAL_FILLERS = frozenset(
    """the one option number no nr choice please pls ok okay so and what about tell me show i want lets
    go with that then try hmm um uh id like read more on open yes yeah""".split()
)
# words that point back at something said before
REFERENCES = frozenset(
    """that it this those these them they its thats more why else also still then again same there
    one above previous""".split()
)
QUESTION_OPENERS = frozenset("how what which when where who should can could is are do does any".split())
# words that open a follow-up ("and what about stretching?") or a reply to what the bot just said ("no i
# dont stretch", "yes it lifts at the bottom")
OPENERS = frozenset(
    [
        *"and so but also then ok okay yes yeah yep yup no nope nah only".split(),
        "what about",
        "how about",
        "what if",
    ]
)
FIX_WORDS = frozenset("fix fixing stop prevent avoid solve help treat cure improve deal sort".split())
WHY_WORDS = frozenset("why cause causes causing reason reasons come".split())
MORE_WORDS = frozenset("more details detail elaborate explain expand else continue".split())
STILL_WORDS = frozenset("still anymore persists persisting worse tried already".split())
TRIED_WORDS = frozenset("tried already".split())  # "tried stretching already": not the next thing to try
# "didn't help", "not working": what was suggested did not work
NOT_WORDS = frozenset("didnt doesnt dont not no isnt wasnt".split())
WORKED_WORDS = frozenset("help helped helping helps work worked working works better".split())


@dataclass(frozen=True)
class Recent:
    """What a person was last shown in one chat: answered entries (newest first), the entries offered
    as buttons with the last answer (in order), and when they last wrote."""

    shown: tuple[str, ...] = ()
    offered: tuple[str, ...] = ()
    at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"shown": list(self.shown), "offered": list(self.offered), "at": self.at}

    @classmethod
    def from_dict(cls, raw: Any) -> Recent | None:
        """Tolerant: anything malformed (an old or hand-edited store) is no context at all."""
        if not isinstance(raw, dict):
            return None
        shown, offered, at = raw.get("shown"), raw.get("offered"), raw.get("at")
        if not isinstance(shown, list) or not isinstance(offered, list):
            return None
        if isinstance(at, bool) or not isinstance(at, int | float):
            return None
        ids = [x for x in shown if isinstance(x, str)][:MAX_SHOWN]
        offers = [x for x in offered if isinstance(x, str)][:MAX_OFFERED]
        return cls(tuple(ids), tuple(offers), float(at)) if ids or offers else None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up resolved: the entry it was understood to be about, and the entry that answers it."""

    about: Entry
    answer: Entry
    picked: bool = False  # chosen by its place among the buttons ("the second one")


def fresh(recent: Recent | None, now: float) -> Recent | None:
    """The context if it is still alive: something was shown, and the person wrote in the last 30 minutes."""
    if recent is None or not (recent.shown or recent.offered):
        return None
    return recent if 0 <= now - recent.at <= CONTEXT_SECONDS else None


def remember(recent: Recent | None, replies: Sequence[Reply], now: float) -> Recent | None:
    """The context after the bot sent `replies`: entries answered and offered are remembered; a reply
    that shows nothing keeps what was shown before, its 30 minutes restarted."""
    base = fresh(recent, now) or Recent()
    shown = [r.entry_id for r in replies if r.entry_id]
    offered = [
        b.data[2:]
        for r in replies
        for row in r.buttons
        for b in row
        if b.data is not None and b.data.startswith("e:")
    ]
    if not shown and not offered:
        return Recent(base.shown, base.offered, now) if base.shown or base.offered else None
    new_shown = tuple(dict.fromkeys([*reversed(shown), *base.shown]))[:MAX_SHOWN]
    new_offered = tuple(dict.fromkeys(offered))[:MAX_OFFERED] if offered else base.offered
    return Recent(new_shown, new_offered, now)


def carried(
    before: Recent | None, decided: Recent | None, replies: Sequence[Reply], now: float
) -> Recent | None:
    """What a door stores after any outcome: the core's own context when it gave one (an empty one
    means forget), else the context updated with what the replies showed."""
    if decided is not None:
        return decided if decided.shown or decided.offered else None
    return remember(before, replies, now)


# ------------------------------------------------------------------------------------------ reading
def ordinal(words: Sequence[str]) -> int | None:
    """ "the second one", "2nd", "number 3", "3": the index of the button meant, else None."""
    if not words or len(words) > 6:
        return None
    found = [ORDINALS[w] for w in words if w in ORDINALS]
    digits = [int(w) - 1 for w in words if w.isdigit() and 1 <= int(w) <= MAX_OFFERED]
    rest = [w for w in words if w not in ORDINALS and not w.isdigit() and w not in ORDINAL_FILLERS]
    picks = found + digits
    if len(picks) != 1 or rest:
        return None
    return picks[0]


def refers_back(words: Sequence[str]) -> bool:
    """A short message that points at what came before ("why?", "and what about stretching?", "how
    often?")."""
    if not words or len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    opener = words[0] in OPENERS or " ".join(words[:2]) in OPENERS
    bare_question = words[0] in QUESTION_OPENERS and len(words) <= MAX_BARE_QUESTION_WORDS
    referring = any(w in REFERENCES or w in WHY_WORDS or w in MORE_WORDS for w in words)
    return opener or bare_question or referring or intent(words) == "still"


def intent(words: Sequence[str]) -> str | None:
    """What a follow-up wants next: a fix, the cause, something more, or help because it still hurts."""
    present = set(words)
    if present & STILL_WORDS or (present & NOT_WORDS and present & WORKED_WORDS):
        return "still"
    if present & FIX_WORDS:
        return "fix"
    if present & WHY_WORDS:
        return "why"
    if present & MORE_WORDS:
        return "more"
    return None


def _topic_words(entry: Entry) -> str:
    return " ".join([entry.button_label, *entry.keywords])


def resolve(kb: KnowledgeBase, matcher: Matcher, text: str, recent: Recent) -> FollowUp | None:
    """The entry a follow-up asks for, read together with what the person was last shown."""
    words = tokens(text)
    pick = ordinal(words)
    if pick is not None and recent.offered and -len(recent.offered) <= pick < len(recent.offered):
        entry = kb.get(recent.offered[pick])
        return FollowUp(entry, entry, picked=True) if entry is not None else None
    if not refers_back(words) or matcher.elsewhere(text):
        return None  # not a follow-up, or one about something else ("so my knee hurts too, why?")
    about = next((e for e in map(kb.get, (*recent.shown, *recent.offered)) if e is not None), None)
    if about is None:
        return None
    wants = intent(words)
    alone = matcher.match(text, on_topic=True)
    named = alone.entry if alone.band == "confident" and alone.entry is not None else None
    # a follow-up that names something itself ("and what about stretching?") is about that, unless it
    # says that it was tried ("tried stretching already")
    tried = {named.id} if named is not None and TRIED_WORDS & set(words) else set()
    if named is not None and named.id != about.id and not tried:
        return FollowUp(about, named)
    read_together = matcher.match(f"{text}\n{_topic_words(about)}")
    candidate = read_together.entry if read_together.band != "none" else None
    if candidate is not None and candidate.id not in {about.id, *tried} and _fits(candidate, wants):
        return FollowUp(about, candidate)
    related = [e for e in map(kb.get, about.related) if e is not None]
    if wants == "still":
        # it still hurts after what was suggested: the next thing to try is a fix not yet shown
        untried = [e for e in _nearby(kb, about) if e.kind == "fix" and e.id not in {*recent.shown, *tried}]
        answer = next(iter(untried), about)
    elif wants == "fix":
        fixes = [e for e in (related if about.kind == "fix" else _nearby(kb, about)) if e.kind == "fix"]
        answer = next(iter(fixes), about)
    elif wants == "why":
        causes = [e for e in _nearby(kb, about) if e.kind == "cause"]
        answer = about if about.kind == "cause" else next(iter(causes), about)
    else:
        unseen = [e for e in related if e.id not in recent.shown]
        answer = next(iter(unseen), about)
    return FollowUp(about, answer)


def _nearby(kb: KnowledgeBase, about: Entry) -> list[Entry]:
    """The entries related to `about`, then theirs: "how do I fix that?" after the overview of causes is
    answered with the fix of its first cause, not with the overview again."""
    first = [e for e in map(kb.get, about.related) if e is not None]
    second = [e for r in first for e in map(kb.get, r.related) if e is not None]
    return list({e.id: e for e in (*first, *second) if e.id != about.id}.values())


def _fits(entry: Entry, wants: str | None) -> bool:
    if wants == "fix":
        return entry.kind in ("fix", "faq")
    if wants == "why":
        return entry.kind in ("cause", "faq")
    return True
