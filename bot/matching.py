"""Find the entry that answers what a person typed, or abstain.

Plain fuzzy ratios against the article do badly on real messages, so the matcher works in steps:
normalise -> correct typos against the knowledge base's own words -> map phrases to a few dozen concepts
-> gate ("is this about the leg press and the lower back at all?") -> rank entries by a rarity-weighted
cosine -> band (confident / unsure / none) with a margin rule that lets related entries agree.
Everything is built once from the KnowledgeBase; `match` is pure and synchronous.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge import Entry, KnowledgeBase

Band = Literal["confident", "unsure", "none"]

MAX_QUERY_CHARS = 6000  # longer messages keep their head and tail: the question is usually in one of them
WORD_WEIGHT_CAP = 1.2  # words outside the concept map never outweigh a concept
CONCEPT_BOOST = 2.0
OTHER_SENTENCE_WEIGHT = 0.5  # sentences that tell a story, beside the one that asks
MAX_ALTERNATIVES = 3

_STOPWORDS = frozenset(
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

_APOSTROPHES = str.maketrans({"’": "", "'": "", "`": "", "´": ""})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?\n;])\s*|\s*(?:\bbut\b|\bso\b)\s+")


# ----------------------------------------------------------------------------------------- text basics
def normalise(text: str) -> str:
    """Lowercase ASCII-ish words separated by single spaces: emoji, punctuation and accents removed."""
    text = unicodedata.normalize("NFKD", text).casefold().translate(_APOSTROPHES)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    return normalise(text).split()


def _stem(word: str) -> str:
    """A deliberately tiny stemmer: plurals only, so that "stretches" and "stretch" meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxh":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _clip_query(text: str) -> str:
    if len(text) <= MAX_QUERY_CHARS:
        return text
    head = MAX_QUERY_CHARS * 2 // 3
    return text[:head] + "\n" + text[-(MAX_QUERY_CHARS - head) :]


def split_sentences(text: str) -> list[tuple[str, bool]]:
    """(sentence, asks) pairs; a sentence asks when it ends with '?'."""
    out = []
    for part in re.split(r"(?<=[.!?\n;])", text):
        part = part.strip()
        if part:
            out.append((part, part.endswith("?")))
    return out


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    raw = resources.files("bot").joinpath("data/everyday.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in raw.splitlines() if w.strip() and not w.startswith("#"))


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

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        first = (Candidate(self.entry, self.score),) if self.entry else ()
        return first + self.alternatives


@dataclass(frozen=True)
class Analysis:
    """A message as the matcher sees it: weighted terms and the concepts it mentions."""

    terms: dict[str, float]
    concepts: frozenset[str]


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
        self._max_phrase = max((len(k) for k in self._phrases), default=1)
        self._question_words = cfg.question_words

        # the knowledge base's own vocabulary: typo corrections only ever land on these words
        kb_words: set[str] = {w for k in self._phrases for w in k}
        for e in kb.entries:
            for text in (*e.questions, e.title, *e.keywords):
                kb_words.update(tokens(text))
        self._kb_vocab = sorted(w for w in kb_words if len(w) >= 3 and w.isalpha())
        self._known = frozenset(kb_words) | everyday_words() | cfg.keep_words | _STOPWORDS
        self._correct = lru_cache(maxsize=20000)(self._correct_uncached)

        # index: every question (and title, keywords) of an entry is a document; entries are also scored
        # as a whole (their centroid), which generalises beyond the exact phrasings
        docs: list[tuple[int, dict[str, float]]] = []
        for i, e in enumerate(kb.entries):
            for text in (*e.questions, e.title, " ".join(e.keywords)):
                terms = self._terms_of(text)
                if terms:
                    docs.append((i, dict.fromkeys(terms, 1.0)))
        entry_df: dict[str, int] = defaultdict(int)
        entry_terms: list[dict[str, float]] = [defaultdict(float) for _ in kb.entries]
        for i, terms in docs:
            for t in terms:
                entry_terms[i][t] += 1.0
        for et in entry_terms:
            for t in et:
                entry_df[t] += 1
        n = max(1, len(kb.entries))
        self._idf = {t: math.log(1.0 + n / df) for t, df in entry_df.items()}
        self._postings_doc: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._doc_entry: list[int] = []
        self._doc_norm: list[float] = []
        for d, (i, terms) in enumerate(docs):
            vec = {t: self._weight(t) for t in terms}
            self._doc_entry.append(i)
            self._doc_norm.append(math.sqrt(sum(v * v for v in vec.values())) or 1.0)
            for t, v in vec.items():
                self._postings_doc[t].append((d, v))
        self._postings_entry: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._entry_norm: list[float] = []
        for i, et in enumerate(entry_terms):
            total = sum(et.values()) or 1.0
            vec = {t: self._weight(t) * math.sqrt(c / total) for t, c in et.items()}
            self._entry_norm.append(math.sqrt(sum(v * v for v in vec.values())) or 1.0)
            for t, v in vec.items():
                self._postings_entry[t].append((i, v))
        # entries that give the same advice agree rather than compete
        self._agree: set[tuple[str, str]] = set()
        for e in kb.entries:
            for r in e.related:
                self._agree.add((e.id, r))
                self._agree.add((r, e.id))

    # ----------------------------------------------------------------------------------- term handling
    def _weight(self, term: str) -> float:
        idf = self._idf.get(term, 0.0)
        if term.startswith("@"):
            return CONCEPT_BOOST * idf
        return min(idf, WORD_WEIGHT_CAP)

    def _correct_uncached(self, word: str) -> str:
        if word in self._known or len(word) < 4 or not word.isalpha():
            return word
        max_edits = 1 if len(word) < 7 else 2
        best = process.extractOne(word, self._kb_vocab, scorer=OSA.distance, score_cutoff=max_edits)
        return str(best[0]) if best else word

    def _concepts_and_words(self, words: Sequence[str]) -> list[str]:
        """Longest-phrase-first mapping of words to '@concept' terms; other words stay, stemmed."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._max_phrase, len(words) - i), 0, -1):
                concept = self._phrases.get(tuple(words[i : i + size]))
                if concept:
                    out.append("@" + concept)
                    i += size
                    break
            else:
                w = words[i]
                if w not in _STOPWORDS and not w.isdigit():
                    out.append(_stem(w))
                i += 1
        return out

    def _words(self, text: str) -> list[str]:
        return [self._correct(w) for w in tokens(text)]

    def _terms_of(self, text: str) -> list[str]:
        return self._concepts_and_words(tokens(text))

    def analyse(self, text: str) -> Analysis:
        text = _clip_query(text)
        sentences = split_sentences(text) or [(text, False)]
        per_sentence = [(self._concepts_and_words(self._words(s)), asks) for s, asks in sentences]
        asking = [terms for terms, asks in per_sentence if asks and any(t.startswith("@") for t in terms)]
        weights: dict[str, float] = {}
        for terms, asks in per_sentence:
            factor = 1.0 if (not asking or (asks and terms in asking)) else OTHER_SENTENCE_WEIGHT
            for t in terms:
                weights[t] = max(weights.get(t, 0.0), factor)
        concepts = frozenset(t[1:] for t in weights if t.startswith("@"))
        return Analysis(weights, concepts)

    # ------------------------------------------------------------------------------------------- gate
    def gate(self, concepts: frozenset[str]) -> str | None:
        """None when the message is on topic, else the reason it is not."""
        if not concepts & self.cfg.subjects:
            return "no subject"
        for rule in self.cfg.off_topic:
            if rule.applies(concepts):
                return rule.name
        return None

    # ---------------------------------------------------------------------------------------- ranking
    def rank(self, analysis: Analysis) -> list[Candidate]:
        qvec = {t: self._weight(t) * w for t, w in analysis.terms.items() if t in self._idf}
        qnorm = math.sqrt(sum(v * v for v in qvec.values()))
        if not qnorm:
            return []
        doc_dot: dict[int, float] = defaultdict(float)
        entry_dot: dict[int, float] = defaultdict(float)
        for t, qv in qvec.items():
            for d, v in self._postings_doc.get(t, ()):
                doc_dot[d] += qv * v
            for i, v in self._postings_entry.get(t, ()):
                entry_dot[i] += qv * v
        best_doc: dict[int, float] = defaultdict(float)
        for d, dot in doc_dot.items():
            i = self._doc_entry[d]
            best_doc[i] = max(best_doc[i], dot / (qnorm * self._doc_norm[d]))
        scored = []
        for i in entry_dot.keys() | best_doc.keys():
            centroid = entry_dot.get(i, 0.0) / (qnorm * self._entry_norm[i])
            score = 100.0 * (0.5 * best_doc.get(i, 0.0) + 0.5 * centroid)
            scored.append(Candidate(self.kb.entries[i], round(min(100.0, score), 2)))
        scored.sort(key=lambda c: (-c.score, c.entry.id))
        return scored

    def agree(self, a: Entry, b: Entry) -> bool:
        return (a.id, b.id) in self._agree

    # ------------------------------------------------------------------------------------------ match
    def match(self, text: str) -> Match:
        analysis = self.analyse(text)
        reason = self.gate(analysis.concepts)
        if reason:
            return Match("none", None, 0.0, (), reason)
        ranked = self.rank(analysis)
        if not ranked:
            return Match("none", None, 0.0, (), "no known words")
        top, rest = ranked[0], tuple(ranked[1 : 1 + MAX_ALTERNATIVES])
        cfg = self.cfg
        if top.score < cfg.unsure:
            return Match("none", None, top.score, tuple(ranked[:MAX_ALTERNATIVES]), "low score")
        close = [c for c in rest if top.score - c.score < cfg.margin and not self.agree(top.entry, c.entry)]
        band: Band = "confident" if top.score >= cfg.confident and not close else "unsure"
        return Match(band, top.entry, top.score, rest)

    def search(self, text: str, limit: int = 5) -> list[Candidate]:
        """Best entries for a short search (inline mode): ranked, gate applied only for noise."""
        analysis = self.analyse(text)
        if not analysis.concepts and not any(t in self._idf for t in analysis.terms):
            return []
        return [c for c in self.rank(analysis) if c.score >= self.cfg.unsure / 2][:limit]


def build_matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def concept_names(matcher: Matcher, text: str) -> Iterable[str]:
    return sorted(matcher.analyse(text).concepts)
