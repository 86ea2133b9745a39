"""Find the entry that answers what a person typed, or abstain.

Plain fuzzy ratios against the article do badly on real messages, so the matcher works in steps:
normalise -> correct typos against the knowledge base's own words -> map phrases to a few dozen concepts
-> gate ("is this about the leg press and the lower back at all?") -> rank entries by a rarity-weighted
cosine (bot/core/ranking.py) -> band (confident / unsure / none) with a margin rule that lets related
entries agree.
Everything is built once from the KnowledgeBase; `match` is pure and synchronous.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.content.model import Entry, KnowledgeBase
from bot.core.gate import LONG_STORY, NO_SUBJECT, Gate
from bot.core.ranking import Candidate, Document, Index
from bot.core.reading import REPORTING, SAID_FINE, STOPWORDS, clauses, contains, map_phrases, weigh
from bot.text import DeletionIndex, base_forms, everyday_words, proper_names, root, stem, tokens

Band = Literal["confident", "unsure", "none"]

MAX_UNSPECIFIC_TERMS = 12  # more known terms, none specific: a story, not a plain complaint
MAX_ALTERNATIVES = 3
KIND_HINT_BONUS = 1.1  # an entry of the kind the question asks for


# ------------------------------------------------------------------------------------------------ types
@dataclass(frozen=True)
class Match:
    band: Band
    entry: Entry | None  # the best candidate (also for "unsure"); None when nothing fits
    score: float  # 0-100
    alternatives: tuple[Candidate, ...]  # runner-ups, best first
    reason: str = ""  # why it abstained, for logs and the maintainer's report
    partial: bool = False  # off topic, but near what the bot knows: `alternatives` are the nearest answers
    off_topic: bool = False  # the topic gate said the message is about something else (not: names nothing)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        first = (Candidate(self.entry, self.score),) if self.entry else ()
        return first + self.alternatives


@dataclass(frozen=True)
class Analysis:
    """A message as the matcher sees it: weighted terms and the concepts it mentions."""

    terms: dict[str, float]
    concepts: frozenset[str]
    asked: frozenset[str] = frozenset()  # concepts of the clauses that ask, when they lead
    strangers: int = 0  # content words the knowledge base has never seen
    question: frozenset[str] = frozenset()  # terms of the clauses that ask and lead, beside a story
    story: bool = False  # a story of several clauses, none of which asks
    asks: bool = False  # some clause asks something, whether or not it leads


# ---------------------------------------------------------------------------------------------- matcher
class Matcher:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        cfg = kb.matching
        self.cfg = cfg
        # phrase -> concept, longest first
        self._phrases: dict[tuple[str, ...], str] = {}
        for concept, phrases in cfg.concepts.items():
            for phrase in phrases:
                key = tuple(tokens(phrase))
                if key:
                    self._phrases.setdefault(key, concept)
        # phrases by their first word, longest first: mapping tries only the phrases that can start here
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for key, concept in sorted(self._phrases.items(), key=lambda kv: -len(kv[0])):
            self._by_first[key[0]].append((key, concept))
        self._question_words = cfg.question_words
        # the concepts that "else" is part of ("something else", "what else works legs"): asking for another
        self._other = frozenset(c for k, c in self._phrases.items() if "else" in k)
        self._gate = Gate.from_config(cfg)
        # a phrase that contains the name of the machine also names it ("can I still leg press", "stop doing
        # leg press"): the anchors that can vouch for a message, inside the phrases of on-topic concepts
        off_topic_concepts = self._gate.markers
        vouching = self._gate.vouching
        inner = [k for k, c in self._phrases.items() if c in vouching]
        inner_words = {w for k in inner for w in k}
        self._named_inside: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, concept in self._phrases.items():
            if len(key) > 1 and inner_words.intersection(key):
                # an off-topic phrase names the machine only when it ends in the machine's full name: a
                # "single leg press" is a leg press, a "sled push" is not
                named = {
                    self._phrases[k]
                    for k in inner
                    if contains(key, k)
                    and (concept not in off_topic_concepts or (len(k) > 1 and key[-len(k) :] == k))
                } - {concept}
                if named:
                    self._named_inside[key] = tuple(sorted(named))

        # the knowledge base's own vocabulary: typo corrections only ever land on these words
        entry_words = {
            w for e in kb.entries for text in (*e.questions, e.title, *e.keywords) for w in tokens(text)
        }
        # a typo is never "corrected" into a word that only marks a message as off topic ("lingers" is not
        # "lunges"): such a correction would silence a real question
        off_topic = {c for rule in cfg.off_topic for c in rule.concepts}
        marker_words = {w for k, c in self._phrases.items() if c in off_topic for w in k}
        useful = entry_words | {w for k, c in self._phrases.items() if c not in off_topic for w in k}
        kb_words = useful | marker_words
        targets = useful
        self._typo_targets = tuple(sorted(w for w in targets if len(w) >= 3 and w.isalpha()))
        self._typo_index: DeletionIndex | None = None  # built at the first unknown word (see `_typos`)
        # the bot's own chat words ("thx", "hi") are no strangers: "thx. and how do I keep my back flat?"
        talk = kb.small_talk.topics if kb.small_talk else ()
        chat_words = {w for topic in talk for phrase in topic.phrases for w in tokens(phrase)}
        self._vocab = frozenset(stem(w) for w in kb_words | chat_words) | kb_words | chat_words
        self._kb_words = frozenset(kb_words)
        self._everyday = everyday_words() | cfg.keep_words | STOPWORDS
        self._known = self._kb_words | self._everyday
        self._correct = lru_cache(maxsize=20000)(self._correct_uncached)
        self._root_index: dict[str, str] | None = None  # built at the first unknown word (see `_forms`)

        # every question (and title, keywords) of an entry is a document of the index
        docs: list[Document] = []
        for i, e in enumerate(kb.entries):
            keywords = frozenset(
                t for k in e.keywords for t in self._terms_of(k)
            )  # one at a time: no phrases
            for terms in (*(frozenset(self._terms_of(q)) for q in (*e.questions, e.title)), keywords):
                if terms:
                    docs.append((i, terms))
        self._index = Index(kb.entries, docs)
        self._related = {e.id: frozenset(e.related) for e in kb.entries}

    # ----------------------------------------------------------------------------------- term handling
    @property
    def _typos(self) -> DeletionIndex:
        """Built when a message first has a word the bot does not know: a one-off `ask` seldom does, and
        building it is a third of the matcher's start-up."""
        if self._typo_index is None:
            self._typo_index = DeletionIndex(self._typo_targets)
        return self._typo_index

    @property
    def _forms(self) -> dict[str, str]:
        """Root -> the shortest knowledge-base word with that root: another form of a word the knowledge
        base knows ("twinging" for "twinge") is that word, not a typo of whichever word happens to be one
        edit away ("tingling"). Built, like the typo index, at the first unknown word."""
        if self._root_index is None:
            self._root_index = {}
            for w in sorted(self._kb_words, key=lambda w: (len(w), w)):
                if w.isalpha():
                    self._root_index.setdefault(root(w), w)
        return self._root_index

    def _correct_uncached(self, word: str) -> str:
        """The closest knowledge-base word within 1 edit (2 for long words); ties go to the most similar."""
        if word in self._known or len(word) < 3 or not word.isalpha():
            return word
        if (same := self._forms.get(root(word))) is not None:
            return same
        if any(base in self._everyday for base in base_forms(word)):
            return word  # another form of an everyday word: "flipped" is not a typo of "slipped"
        from rapidfuzz import fuzz, process  # loaded with the typo index: at the first unknown word
        from rapidfuzz.distance import OSA

        max_edits = 1 if len(word) < 7 else 2
        candidates = self._typos.candidates(word, max_edits)
        if not candidates:
            return word
        found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=max_edits, limit=None)
        if not found:
            return word
        fewest = min(d for _, d, _ in found)
        best = max((w for w, d, _ in found if d == fewest), key=lambda w: (fuzz.ratio(word, w), w))
        return str(best)

    def _concepts_and_words(
        self, words: Sequence[str], asks: bool = True, contrasts: frozenset[str] = frozenset()
    ) -> list[str]:
        """Longest-phrase-first mapping of words to '@concept' terms; other words stay, stemmed. Only a
        clause that does not ask can say that something is fine ("is my back ok?" asks about the back)."""
        markers = frozenset() if asks else self._gate.markers
        practices = self.cfg.practices
        return map_phrases(
            words,
            self._by_first,
            self._phrases,
            self._named_inside,
            markers,
            practices,
            contrasts,
            self._gate.near_topic,
        )

    def _words(self, text: str) -> list[str]:
        named = proper_names(text)
        return [
            part for w in tokens(text) for part in ((w,) if w in named else self._split(self._correct(w)))
        ]

    def _split(self, word: str) -> tuple[str, ...]:
        """A word the bot does not know that is two it does, run together ("backache", "footplacement"),
        is read as those two; at least one of them is the knowledge base's own."""
        if word in self._known or len(word) < 8 or not word.isalpha():
            return (word,)
        for i in range(4, len(word) - 3):
            first, second = word[:i], word[i:]
            if {first, second} <= self._known and (first in self._kb_words or second in self._kb_words):
                return first, second
        return (word,)

    def _terms_of(self, text: str) -> list[str]:
        return self._concepts_and_words(tokens(text))

    def analyse(self, text: str) -> Analysis:
        found = clauses(text, self._question_words)
        vouching = self._gate.vouching
        read = [(self._words(s), asks) for s, asks in found]
        per_clause = [(self._concepts_and_words(words, asks, vouching), asks) for words, asks in read]
        per_clause = self._without_contrasts(per_clause)
        per_clause = self._without_reported(per_clause, [not REPORTING.isdisjoint(w) for w, _ in read])
        weights, asked = weigh(
            per_clause, self._leads, frozenset(self.cfg.kind_hints), self._other, self.cfg.conditions
        )
        concepts = frozenset(t[1:] for t in weights if t.startswith("@"))
        strangers = sum(1 for t in weights if not t.startswith("@") and t not in self._vocab)
        question = frozenset(t for terms, asks in per_clause if asks and self._leads(terms) for t in terms)
        story = len(found) > 1 and not any(asks for _, asks in found)
        question = question if question != weights.keys() else frozenset()
        asks = any(asks for _, asks in found)
        return Analysis(weights, concepts, asked, strangers, question, story, asks)

    def _without_contrasts(self, per_clause: list[tuple[list[str], bool]]) -> list[tuple[list[str], bool]]:
        """The clauses without the machine where it is said not to hurt beside a clause about something
        else that does ("squats hurt my back but the leg press is fine"): the message is about that."""
        if not any(t.startswith(SAID_FINE) for terms, _ in per_clause for t in terms):
            return per_clause  # nearly every message: nothing said to be fine
        other_things = self._gate.markers - self.cfg.anchors
        named = [{t[1:] for t in terms if t.startswith("@")} for terms, _ in per_clause]
        out = []
        for i, (terms, asks) in enumerate(per_clause):
            fine = {t[len(SAID_FINE) :] for t in terms if t.startswith(SAID_FINE)}
            beside = [*named[max(0, i - 1) : i], *named[i : i + 2]]
            dropped = {
                "@" + c
                for c in fine
                if any(
                    other & other_things and other & self.cfg.pairs.get(c, frozenset()) for other in beside
                )
            }
            out.append(([t for t in terms if t not in dropped and not t.startswith(SAID_FINE)], asks))
        return out

    def _without_reported(
        self, per_clause: list[tuple[list[str], bool]], reports: list[bool]
    ) -> list[tuple[list[str], bool]]:
        """The story without what it reports a professional said, beside a question that asks something
        else ("my physio says my abs are weak. is that why the leg press hurts?" asks about the abs)."""
        cfg = self.cfg
        if not cfg.reported or not any(asks for _, asks in per_clause):
            return per_clause
        told = {"@" + c for c in cfg.reported}
        keep = {"@" + c for c in cfg.reported_unless}
        return [
            (
                [t for t in terms if t not in told]
                if said and not asks and keep.isdisjoint(terms)
                else terms,
                asks,
            )
            for (terms, asks), said in zip(per_clause, reports, strict=True)
        ]

    def _leads(self, terms: Sequence[str]) -> bool:
        """An asking clause leads when it names something specific, the kind of answer it wants ("what
        should I change?" wants a fix, whatever the story before it says), or what a short follow-up can be
        about (form, alternatives: "how do I do it right?"); "is that why?" points back to the story."""
        named = {t[1:] for t in terms if t.startswith("@")}
        return self._specific(terms) or bool(named & (self.cfg.kind_hints.keys() | self.cfg.weak_subjects))

    def _specific(self, terms: Iterable[str]) -> bool:
        return self._index.specific(terms)

    def elsewhere(self, text: str) -> bool:
        """Whether a message names something an off-topic rule places elsewhere (a knee, deadlifts,
        protein), whatever it says of the back and the machine."""
        return self._gate.rule_against(self.analyse(text).concepts - self.cfg.anchors) is not None

    def gate(self, concepts: frozenset[str], strangers: int = 0) -> str | None:
        """None when the message is on topic, else the reason it is not (bot/core/gate.py)."""
        return self._gate.reason(concepts, strangers)

    # ---------------------------------------------------------------------------------------- ranking
    def rank(self, analysis: Analysis) -> list[Candidate]:
        """Entries by score for the message's terms, of the kind its question asks for first."""
        return self._index.rank(analysis.terms, self._wanted_kinds(analysis), KIND_HINT_BONUS)

    def _wanted_kinds(self, analysis: Analysis) -> frozenset[str]:
        """Kinds the question asks for ("what should I do" -> fixes), from the asking clause if it leads."""
        concepts = analysis.asked or analysis.concepts
        hints = self.cfg.kind_hints
        return frozenset(k for c in concepts if c in hints for k in hints[c])

    def agree(self, a: Entry, b: Entry) -> bool:
        """Entries that give the same advice agree rather than compete: related ones, or ones that point
        to a common entry (why-back-hurts and improve-form both lead to incorrect-form)."""
        ra, rb = self._related[a.id], self._related[b.id]
        return a.id in rb or b.id in ra or bool(ra & rb)

    # ------------------------------------------------------------------------------------------ match
    def match(self, text: str, on_topic: bool = False) -> Match:
        """The best entry for `text`; with `on_topic` (a follow-up in a conversation about the leg press)
        the gate is skipped, but a message must still name something specific to be answered."""
        analysis = self.analyse(text)
        if on_topic and not self._specific(analysis.terms):
            return Match("none", None, 0.0, (), "nothing specific")
        reason = (
            None
            if on_topic
            else self._gate.judge(analysis.concepts, analysis.asked, analysis.strangers, analysis.asks)
        )
        if reason:
            return self._off_topic(analysis, reason)
        ranked = self.rank(analysis)
        if not ranked:
            return Match("none", None, 0.0, (), "no known words")
        if not on_topic and self._long_story_elsewhere(text, analysis, ranked[0].entry):
            return self._off_topic(analysis, LONG_STORY)
        top, rest = ranked[0], tuple(ranked[1 : 1 + MAX_ALTERNATIVES])
        cfg = self.cfg
        general = self._index.general
        if top.score < cfg.confident and self._unspecific(analysis) and general is not None:
            others = tuple(c for c in ranked if c.entry is not general)[:MAX_ALTERNATIVES]
            return Match("confident", general, max(top.score, cfg.confident), others)
        if top.score < cfg.unsure:
            return Match("none", None, top.score, tuple(ranked[:MAX_ALTERNATIVES]), "low score")
        near = [c for c in rest if top.score - c.score < cfg.margin]
        if any(not self.agree(top.entry, c.entry) for c in near):
            band: Band = "unsure"
        else:
            band = "confident" if top.score >= cfg.confident else "unsure"
            top, rest = self._tie_break(top, near, ranked, analysis.story)
        if band == "unsure" and (
            decided := self._decided_by_question(analysis, ranked[: 1 + MAX_ALTERNATIVES])
        ):
            return Match(
                "confident",
                decided.entry,
                decided.score,
                tuple(c for c in ranked if c is not decided)[:MAX_ALTERNATIVES],
            )
        return Match(band, top.entry, top.score, rest)

    def _decided_by_question(self, analysis: Analysis, best: Sequence[Candidate]) -> Candidate | None:
        """Among the best candidates for a story and its question that the whole cannot decide between,
        the one the question alone answers confidently: the story says who asks, the question what about."""
        if not analysis.question:
            return None
        concepts = frozenset(t[1:] for t in analysis.question if t.startswith("@"))
        alone = self.rank(Analysis(dict.fromkeys(analysis.question, 1.0), concepts, concepts))
        if not alone or alone[0].score < self.cfg.confident:
            return None
        near = [c for c in alone[1:] if alone[0].score - c.score < self.cfg.margin]
        if any(not self.agree(alone[0].entry, c.entry) for c in near):
            return None
        return next((c for c in best if c.entry is alone[0].entry), None)

    def _unspecific(self, analysis: Analysis) -> bool:
        """On topic through two anchors (the leg press and the back), nothing rarer named, and nothing that
        points elsewhere ("my knees are fine and my back is fine, how do I make it harder")."""
        known = [t for t in analysis.terms if self._index.knows(t)]
        if len(known) > MAX_UNSPECIFIC_TERMS or analysis.concepts & self._gate.elsewhere:
            return False
        return len(analysis.concepts & self.cfg.anchors) >= 2 and not self._specific(known)

    def _long_story_elsewhere(self, text: str, analysis: Analysis, best: Entry) -> bool:
        """A long story that never names the machine (nor a condition the article covers) and whose best
        answer is advice about the leg press itself ("should I see someone?" after a run): that is the
        story's own activity's question (faq.yaml `long_story`)."""
        story = self.cfg.long_story
        return (
            story is not None
            and best.id in story.entries
            and not analysis.concepts & story.unless
            and len(tokens(text)) >= story.words
        )

    def _off_topic(self, analysis: Analysis, reason: str) -> Match:
        """Abstain; when the message is near what the bot knows (the back, a belt), the nearest answers
        come along so that the reply can say honestly what the bot does know."""
        elsewhere = reason != NO_SUBJECT
        if not analysis.concepts & self._gate.near_topic:
            return Match("none", None, 0.0, (), reason, off_topic=elsewhere)
        near = [c for c in self.rank(analysis) if c.score >= self.cfg.unsure / 2][:MAX_ALTERNATIVES]
        return Match("none", None, 0.0, tuple(near), reason, partial=bool(near), off_topic=elsewhere)

    def _tie_break(
        self, top: Candidate, near: list[Candidate], ranked: list[Candidate], story: bool = False
    ) -> tuple[Candidate, tuple[Candidate, ...]]:
        """Among near-equal candidates that agree, prefer the kind that says what to do; a story that asks
        nothing wants to know why first, so there the order is the other way round."""
        kinds = self.cfg.tie_break_kinds
        order = {k: i for i, k in enumerate(reversed(kinds) if story else kinds)}
        if not near or not order:
            return top, tuple(ranked[1 : 1 + MAX_ALTERNATIVES])
        best = min([top, *near], key=lambda c: order.get(c.entry.kind, len(order)))
        rest = tuple(c for c in ranked if c is not best)[:MAX_ALTERNATIVES]
        return best, rest

    def search(self, text: str, limit: int = 5) -> list[Candidate]:
        """Best entries for a short search (inline mode): ranked, gate applied only for noise."""
        analysis = self.analyse(text)
        if not analysis.concepts and not any(self._index.knows(t) for t in analysis.terms):
            return []
        return [c for c in self.rank(analysis) if c.score >= self.cfg.unsure / 2][:limit]
