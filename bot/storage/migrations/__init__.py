"""The PostgreSQL schema, as numbered SQL files applied in order: NNNN_what.sql.

A file once released is never edited: a change to the schema is a new file with the next number. Each file
is applied once, in the transaction that records its number in `schema_version` (bot.storage.postgres).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with the package, by version; numbers are unique and start at 1."""
    found = []
    for entry in files(__package__).iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3…: {[m.version for m in found]}")
    return found
