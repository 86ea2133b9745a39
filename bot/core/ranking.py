"""Ranking entries for a message's terms: a rarity-weighted cosine against each entry's questions and against
the entry as a whole.

Every question (and title, keywords) of an entry is a document; an entry is also scored as the sum of its
documents (its centroid), which generalises beyond the exact phrasings. Built once from the knowledge base's
terms; scoring is pure. The matcher decides what a term is and what a score means.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.content.model import Entry

WORD_WEIGHT_CAP = 1.2  # words outside the concept map never outweigh a concept
CONCEPT_BOOST = 2.0
SPECIFIC_IDF = 1.5  # a concept rarer than this (not leg press, back, pain, why) makes a clause specific
POSTINGS_LIMIT = 500  # candidates a single term may contribute (only bites on very large knowledge bases)
CANDIDATE_TERMS = 16  # the most informative query terms propose candidates; all terms score them
RERANK = 60  # candidates scored exactly
DOC_SCAN_LIMIT = 2_500  # question postings walked per message before scoring the shortlist one by one
MAX_QUERY_TERMS = 40  # a rambling message ranks by its most informative terms
DOC_SHARE = 0.5  # score = this share from the closest single question, the rest from the entry as a whole

Document = tuple[int, frozenset[str]]  # (entry number, the terms of one question, title or keyword list)


def idf(n_entries: int, df: int) -> float:
    """Rarity of a term across entries: near zero for words every entry uses (leg press, back)."""
    return math.log((n_entries + 1) / df)


def _dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Sparse dot product, walking the smaller vector (a question has a handful of terms)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[t] for t, v in a.items() if t in b)


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float


class Index:
    """The entries' documents as weighted term vectors, with postings for finding candidates fast."""

    def __init__(self, entries: Sequence[Entry], docs: Sequence[Document]) -> None:
        self.entries = entries
        entry_counts: list[dict[str, float]] = [defaultdict(float) for _ in entries]
        for i, terms in docs:
            for t in terms:
                entry_counts[i][t] += 1.0
        entry_df: dict[str, int] = defaultdict(int)
        for counts in entry_counts:
            for t in counts:
                entry_df[t] += 1
        n = max(1, len(entries))
        self.idf = {t: idf(n, df) for t, df in entry_df.items()}

        self._doc_vecs: list[dict[str, float]] = []
        self._doc_norm: list[float] = []
        self._entry_docs: list[list[int]] = [[] for _ in entries]
        self._doc_entry: list[int] = []
        doc_postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for d, (i, terms) in enumerate(docs):
            vec = {t: self.weight(t) for t in terms}
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
            vec = {t: self.weight(t) * math.sqrt(c / total) for t, c in counts.items()}
            self._entry_vecs.append(vec)
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            self._entry_norm.append(norm)
            for t, v in vec.items():
                postings[t].append((v / norm, i))
        # highest impact first, so that candidate generation can stop early on very common terms
        self._postings = {
            t: [(i, w) for w, i in sorted(p, reverse=True)[:POSTINGS_LIMIT]] for t, p in postings.items()
        }
        self.general = self._general_entry(docs)

    def _general_entry(self, docs: Sequence[Document]) -> Entry | None:
        """The entry that answers on-topic messages naming nothing specific ("leg presses kill my lower
        back"): the one with the most questions of its own that name nothing specific either."""
        unspecific: dict[int, int] = defaultdict(int)
        for i, terms in docs:
            if terms and not any(self.idf.get(t, 0.0) >= SPECIFIC_IDF for t in terms):
                unspecific[i] += 1
        if not unspecific:
            return None
        return self.entries[max(unspecific, key=lambda i: (unspecific[i], -i))]

    def weight(self, term: str) -> float:
        """A term's weight: its rarity, boosted for concepts and capped for plain words."""
        rarity = self.idf.get(term, 0.0)
        if term.startswith("@"):
            return CONCEPT_BOOST * rarity
        return min(rarity, WORD_WEIGHT_CAP)

    def knows(self, term: str) -> bool:
        return term in self.idf

    def specific(self, terms: Iterable[str]) -> bool:
        """Whether the terms name a concept rarer than the anchors every entry shares."""
        return any(t.startswith("@") and self.idf.get(t, 0.0) >= SPECIFIC_IDF for t in terms)

    def rank(self, terms: Mapping[str, float], wanted: frozenset[str], bonus: float) -> list[Candidate]:
        """Candidates from each term's highest-impact entries, then an exact score for the best of them;
        entries of a `wanted` kind score `bonus` times more.

        With a knowledge base of a few hundred entries every entry is a candidate and the score is exact;
        with tens of thousands, common terms stop contributing candidates after POSTINGS_LIMIT entries."""
        qvec = {t: self.weight(t) * w for t, w in terms.items() if t in self.idf}
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
        closest = self._closest_questions(qvec, shortlist)
        scored = []
        for i in shortlist:
            entry = self.entries[i]
            factor = bonus if entry.kind in wanted else 1.0
            score = self._exact_score(i, qvec, qnorm, closest[i])
            scored.append(Candidate(entry, min(100.0, round(factor * score, 2))))
        scored.sort(key=lambda c: (-c.score, c.entry.id))
        return scored

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
