"""Find the entry that answers what a person typed, or abstain.

Plain fuzzy ratios against the article do badly on real messages, so the matcher works in steps:
normalise -> correct typos against the knowledge base's own words -> map phrases to a few dozen concepts
-> gate ("is this about the leg press and the lower back at all?") -> rank entries by a rarity-weighted
cosine -> band (confident / unsure / none) with a margin rule that lets related entries agree.
Everything is built once from the KnowledgeBase; `match` is pure and synchronous.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.content.model import Entry, KnowledgeBase
from bot.core.gate import Gate
from bot.core.reading import STOPWORDS, clauses, contains, map_phrases, weigh
from bot.text import DeletionIndex, everyday_words, root, stem, tokens

Band = Literal["confident", "unsure", "none"]

WORD_WEIGHT_CAP = 1.2  # words outside the concept map never outweigh a concept
CONCEPT_BOOST = 2.0
MAX_UNSPECIFIC_TERMS = 12  # more known terms, none specific: a story, not a plain complaint
SPECIFIC_IDF = 1.5  # a concept rarer than this (not leg press, back, pain, why) makes a clause specific
MAX_ALTERNATIVES = 3
POSTINGS_LIMIT = 500  # candidates a single term may contribute (only bites on very large knowledge bases)
CANDIDATE_TERMS = 16  # the most informative query terms propose candidates; all terms score them
RERANK = 60  # candidates scored exactly
DOC_SCAN_LIMIT = 2_500  # question postings walked per message before scoring the shortlist one by one
MAX_QUERY_TERMS = 40  # a rambling message ranks by its most informative terms
KIND_HINT_BONUS = 1.1  # an entry of the kind the question asks for
DOC_SHARE = 0.5  # score = this share from the closest single question, the rest from the entry as a whole


def idf(n_entries: int, df: int) -> float:
    """Rarity of a term across entries: near zero for words every entry uses (leg press, back)."""
    return math.log((n_entries + 1) / df)


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    """Sparse dot product, walking the smaller vector (a question has a handful of terms)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[t] for t, v in a.items() if t in b)


# ------------------------------------------------------------------------------------------------ types
@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Match:
    band: Band
    entry: Entry | None  # the best candidate (also for "unsure"); None when nothing fits
    score: float  # 0-100
    alternatives: tuple[Candidate, ...]  # runner-ups, best first
    reason: str = ""  # why it abstained, for logs and the maintainer's report
    partial: bool = False  # off topic, but near what the bot knows: `alternatives` are the nearest answers
    off_topic: bool = False  # the topic gate said the message is about something else

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
        self._gate = Gate.from_config(cfg)
        # a phrase that contains the name of the machine also names it ("can I still leg press", "stop doing
        # leg press"): the anchors that can vouch for a message, inside the phrases of on-topic concepts
        off_topic_concepts = self._gate.markers
        vouching = self._gate.vouching
        inner = [k for k, c in self._phrases.items() if c in vouching]
        inner_words = {w for k in inner for w in k}
        self._named_inside: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, concept in self._phrases.items():
            if len(key) > 1 and concept not in off_topic_concepts and inner_words.intersection(key):
                named = {self._phrases[k] for k in inner if contains(key, k)} - {concept}
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
        self._known = frozenset(kb_words) | everyday_words() | cfg.keep_words | STOPWORDS
        self._correct = lru_cache(maxsize=20000)(self._correct_uncached)
        self._kb_words = frozenset(kb_words)
        self._root_index: dict[str, str] | None = None  # built at the first unknown word (see `_forms`)

        # index: every question (and title, keywords) of an entry is a document; entries are also scored
        # as a whole (their centroid), which generalises beyond the exact phrasings
        docs: list[tuple[int, frozenset[str]]] = []
        for i, e in enumerate(kb.entries):
            keywords = frozenset(
                t for k in e.keywords for t in self._terms_of(k)
            )  # one at a time: no phrases
            for terms in (*(frozenset(self._terms_of(q)) for q in (*e.questions, e.title)), keywords):
                if terms:
                    docs.append((i, terms))
        entry_counts: list[dict[str, float]] = [defaultdict(float) for _ in kb.entries]
        for i, terms in docs:
            for t in terms:
                entry_counts[i][t] += 1.0
        entry_df: dict[str, int] = defaultdict(int)
        for counts in entry_counts:
            for t in counts:
                entry_df[t] += 1
        n = max(1, len(kb.entries))
        self._idf = {t: idf(n, df) for t, df in entry_df.items()}

        self._doc_vecs: list[dict[str, float]] = []
        self._doc_norm: list[float] = []
        self._entry_docs: list[list[int]] = [[] for _ in kb.entries]
        self._doc_entry: list[int] = []
        doc_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for d, (i, terms) in enumerate(docs):
            vec = {t: self._weight(t) for t in terms}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            self._doc_vecs.append(vec)
            self._doc_norm.append(norm)
            self._entry_docs[i].append(d)
            self._doc_entry.append(i)
            for t, v in vec.items():
                doc_postings[t].append((d, v / norm))
        self._doc_postings = dict(doc_postings)
        self._entry_vecs: list[dict[str, float]] = []
        self._entry_norm: list[float] = []
        postings: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for i, counts in enumerate(entry_counts):
            total = sum(counts.values()) or 1.0
            vec = {t: self._weight(t) * math.sqrt(c / total) for t, c in counts.items()}
            self._entry_vecs.append(vec)
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            self._entry_norm.append(norm)
            for t, v in vec.items():
                postings[t].append((v / norm, i))
        # highest impact first, so that candidate generation can stop early on very common terms
        self._postings = {
            t: [(i, w) for w, i in sorted(p, reverse=True)[:POSTINGS_LIMIT]] for t, p in postings.items()
        }
        self._related = {e.id: frozenset(e.related) for e in kb.entries}
        self._general = self._general_entry(docs)

    def _general_entry(self, docs: Sequence[tuple[int, frozenset[str]]]) -> int | None:
        """The entry that answers on-topic messages naming nothing specific ("leg presses kill my lower
        back"): the one with the most questions of its own that name nothing specific either."""
        unspecific: dict[int, int] = defaultdict(int)
        for i, terms in docs:
            if terms and not any(self._idf.get(t, 0.0) >= SPECIFIC_IDF for t in terms):
                unspecific[i] += 1
        return max(unspecific, key=lambda i: (unspecific[i], -i)) if unspecific else None

    # ----------------------------------------------------------------------------------- term handling
    def _weight(self, term: str) -> float:
        idf = self._idf.get(term, 0.0)
        if term.startswith("@"):
            return CONCEPT_BOOST * idf
        return min(idf, WORD_WEIGHT_CAP)

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

    def _concepts_and_words(self, words: Sequence[str], asks: bool = True) -> list[str]:
        """Longest-phrase-first mapping of words to '@concept' terms; other words stay, stemmed. Only a
        clause that does not ask can say that something is fine ("is my back ok?" asks about the back)."""
        markers = frozenset() if asks else self._gate.markers
        return map_phrases(words, self._by_first, self._phrases, self._named_inside, markers)

    def _words(self, text: str) -> list[str]:
        return [self._correct(w) for w in tokens(text)]

    def _terms_of(self, text: str) -> list[str]:
        return self._concepts_and_words(tokens(text))

    def analyse(self, text: str) -> Analysis:
        found = clauses(text, self._question_words)
        per_clause = [(self._concepts_and_words(self._words(s), asks), asks) for s, asks in found]
        weights, asked = weigh(per_clause, self._leads, frozenset(self.cfg.kind_hints))
        concepts = frozenset(t[1:] for t in weights if t.startswith("@"))
        strangers = sum(1 for t in weights if not t.startswith("@") and t not in self._vocab)
        question = frozenset(t for terms, asks in per_clause if asks and self._leads(terms) for t in terms)
        story = len(found) > 1 and not any(asks for _, asks in found)
        question = question if question != weights.keys() else frozenset()
        asks = any(asks for _, asks in found)
        return Analysis(weights, concepts, asked, strangers, question, story, asks)

    def _leads(self, terms: Sequence[str]) -> bool:
        """An asking clause leads when it names something specific, the kind of answer it wants ("what
        should I change?" wants a fix, whatever the story before it says), or what a short follow-up can be
        about (form, alternatives: "how do I do it right?"); "is that why?" points back to the story."""
        named = {t[1:] for t in terms if t.startswith("@")}
        return self._specific(terms) or bool(named & (self.cfg.kind_hints.keys() | self.cfg.weak_subjects))

    def _specific(self, terms: Iterable[str]) -> bool:
        return any(t.startswith("@") and self._idf.get(t, 0.0) >= SPECIFIC_IDF for t in terms)

    def gate(self, concepts: frozenset[str], strangers: int = 0) -> str | None:
        """None when the message is on topic, else the reason it is not (bot/core/gate.py)."""
        return self._gate.reason(concepts, strangers)

    # ---------------------------------------------------------------------------------------- ranking
    def rank(self, analysis: Analysis) -> list[Candidate]:
        """Candidates from each term's highest-impact entries, then an exact score for the best of them.

        With a knowledge base of a few hundred entries every entry is a candidate and the score is exact;
        with tens of thousands, common terms stop contributing candidates after POSTINGS_LIMIT entries."""
        qvec = {t: self._weight(t) * w for t, w in analysis.terms.items() if t in self._idf}
        if len(qvec) > MAX_QUERY_TERMS:
            qvec = dict(sorted(qvec.items(), key=lambda kv: -kv[1])[:MAX_QUERY_TERMS])
        qnorm = math.sqrt(sum(v * v for v in qvec.values()))
        if not qnorm:
            return []
        rough: dict[int, float] = defaultdict(float)
        for t, qv in heapq.nlargest(CANDIDATE_TERMS, qvec.items(), key=lambda kv: kv[1]):
            for i, w in self._postings.get(t, ()):
                rough[i] += qv * w
        shortlist = heapq.nlargest(RERANK, rough, key=rough.__getitem__)
        wanted = self._wanted_kinds(analysis)
        closest = self._closest_questions(qvec, shortlist)
        scored = []
        for i in shortlist:
            entry = self.kb.entries[i]
            bonus = KIND_HINT_BONUS if entry.kind in wanted else 1.0
            score = self._exact_score(i, qvec, qnorm, closest[i])
            scored.append(Candidate(entry, min(100.0, round(bonus * score, 2))))
        scored.sort(key=lambda c: (-c.score, c.entry.id))
        return scored

    def _wanted_kinds(self, analysis: Analysis) -> frozenset[str]:
        """Kinds the question asks for ("what should I do" -> fixes), from the asking clause if it leads."""
        concepts = analysis.asked or analysis.concepts
        hints = self.cfg.kind_hints
        return frozenset(k for c in concepts if c in hints for k in hints[c])

    def _closest_questions(self, qvec: dict[str, float], shortlist: Sequence[int]) -> dict[int, float]:
        """For each shortlisted entry, the dot product of the message with its closest question (questions
        pre-normalised). Walking the query terms' postings touches only questions that share a word with
        the message; a knowledge base so large that this is more work than scoring the shortlist's own
        questions is scored that way instead."""
        closest = dict.fromkeys(shortlist, 0.0)
        postings = [self._doc_postings.get(t, ()) for t in qvec]
        if sum(len(p) for p in postings) > DOC_SCAN_LIMIT:
            for i in shortlist:
                for d in self._entry_docs[i]:
                    closest[i] = max(closest[i], _dot(qvec, self._doc_vecs[d]) / self._doc_norm[d])
            return closest
        dots: dict[int, float] = defaultdict(float)
        for qv, posting in zip(qvec.values(), postings, strict=True):
            for d, w in posting:
                dots[d] += qv * w
        doc_entry = self._doc_entry
        for d, dot in dots.items():
            i = doc_entry[d]
            if i in closest and dot > closest[i]:
                closest[i] = dot
        return closest

    def _exact_score(self, i: int, qvec: dict[str, float], qnorm: float, closest_dot: float) -> float:
        """0-100: a blend of the closest single question and the entry as a whole (cosines)."""
        centroid = _dot(qvec, self._entry_vecs[i]) / (qnorm * self._entry_norm[i])
        best_doc = closest_dot / qnorm
        return round(min(100.0, 100.0 * (DOC_SHARE * best_doc + (1 - DOC_SHARE) * centroid)), 2)

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
        top, rest = ranked[0], tuple(ranked[1 : 1 + MAX_ALTERNATIVES])
        cfg = self.cfg
        if top.score < cfg.unsure and self._unspecific(analysis) and self._general is not None:
            general = self.kb.entries[self._general]
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
        known = [t for t in analysis.terms if t in self._idf]
        if len(known) > MAX_UNSPECIFIC_TERMS or analysis.concepts & self._gate.elsewhere:
            return False
        return len(analysis.concepts & self.cfg.anchors) >= 2 and not self._specific(known)

    def _off_topic(self, analysis: Analysis, reason: str) -> Match:
        """Abstain; when the message is near what the bot knows (the back, a belt), the nearest answers
        come along so that the reply can say honestly what the bot does know."""
        if not analysis.concepts & self._gate.near_topic:
            return Match("none", None, 0.0, (), reason, off_topic=True)
        near = [c for c in self.rank(analysis) if c.score >= self.cfg.unsure / 2][:MAX_ALTERNATIVES]
        return Match("none", None, 0.0, tuple(near), reason, partial=bool(near), off_topic=True)

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
        if not analysis.concepts and not any(t in self._idf for t in analysis.terms):
            return []
        return [c for c in self.rank(analysis) if c.score >= self.cfg.unsure / 2][:limit]
