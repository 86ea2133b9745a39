"""faq.yaml -> KnowledgeBase: typed, frozen, validated as a whole.

A content editor gets every problem at once, each with file, line, entry and field, and the bot never runs
on a half-loaded file: `load_knowledge` either returns a complete KnowledgeBase or raises KnowledgeError.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.content.gate_rules import parse_long_story, parse_off_topic, unknown_entries
from bot.content.model import KINDS, Entry, KnowledgeBase, MatchingConfig, Meta
from bot.content.problems import (
    CONCEPT_RE,
    DUPLICATE,
    ID_RE,
    KnowledgeError,
    Problem,
    Report,
    field_path,
    fold_references,
)
from bot.content.questionnaire import parse_questionnaire
from bot.content.red_flags import parse_red_flags
from bot.content.small_talk import parse_small_talk
from bot.replies import MAX_MESSAGE_CHARS, entry_html

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_KEYS = {"meta", "matching", "entries", "questionnaire", "red_flags", "small_talk"}
# Telegram's limits for setMyDescription and setMyShortDescription
META_LIMITS = {"description": 512, "short_description": 120}
META_KEYS = {"bot_name", "source_title", "source_url", "disclaimer", "about", *META_LIMITS}
ENTRY_KEYS = {"id", "kind", "title", "label", "questions", "answer", "related", "keywords"}
MATCHING_KEYS = set(
    """thresholds concepts gate keep_words question_words tie_break_kinds kind_hints practices reported
    reported_unless conditions long_story""".split()
)
THRESHOLD_KEYS = {"confident", "unsure", "margin"}
GATE_KEYS = {"subjects", "weak_subjects", "pairs", "anchors", "off_topic"}


# ----------------------------------------------------------------------------------------- line numbers
def _line_index(text: str) -> dict[tuple[Any, ...], int]:
    """Map paths like ('entries', 3, 'answer') to 1-based line numbers, from YAML's node tree."""
    index: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    index[(*path, key.value)] = key.start_mark.line + 1
                    walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return index
    if root is not None:
        walk(root, ())
    return index


# ----------------------------------------------------------------------------------------------- loading
class _Collector:
    """Problems as they are found; line numbers are looked up only when there is something to report."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.data: object = None  # the parsed file: section parsers name fields, this finds their lines
        self._found: list[tuple[tuple[Any, ...], str | None, str | None, str]] = []

    def add(self, path: tuple[Any, ...], entry: str | None, fld: str | None, message: str) -> None:
        self._found.append((path, entry, fld, message))

    def add_field(self, path: tuple[Any, ...], fld: str, message: str) -> None:
        """A problem with a field that belongs to no entry (the section parsers' `Add`)."""
        self.add(path, None, fld, message)

    @property
    def problems(self) -> list[Problem]:
        if not self._found:
            return []
        lines = _line_index(self.text)
        out = []
        for path, entry, fld, message in self._found:
            line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
            out.append(Problem(self.file, line, entry, fld, message))
        return fold_references(out)

    def section(self, name: str) -> Report:
        """A Report for a top-level section whose parser lives in another module."""

        def report(entry: str | None, fld: str | None, message: str) -> None:
            self.add(field_path(self.data, fld) or (name,) if fld else (name,), entry, fld or name, message)

        return report


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _str_list(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        return None
    return [x.strip() for x in value if x.strip()]


def _parse_meta(raw: Any, c: _Collector) -> Meta | None:
    if not isinstance(raw, dict):
        c.add(("meta",), None, "meta", "missing or not a mapping (needs bot_name, source_title, disclaimer)")
        return None
    for key in sorted(set(raw) - META_KEYS):
        c.add(("meta", key), None, f"meta.{key}", f"unknown key (allowed: {', '.join(sorted(META_KEYS))})")
    values = {}
    for key in ("bot_name", "source_title", "disclaimer"):
        v = _text(raw.get(key))
        if v is None:
            c.add(("meta", key), None, f"meta.{key}", "missing or empty")
        values[key] = v or ""
    source_url = _text(raw.get("source_url")) or ""
    if source_url and not source_url.startswith(("https://", "http://")):
        c.add(("meta", "source_url"), None, "meta.source_url", "must be a web address (https://…)")
    for key, limit in META_LIMITS.items():
        v = raw.get(key)
        if v is not None and not isinstance(v, str):
            c.add(("meta", key), None, f"meta.{key}", "must be text")
        elif isinstance(v, str) and len(v.strip()) > limit:
            c.add(("meta", key), None, f"meta.{key}", f"{len(v.strip())} characters; Telegram takes {limit}")
    return Meta(
        bot_name=values["bot_name"],
        source_title=values["source_title"],
        disclaimer=values["disclaimer"],
        source_url=source_url,
        about=_text(raw.get("about")) or "",
        description=_text(raw.get("description")) or "",
        short_description=_text(raw.get("short_description")) or "",
    )


def _parse_entry(i: int, raw: Any, c: _Collector) -> Entry | None:
    path: tuple[Any, ...] = ("entries", i)
    if not isinstance(raw, dict):
        c.add(path, f"#{i + 1}", None, "an entry must be a mapping with id, kind, title, questions, answer")
        return None
    eid = raw.get("id")
    name = eid if isinstance(eid, str) and eid else f"#{i + 1}"
    ok = True

    def bad(fld: str, message: str) -> None:
        nonlocal ok
        ok = False
        c.add((*path, fld), name, fld, message)

    for key in sorted(set(raw) - ENTRY_KEYS, key=str):
        bad(str(key), f"unknown key (allowed: {', '.join(sorted(ENTRY_KEYS))})")
    if not isinstance(eid, str) or not ID_RE.match(eid):
        bad("id", f"missing or malformed id {eid!r} (use lowercase letters, digits and dashes)")
    kind = raw.get("kind")
    if kind not in KINDS:
        bad("kind", f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    title = _text(raw.get("title"))
    if title is None:
        bad("title", "missing or empty")
    questions = _str_list(raw.get("questions"))
    if not questions:
        bad("questions", "needs a list of at least one question (the canonical one first)")
    answer = _text(raw.get("answer"))
    if answer is None:
        bad("answer", "missing or empty")
    related = _str_list(raw.get("related", []))
    if related is None:
        bad("related", "must be a list of entry ids")
    keywords = _str_list(raw.get("keywords", []))
    if keywords is None:
        bad("keywords", "must be a list of words or phrases")
    label = raw.get("label", "")
    if not isinstance(label, str):
        bad("label", "must be text")
    if title and answer:
        size = len(entry_html(title, answer))
        if size > MAX_MESSAGE_CHARS - 300:  # room for the disclaimer line and the follow-up offer
            bad(
                "answer",
                f"too long for one Telegram message ({size} characters formatted; keep it under 3796)",
            )
    if not ok:
        return None
    assert isinstance(eid, str) and title and answer and questions is not None
    return Entry(
        id=eid,
        kind=str(kind),
        title=title,
        questions=tuple(questions),
        answer=answer,
        related=tuple(related or ()),
        keywords=tuple(keywords or ()),
        label=label.strip() if isinstance(label, str) else "",
    )


def _section(
    raw: Any, path: tuple[str, ...], c: _Collector, what: str, keys: set[str] | None = None
) -> dict[Any, Any]:
    """A mapping inside `matching`, or {} after reporting why not; with `keys`, unknown keys are reported."""
    value = raw.get(path[-1], {}) or {}
    fld = ".".join(path)
    if not isinstance(value, dict):
        c.add(path, None, fld, f"must {what}")
        return {}
    for key in sorted(set(value) - (keys if keys is not None else set(value)), key=str):
        c.add((*path, key), None, f"{fld}.{key}", "unknown key")
    return value


def _parse_matching(raw: Any, c: _Collector) -> MatchingConfig:
    if raw is None:
        return MatchingConfig()
    if not isinstance(raw, dict):
        c.add(("matching",), None, "matching", "must be a mapping")
        return MatchingConfig()
    for key in sorted(set(raw) - MATCHING_KEYS):
        c.add(("matching", key), None, f"matching.{key}", "unknown key")
    defaults = MatchingConfig()
    th = _section(raw, ("matching", "thresholds"), c, "be a mapping", THRESHOLD_KEYS)
    numbers: dict[str, float] = {}
    for key in sorted(THRESHOLD_KEYS):
        v = th.get(key, getattr(defaults, key))
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            c.add(("matching", "thresholds", key), None, f"matching.thresholds.{key}", "must be 0-100")
            v = getattr(defaults, key)
        numbers[key] = float(v)
    if numbers["unsure"] > numbers["confident"]:
        c.add(("matching", "thresholds"), None, "matching.thresholds", "unsure must not exceed confident")

    concepts: dict[str, tuple[str, ...]] = {}
    raw_concepts = _section(raw, ("matching", "concepts"), c, "map a concept to its phrases")
    for name, phrases in raw_concepts.items():
        fld = f"matching.concepts.{name}"
        plist = _str_list(phrases)
        if not isinstance(name, str) or not CONCEPT_RE.match(name):
            c.add(("matching", "concepts", name), None, fld, "concept names use lowercase letters and dashes")
        elif not plist:
            c.add(("matching", "concepts", name), None, fld, "needs a list of phrases")
        else:
            concepts[name] = tuple(p.lower() for p in plist)

    def concept_set(value: Any, path: tuple[Any, ...], fld: str) -> frozenset[str]:
        names = _str_list(value if value is not None else [])
        if names is None:
            c.add(path, None, fld, "must be a list of concept names")
            return frozenset()
        for n in names:
            if n not in concepts:
                c.add(path, None, fld, f"unknown concept {n!r} (define it under matching.concepts)")
        return frozenset(names)

    gate = _section(raw, ("matching", "gate"), c, "be a mapping", GATE_KEYS)
    subjects = concept_set(gate.get("subjects"), ("matching", "gate", "subjects"), "matching.gate.subjects")
    weak = concept_set(
        gate.get("weak_subjects"), ("matching", "gate", "weak_subjects"), "matching.gate.weak_subjects"
    )
    anchors = concept_set(gate.get("anchors"), ("matching", "gate", "anchors"), "matching.gate.anchors")
    pairs: dict[str, frozenset[str]] = {}
    raw_pairs = _section(gate, ("matching", "gate", "pairs"), c, "map a concept to its companions")
    for name, companions in raw_pairs.items():
        p = ("matching", "gate", "pairs", name)
        fld = f"matching.gate.pairs.{name}"
        if name not in concepts:
            c.add(p, None, fld, f"unknown concept {name!r} (define it under matching.concepts)")
        pairs[str(name)] = concept_set(companions, p, fld)
    rules = parse_off_topic(gate.get("off_topic", []) or [], concept_set, c.add_field)
    long_story = parse_long_story(raw.get("long_story"), concept_set, c.add_field)

    def word_list(key: str) -> frozenset[str]:
        words = _str_list(raw.get(key, []))
        if words is None:
            c.add(("matching", key), None, f"matching.{key}", "must be a list of words")
        return frozenset(w.lower() for w in words or ())

    tie_kinds = _str_list(raw.get("tie_break_kinds", []))
    if tie_kinds is None or any(k not in KINDS for k in tie_kinds):
        kinds_problem = f"a list of: {', '.join(KINDS)}"
        c.add(("matching", "tie_break_kinds"), None, "matching.tie_break_kinds", kinds_problem)
    hints: dict[str, frozenset[str]] = {}
    raw_hints = _section(raw, ("matching", "kind_hints"), c, "map a concept to entry kinds")
    for name, kinds in raw_hints.items():
        fld = f"matching.kind_hints.{name}"
        klist = _str_list(kinds)
        if name not in concepts:
            c.add(("matching", "kind_hints", name), None, fld, f"unknown concept {name!r}")
        elif klist is None or any(k not in KINDS for k in klist):
            c.add(("matching", "kind_hints", name), None, fld, f"a list of: {', '.join(KINDS)}")
        else:
            hints[str(name)] = frozenset(klist)
    return MatchingConfig(
        kind_hints=MappingProxyType(hints),
        tie_break_kinds=tuple(k for k in tie_kinds or () if k in KINDS),
        confident=numbers["confident"],
        unsure=numbers["unsure"],
        margin=numbers["margin"],
        concepts=MappingProxyType(concepts),
        subjects=subjects,
        weak_subjects=weak,
        anchors=anchors,
        pairs=MappingProxyType(pairs),
        off_topic=rules,
        keep_words=word_list("keep_words"),
        question_words=word_list("question_words"),
        practices=concept_set(raw.get("practices"), ("matching", "practices"), "matching.practices"),
        reported=concept_set(raw.get("reported"), ("matching", "reported"), "matching.reported"),
        reported_unless=concept_set(
            raw.get("reported_unless"), ("matching", "reported_unless"), "matching.reported_unless"
        ),
        conditions=concept_set(raw.get("conditions"), ("matching", "conditions"), "matching.conditions"),
        long_story=long_story,
    )


def parse_knowledge(text: str, file: str = "faq.yaml") -> KnowledgeBase:
    """Parse and validate the text of a faq.yaml; raise KnowledgeError listing every problem."""
    c = _Collector(file, text)
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)  # yaml.safe_load, in C when libyaml is there
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError([Problem(file, line, None, None, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise KnowledgeError(
            [Problem(file, 1, None, None, "the file must be a mapping with meta and entries")]
        )
    c.data = data
    for key in sorted(set(data) - TOP_KEYS, key=str):
        c.add((key,), None, str(key), f"unknown top-level key (allowed: {', '.join(sorted(TOP_KEYS))})")

    meta = _parse_meta(data.get("meta"), c)
    matching = _parse_matching(data.get("matching"), c)

    raw_entries = data.get("entries")
    entries: list[Entry] = []
    if not isinstance(raw_entries, list) or not raw_entries:
        c.add(("entries",), None, "entries", "missing or empty: list the entries")
        raw_entries = []
    seen: dict[str, int] = {}  # every id the file gives, parsed or not: references to it are not mistakes
    causes: list[str] = []
    unsure_kind: list[str] = []  # entries whose kind is a mistake: they may be causes
    for i, raw in enumerate(raw_entries):
        rid = raw.get("id") if isinstance(raw, dict) else None
        duplicate = isinstance(rid, str) and rid in seen
        if duplicate:  # reported whatever else is wrong with the entry
            c.add(("entries", i, "id"), rid, "id", f"{DUPLICATE} (first used by entry #{seen[str(rid)] + 1})")
        elif isinstance(rid, str) and ID_RE.match(rid):
            seen[rid] = i
            kind = raw.get("kind") if isinstance(raw, dict) else None
            (causes if kind == "cause" else unsure_kind if kind not in KINDS else []).append(rid)
        entry = _parse_entry(i, raw, c)
        if entry is not None and not duplicate:
            entries.append(entry)
    declared = {r["id"] for r in raw_entries if isinstance(r, dict) and isinstance(r.get("id"), str)}
    for i, raw in enumerate(raw_entries):
        related = raw.get("related") if isinstance(raw, dict) else None
        if not isinstance(related, list):
            continue
        name = raw.get("id") if isinstance(raw.get("id"), str) else f"#{i + 1}"
        for n, rid in enumerate(related):
            if isinstance(rid, str) and rid not in declared:
                c.add(("entries", i, "related", n), name, "related", f"unknown entry id {rid!r}")
            elif rid == name:
                c.add(("entries", i, "related", n), name, "related", "an entry cannot relate to itself")

    unknown_entries(matching.long_story, declared, c.add_field)
    known = frozenset(seen)
    questionnaire = None
    red_flags = None
    if "questionnaire" in data:
        questionnaire = parse_questionnaire(
            data["questionnaire"], known, entries, c.section("questionnaire"), causes, unsure_kind
        )
    if "red_flags" in data:
        red_flags = parse_red_flags(data["red_flags"], c.section("red_flags"))
    small_talk = None
    if "small_talk" in data:
        small_talk = parse_small_talk(data["small_talk"], c.section("small_talk"))

    problems = c.problems
    if problems or meta is None:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        path=file,
        meta=meta,
        entries=tuple(entries),
        matching=matching,
        questionnaire=questionnaire,
        red_flags=red_flags,
        small_talk=small_talk,
    )


def load_knowledge(path: str | Path) -> KnowledgeBase:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeError([Problem(str(p), None, None, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError([Problem(str(p), None, None, None, f"cannot read: {exc}")]) from None
    return parse_knowledge(text, str(p))
