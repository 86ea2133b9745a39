"""How content problems are described: file, line, entry, field and message, one per real mistake."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONCEPT_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Problem:
    """One mistake in a content file, where an editor finds it: file, line, entry and field."""

    file: str
    line: int | None
    entry: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.entry:
            parts.append(f"entry '{self.entry}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) + f": {self.message}"


class KnowledgeError(Exception):
    """All the problems found in one file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


Report = Callable[[str | None, str | None, str], None]
"""report(entry, field, message): how parsers of a section hand their problems back."""


Bad = Callable[[str | None, str, str], None]
"""bad(entry, field, message): one problem inside a section, with the field named in full."""


class Counting:
    """A section's report that counts what it was told: the section is built only when nothing was."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.count = 0

    def __call__(self, entry: str | None, fld: str | None, message: str) -> None:
        self.count += 1
        self.report(entry, fld, message)


def report_unknown_keys(raw: dict[Any, Any], allowed: set[str], where: str, bad: Report) -> None:
    """One problem per key of `raw` that is not `allowed`, named `where.key`."""
    for key in sorted(set(raw) - allowed, key=str):
        bad(None, f"{where}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


@dataclass
class Item:
    """One mapping of a list section (a sign, a topic) while it is checked: its problems go to `bad`
    under its own name and field, and `ok` says whether it had none."""

    raw: dict[Any, Any]
    id: str | None  # None when missing, malformed or already used
    name: str
    where: str  # the item's own field: red_flags.signs[numbness]
    bad: Bad = field(repr=False)
    ok: bool = True

    def fail(self, sub: str, message: str) -> None:
        self.ok = False
        self.bad(self.name, f"{self.where}.{sub}" if sub else self.where, message)


def each_item(
    raw: Any, section: str, noun: str, keys: set[str], bad: Bad, shape: str, id_hint: str = ""
) -> Iterator[Item]:
    """Each mapping of a list section, its unknown keys and a malformed or duplicate id already reported.
    An id counts as used once its item came through without problems."""
    if not isinstance(raw, list) or not raw:
        bad(None, section, f"needs a list of {noun}s, each with {shape}")
        return
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            bad(f"{noun} #{i + 1}", section, f"a {noun} must be a mapping with {shape}")
            continue
        raw_id = entry.get("id")
        name = raw_id if isinstance(raw_id, str) and raw_id else f"{noun} #{i + 1}"
        item = Item(entry, None, name, f"{section}[{name}]", bad)
        for key in sorted(set(entry) - keys, key=str):
            item.fail(str(key), f"unknown key (allowed: {', '.join(sorted(keys))})")
        if not isinstance(raw_id, str) or not ID_RE.match(raw_id):
            item.fail("id", f"missing or malformed id {raw_id!r}{id_hint}")
        elif raw_id in seen:
            item.fail("id", f"duplicate {noun} id")
        else:
            item.id = raw_id
        yield item
        if item.ok and item.id is not None:
            seen.add(item.id)


# --------------------------------------------------------------------------------- one per real mistake
_FIELD_PART = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
_REFERENCE = re.compile(r"^unknown (?:entry|cause|question) id '([^']*)'")
DUPLICATE = "duplicate id"


def field_path(data: object, fld: str) -> tuple[object, ...]:
    """A field as a section parser names it (`questionnaire.questions[core].options[often].weights`) ->
    the path to it in the parsed file (`('questionnaire', 'questions', 3, 'options', 0, 'weights')`), as far
    as the file has it: so that the problem points at the field's own line."""
    path: tuple[object, ...] = ()
    node = data
    for key, name in _FIELD_PART.findall(fld):
        if key and isinstance(node, dict) and key in node:
            path, node = (*path, key), node[key]
        elif name and isinstance(node, list):
            index = next((i for i, x in enumerate(node) if isinstance(x, dict) and x.get("id") == name), None)
            number = name.lstrip("#")
            if index is None and number.isdigit() and 0 < int(number) <= len(node):
                index = int(number) - 1  # an item without an id is named by its place, from 1
            if index is None:
                break
            path, node = (*path, index), node[index]
        else:
            break
    return path


def fold_references(problems: list[Problem]) -> list[Problem]:
    """One problem per real mistake: an id that does not exist is reported once, where it is first used,
    with the other places named; and when one entry's id is a duplicate while one referenced id has no
    entry, the two are one mistake (an entry given the wrong id) and are reported as one."""
    kept: list[Problem] = []
    first: dict[str, int] = {}
    more: dict[str, list[int | None]] = {}
    for p in problems:
        found = _REFERENCE.match(p.message)
        if found is None:
            kept.append(p)
        elif found.group(1) in first:
            more[found.group(1)].append(p.line)
        else:
            first[found.group(1)], more[found.group(1)] = len(kept), []
            kept.append(p)
    duplicates = [i for i, p in enumerate(kept) if p.message.startswith(DUPLICATE)]
    if len(duplicates) == 1 and len(first) == 1:
        ((ref, at),) = first.items()
        uses = 1 + len(more[ref])
        d = kept[duplicates[0]]
        kept[duplicates[0]] = replace(
            d,
            message=f"{d.message}; was it meant to be {ref!r}? That id is used {_times(uses)} but no entry "
            "has it",
        )
        return [p for i, p in enumerate(kept) if i != at]
    for ref, at in first.items():
        lines = [str(n) for n in dict.fromkeys(more[ref]) if n is not None and n != kept[at].line]
        if lines:
            also = f" (also used at line{'s' if len(lines) > 1 else ''} {', '.join(lines)})"
            kept[at] = replace(kept[at], message=kept[at].message + also)
    return kept


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"
