"""Reading a message for the question it asks: clauses, which of them ask, and how much each one weighs.

People tell a story first and ask last ("leg day yesterday, same as always, ... is that why my back hurts?").
The story often names the condition, the question what the person wants, so both count, but a long story
must not drown a short question. Pure functions over the matcher's terms; the matcher decides what a term is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.text import split_sentences, stem

MAX_QUERY_CHARS = 6000  # longer messages keep their head and tail: the question is usually in one of them
OTHER_SENTENCE_WEIGHT = 0.7  # sentences that tell a story, beside the one that asks
STORY_RATIO = 2.0  # a story with more than this many terms per term of the question weighs less...
MIN_STORY_SHARE = 0.3  # ...down to this share of OTHER_SENTENCE_WEIGHT
LONG_STORY_TERMS = 40  # a story of fewer words keeps its full weight: it often names the condition
# a concept right after one of these is denied, not named: "no radiating pain", "not serious"
NEGATORS = frozenset({"no", "not", "never", "without", "zero", "nothing"})
# ...and so is one a few of these words further on: "not because of pain", "without any pain", "not my back",
# "never on the leg press"
NEGATION_CARRIERS = frozenset("because of from any real the a my on in during at".split())
# ...and one listed after a denied one: "no numbness or tingling"
LIST_JOINERS = frozenset({"or", "nor"})
# a thing said to be fine is not what a message is about ("my hips feel fine", "knees are totally ok")
FINE = frozenset({"fine", "ok", "okay", "alright", "good", "great", "healthy", "perfect"})
# ...and so is the sport or job of a person ("ski instructor", "my climbing coach says"): who, not what about
PEOPLE = frozenset(
    """instructor instructors coach coaches teacher teachers trainer trainers player players club team
    teammate teammates buddy buddies partner""".split()
)
# ...and the machine said not to hurt, beside what does ("squats hurt but the leg press doesnt")
FINE_BESIDE = FINE | {"doesnt", "dont", "isnt", "never"}
SAID_FINE = "fine:"  # the term that marks a concept of `contrasts` said to be fine
# words that report what someone said or had done: "my physio says my core is weak" and "my physio put the
# leg press in my plan" tell what happened, they do not ask to see one
REPORTING = frozenset(
    """say says said saying reckon reckons reckoned think thinks thought told tell tells telling gave give
    gives put puts prescribed prescribes recommended recommends suggested suggests mentioned wants wanted
    cleared calls called""".split()
)
_LINKING = frozenset(
    """is are was were feel feels felt feeling seem seems seemed look looks be been have has totally
    completely perfectly absolutely pretty really all both still actually honestly always so very super
    quite kinda crazy insanely extremely incredibly gets getting got get""".split()
)

# words that say something was tried ("already tried lighter weight"), as the matcher's terms
TRIED = frozenset({"tried", "try", "trying", "already"})
# ...but "anything else I'm missing?" after a list asks to complete it, not for something other than it
COMPLETING = frozenset({"missing", "miss", "forgetting", "forget", "forgot", "overlooking", "overlook"})

# "down my left leg" is "down my leg": which side says nothing about what it is, and phrases name no side
SIDES = frozenset({"left", "right"})
SIDED = frozenset(
    """leg legs foot feet thigh thighs calf calves hip hips knee knees hamstring hamstrings glute glutes
    buttock buttocks butt cheek side lower low shoulder ankle toe toes""".split()
)

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


def without_sides(words: Sequence[str]) -> list[str]:
    """The words without a side ("left", "right") that comes right before a part of the body."""
    following = [*words[1:], ""] if words else []
    return [w for w, nxt in zip(words, following, strict=True) if not (w in SIDES and nxt in SIDED)]


Phrase = tuple[str, ...]

# words that stress or soften and change nothing inside a phrase: "my butt still lifts" is "butt lifts",
# "when should i actually worry" is "when should i worry"
FILLERS = frozenset(
    """still really actually totally kinda sorta literally basically always also just even sometimes all
    usually""".split()
)


def span(words: Sequence[str], i: int, phrase: Phrase, loose: bool = True) -> int:
    """How many words from `i` on say `phrase`, fillers inside it left out (when `loose`); 0 when they do
    not say it."""
    n = len(phrase)
    if tuple(words[i : i + n]) == phrase:
        return n
    if not loose or n == 1 or words[i] != phrase[0]:
        return 0
    k, j = 1, i + 1
    while k < n and j < len(words):
        if words[j] == phrase[k]:
            k += 1
        elif words[j] not in FILLERS:
            return 0
        j += 1
    return j - i if k == n else 0


def contains(phrase: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether `part` occurs in `phrase` as a run of whole words."""
    n = len(part)
    return any(phrase[i : i + n] == part for i in range(len(phrase) - n + 1))


def said_fine(words: Sequence[str], after: int, fine: frozenset[str] = FINE) -> bool:
    """Whether the words from `after` on say that what came just before them is fine."""
    for w in words[after : after + 4]:
        if w in fine:
            return True
        if w not in _LINKING:
            return False
    return False


def map_phrases(
    words: Sequence[str],
    by_first: Mapping[str, Sequence[tuple[Phrase, str]]],
    phrases: Mapping[Phrase, str],
    named_inside: Mapping[Phrase, Sequence[str]],
    markers: frozenset[str],
    practices: frozenset[str] = frozenset(),
    contrasts: frozenset[str] = frozenset(),
    on_topic: frozenset[str] = frozenset(),
) -> list[str]:
    """Words as '@concept' terms, longest phrase first (`by_first`: phrases by their first word, longest
    first); other words stay, stemmed. A concept right after a negator is denied ("no radiating pain"),
    unless it is one of `practices` ("never stretch" names the stretching that is missing); one of
    `markers` said to be fine, or naming someone's sport or job, is dropped ("my knees are fine", "ski
    instructor"); and a word describing what came just before it reads as the phrase of the two, either
    way round ("my back feels tight" is "tight back", "my quads are really sore" is "quads sore"), but two
    phrases that are each about the article (`on_topic`) are never read together as something else ("feet
    flat" is not "flat feet", a condition of the foot). One of
    `contrasts` said to be fine is named and marked so (SAID_FINE): whether that matters depends on the
    rest of the message."""
    words = without_sides(words)
    out: list[str] = []
    i = 0
    before: Phrase = ()  # the phrase just read, its concept, and where it ended
    before_concept = ""
    ended = -1
    denying = False  # a negator came, and only words that carry it since
    denied = False  # the phrase just read was denied
    while i < len(words):
        loose = not FILLERS.isdisjoint(words[i + 1 : i + 8])  # a filler could sit inside a phrase here
        for key, concept in by_first.get(words[i], ()):
            if size := span(words, i, key, loose):
                if before and all(w in _LINKING for w in words[ended:i]):
                    joined = phrases.get((*key, before[-1])) or phrases.get((before[-1], *key), concept)
                    apart = concept in on_topic and before_concept in on_topic and joined not in on_topic
                    concept = concept if apart else joined
                who = i + size < len(words) and words[i + size] in PEOPLE
                fine = concept in markers and (who or said_fine(words, i + size))
                if (not denying or concept in practices) and not fine:
                    out.append("@" + concept)
                    out.extend("@" + c for c in named_inside.get(key, ()))
                    if concept in contrasts and said_fine(words, i + size, FINE_BESIDE):
                        out.append(SAID_FINE + concept)
                denied = denying
                denying = denying and all(w in NEGATION_CARRIERS for w in key)
                i += size
                before, before_concept, ended = key, concept, i
                break
        else:
            w = words[i]
            if w not in STOPWORDS and not w.isdigit():
                out.append(stem(w))
            denying = w in NEGATORS or (denying and w in NEGATION_CARRIERS) or (denied and w in LIST_JOINERS)
            denied = denied and w in LIST_JOINERS
            i += 1
    return out


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
        # ...and so does a last clause that starts like a question: the last mark is the one people drop
        last = len(found) - 1
        return [(s, s.endswith("?") or (i == last and asks)) for i, (s, asks) in enumerate(found)]
    return found


def weigh(
    per_clause: Sequence[tuple[Sequence[str], bool]],
    leads_if: Callable[[Sequence[str]], bool],
    asking: frozenset[str] = frozenset(),
    other: frozenset[str] = frozenset(),
    conditions: frozenset[str] = frozenset(),
) -> tuple[dict[str, float], frozenset[str]]:
    """Each term's weight (its heaviest clause) and the concepts of the clauses that lead.

    A clause that asks leads when `leads_if` says its terms are enough to go on; "is that why?" points back
    to the story instead, and then every clause counts in full. `asking` concepts (what a question asks
    for: how often, what to do) count only in a clause that asks, when some clause does. `other` concepts
    mean "something else" themselves: a story that names one ("the leg press is out for me") says what
    "what else?" asks for, not what was tried. `conditions` count in full wherever they are named: "I have
    a slipped disc" is what the question after it is about."""
    leads = [asks and leads_if(terms) for terms, asks in per_clause]
    # some clauses ask and some do not: only then does a clause's asking say anything about its terms
    some_ask = any(asks for _, asks in per_clause) and not all(asks for _, asks in per_clause)
    story = OTHER_SENTENCE_WEIGHT
    tried: set[str] = set()
    if some_ask and any(
        asks and "else" in terms and COMPLETING.isdisjoint(terms) for terms, asks in per_clause
    ):
        # "what else?": what the story names (stretching, planks) was tried and did not help; the question
        # asks for something other than that
        leads = [asks for _, asks in per_clause]
        told = [terms for terms, asks in per_clause if not asks]
        # ...in the clauses that say they tried it, when some do: "my butt still lifts" is what still happens
        told = [terms for terms in told if not TRIED.isdisjoint(terms)] or told
        tried = {t for terms in told for t in terms if leads_if([t]) and t[1:] not in other}
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
            weights[t] = max(weights.get(t, 0.0), 1.0 if t[1:] in conditions else factor)
        if lead:
            asked.update(t[1:] for t in terms if t.startswith("@"))
    return weights, frozenset(asked)
