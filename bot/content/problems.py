"""How content problems are described: file, line, entry, field and message, one per real mistake."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONCEPT_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Problem:
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
