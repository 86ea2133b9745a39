"""Text basics shared by matching and safety: normalised words, plurals, sentences, everyday English.

Both readers of a message (the matcher and the red-flag detector) must see the same words, so the rules for
turning a message into words live here once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

EVERYDAY_WORDS = Path(__file__).resolve().parent / "data" / "everyday.txt"
_APOSTROPHES = str.maketrans({"’": "", "'": "", "`": "", "´": ""})
_EMOJI_WORDS = str.maketrans(
    {"👣": " feet ", "🦶": " foot ", "🦵": " leg ", "🍑": " butt ", "🩺": " doctor "}
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
# chat shorthand that punctuation would split into nonsense ("w/o" -> "w o"), or that hides a word
_SHORTHAND = re.compile(r"(?<![a-z0-9])(w/o|w/|b/c|b4|thru)(?![a-z0-9])")
_SHORTHAND_WORDS = {
    "w/o": " without ", "w/": " with ", "b/c": " because ", "b4": " before ", "thru": " through "
}  # fmt: skip
# sentence ends, and commas, colons or "but" before a new clause that may be the one asking
_CLAUSE_END = re.compile(
    r"(?<=[.!?\n;:])|(?<=,)(?=\s*(?:what|whats|how|why|which|should|can|could|is|do|does)\b)|\bbut\b", re.I
)


_STARRED = re.compile(r"(?<!\S)\*([A-Za-z]{2,})\b|\b([A-Za-z]{2,})\*(?!\S)")


# ----------------------------------------------------------------------------------------- text basics
def corrected(text: str) -> str:
    """A chat correction applied: in "why does the leg dress hurt *press" the starred word replaces the
    earlier word it is closest to (at most two letters apart), and the star goes."""
    found = _STARRED.search(text)
    if found is None:
        return text
    from rapidfuzz.distance import Levenshtein  # only for a message that corrects itself

    fix = found.group(1) or found.group(2)
    rest = text[: found.start()] + text[found.end() :]
    words = list(re.finditer(r"[A-Za-z]+", rest))
    near = [w for w in words if 0 < Levenshtein.distance(w.group().lower(), fix.lower()) <= 2]
    if not near:
        return text[: found.start()] + fix + text[found.end() :]  # a star for emphasis: the word stays
    typo = min(near, key=lambda w: Levenshtein.distance(w.group().lower(), fix.lower()))
    return rest[: typo.start()] + fix + rest[typo.end() :]


def normalise(text: str) -> str:
    """Lowercase ASCII-ish words separated by single spaces: emoji, punctuation and accents removed."""
    if "*" in text:
        text = corrected(text)
    text = text.translate(_EMOJI_WORDS)
    if text.isascii():
        text = text.lower().translate(_APOSTROPHES)
    else:
        text = unicodedata.normalize("NFKD", text).casefold().translate(_APOSTROPHES)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _SHORTHAND.sub(lambda m: _SHORTHAND_WORDS[m.group(1)], text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    return normalise(text).split()


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)(?<![.!?])\b([A-Z][a-z]+(?:['’][a-z]+)?)\b")


def proper_names(text: str) -> frozenset[str]:
    """Words written as names, with a capital inside a sentence ("ignore Tom", "my coach Gaz says"): a name
    is never a typo of a knowledge-base word ("Tom's" is not "toes"). A capital that starts a sentence is no
    name, and a message in title case has none."""
    found = [m.group(1) for m in _NAME.finditer(text.strip())]
    words = text.split()
    if not found or sum(w[:1].isupper() for w in words) > len(words) / 2:
        return frozenset()
    return frozenset(t for name in found for t in tokens(name))


def stem(word: str) -> str:
    """A deliberately tiny stemmer: plurals only, so that "stretches" and "stretch" meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxh":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def _snowball() -> Callable[[str], str]:
    """Snowball's English stemmer, imported at its first use: the package loads all its languages (14 ms),
    and a one-off `ask` seldom meets a word it does not know."""
    from snowballstemmer import stemmer

    stem_word: Callable[[str], str] = stemmer("english").stemWord
    return stem_word


@lru_cache(maxsize=20000)
def root(word: str) -> str:
    """The Snowball (Porter 2) stem: every form of a word has the same root ("twinging", "twinge")."""
    return str(_snowball()(word))


def base_forms(word: str) -> tuple[str, ...]:
    """What a regular past, -ing or -s form may be made from: "flipped" -> flip, "raised" -> raise, "carried"
    -> carry, "hiking" -> hike, "reckons" -> reckon. Cheap enough to try on every unknown word, unlike rooting
    a whole word list."""
    out: list[str] = []
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])  # reckons, moans
        if word.endswith("es"):
            out.append(word[:-2])  # pushes
    for suffix in ("ed", "ing"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            base = word[: -len(suffix)]
            out += [base, base + "e"]
            if base[-1] == base[-2]:
                out.append(base[:-1])  # flipped, stopping
            if suffix == "ed" and base.endswith("i"):
                out.append(base[:-1] + "y")  # carried
    return tuple(out)


# words that lead into a sentence without saying what it does: "ok so my PT says…" tells, "so is it my form"
# asks. "ok" alone may ask ("ok to leg press with a sore back"), so it leads in only before another of these.
_LEAD_INS = frozenset({"ok", "okay", "so", "well", "um", "uh", "hmm", "right", "alright", "anyway", "and"})


def first_word(sentence: str, question_words: frozenset[str]) -> str | None:
    """The word that says whether a sentence asks: the first one after any lead-in words."""
    words = tokens(sentence[:60])[:5]
    i = 0
    while (
        i < len(words) - 1
        and words[i] in _LEAD_INS
        and (words[i] not in question_words or words[i + 1] in _LEAD_INS)
    ):
        i += 1
    return words[i] if words else None


def split_sentences(text: str, question_words: frozenset[str] = frozenset()) -> list[tuple[str, bool]]:
    """(sentence, asks) pairs; a sentence asks when it ends with '?' or starts with a question word."""
    out = []
    for part in _CLAUSE_END.split(text):
        part = part.strip()
        if part:
            out.append((part, part.endswith("?") or first_word(part, question_words) in question_words))
    return out


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """Common English words (bot/data/everyday.txt): never taken for typos of the knowledge base's words."""
    raw = EVERYDAY_WORDS.read_text(encoding="utf-8")
    return frozenset(w.strip() for w in raw.splitlines() if w.strip() and not w.startswith("#"))


class DeletionIndex:
    """Candidate corrections in constant time: words indexed by their one- and two-letter deletions
    (the SymSpell idea), so a long message full of unknown words costs a few lookups per word, not a scan
    of the vocabulary. The exact distance is then checked with rapidfuzz."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_key: dict[str, set[str]] = defaultdict(set)
        for w in words:
            for key in self._deletes(w, 2 if len(w) >= 7 else 1):
                self._by_key[key].add(w)

    @staticmethod
    def _deletes(word: str, depth: int) -> set[str]:
        out = {word}
        frontier = {word}
        for _ in range(depth):
            frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w)) if len(w) > 2}
            out |= frontier
        return out

    def candidates(self, word: str, max_edits: int) -> list[str]:
        found: set[str] = set()
        for key in self._deletes(word, max_edits):
            found |= self._by_key.get(key, set())
        return sorted(found)


def one_line(text: str, limit: int) -> str:
    """Whitespace collapsed, cut at `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
