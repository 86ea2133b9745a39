"""Reading a message for the question it asks: clauses, which of them ask, and how much each one weighs.

People tell a story first and ask last ("leg day yesterday, same as always, ... is that why my back hurts?").
The story often names the condition, the question what the person wants, so both count, but a long story
must not drown a short question. Pure functions over the matcher's terms; the matcher decides what a term is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.text import split_sentences

MAX_QUERY_CHARS = 6000  # longer messages keep their head and tail: the question is usually in one of them
OTHER_SENTENCE_WEIGHT = 0.7  # sentences that tell a story, beside the one that asks
STORY_RATIO = 2.0  # a story with more than this many terms per term of the question weighs less...
MIN_STORY_SHARE = 0.3  # ...down to this share of OTHER_SENTENCE_WEIGHT
LONG_STORY_TERMS = 40  # a story of fewer words keeps its full weight: it often names the condition
# a concept right after one of these is denied, not named: "no radiating pain", "not serious"
NEGATORS = frozenset({"no", "not", "never", "without", "zero", "nothing"})

# words that say nothing about what is asked: never a term, never taken for a typo
STOPWORDS = frozenset(
    """a an the and or but if so of to in on at for with from by as into onto about after before during
    my me i im i'm ive id you your yours we our they them their it its this that these those there here
    be am is are was were been being do does did done doing have has had having get gets got getting
    just really very quite bit lot lots also too then than now again ever even still much many some any
    all every each such only own same other more most less least up down out off over under again further
    can could should would will shall may might must cant dont doesnt didnt wont isnt arent wasnt im
    what which who whom whose when where why how not no yes yeah ok okay pls please hey hi hello guys
    like kind sort thing things stuff something anything one ones way lol haha tho though because while
    feel feels felt think know want wanted make makes made go going went use using used try trying
    anyone someone somebody anybody everyone people guy bro man mate dude""".split()
)


def contains(phrase: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether `part` occurs in `phrase` as a run of whole words."""
    n = len(part)
    return any(phrase[i : i + n] == part for i in range(len(phrase) - n + 1))


def clip(text: str) -> str:
    """A message cut to MAX_QUERY_CHARS, keeping its head and its tail."""
    if len(text) <= MAX_QUERY_CHARS:
        return text
    head = MAX_QUERY_CHARS * 2 // 3
    return text[:head] + "\n" + text[-(MAX_QUERY_CHARS - head) :]


def clauses(text: str, question_words: frozenset[str]) -> list[tuple[str, bool]]:
    """(clause, asks) pairs. In a message with a question mark, the clauses that end with one ask: it says
    which clause asks more surely than a first word ("ok so a bit of background, ..."), and in a long post
    the story seldom ends with one."""
    found = split_sentences(clip(text), question_words) or [(text, False)]
    if len(found) > 1 and any(s.endswith("?") for s, _ in found):
        return [(s, s.endswith("?")) for s, _ in found]
    return found


def weigh(
    per_clause: Sequence[tuple[Sequence[str], bool]],
    leads_if: Callable[[Sequence[str]], bool],
    asking: frozenset[str] = frozenset(),
) -> tuple[dict[str, float], frozenset[str]]:
    """Each term's weight (its heaviest clause) and the concepts of the clauses that lead.

    A clause that asks leads when `leads_if` says its terms are enough to go on; "is that why?" points back
    to the story instead, and then every clause counts in full. `asking` concepts (what a question asks
    for: how often, what to do) count only in a clause that asks, when some clause does."""
    leads = [asks and leads_if(terms) for terms, asks in per_clause]
    # some clauses ask and some do not: only then does a clause's asking say anything about its terms
    some_ask = any(asks for _, asks in per_clause) and not all(asks for _, asks in per_clause)
    story = OTHER_SENTENCE_WEIGHT
    tried: set[str] = set()
    if some_ask and any(asks and "else" in terms for terms, asks in per_clause):
        # "what else?": what the story names (stretching, planks) was tried and did not help; the question
        # asks for something other than that
        leads = [asks for _, asks in per_clause]
        tried = {t for terms, asks in per_clause if not asks for t in terms if leads_if([t])}
    n_lead = len({t for (terms, _), lead in zip(per_clause, leads, strict=True) if lead for t in terms})
    n_story = sum(len(terms) for (terms, _), lead in zip(per_clause, leads, strict=True) if not lead)
    if any(leads) and n_story > LONG_STORY_TERMS:
        # a story many times longer than its question says less, term for term, than a short one
        story *= max(MIN_STORY_SHARE, min(1.0, STORY_RATIO * n_lead / n_story))
    weights: dict[str, float] = {}
    asked: set[str] = set()
    for (terms, asks), lead in zip(per_clause, leads, strict=True):
        factor = 1.0 if lead or not any(leads) else story
        for t in terms:
            if some_ask and not asks and (t[1:] in asking or t in tried):
                continue  # "how often" in "I train twice a week" is the person's routine, not a question
            weights[t] = max(weights.get(t, 0.0), factor)
        if lead:
            asked.update(t[1:] for t in terms if t.startswith("@"))
    return weights, frozenset(asked)
