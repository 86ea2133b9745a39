"""Where the question log's rows live: the embedded SQLite file, or PostgreSQL (bot.storage.postgres).

The log (bot.storage.question_log) writes one SQL, with `?` placeholders, for both; a `LogDatabase` runs
it and says the little that differs between the two: which errors mean "this write failed", how a
transaction starts, and two functions the report needs (where one string occurs in another, the UTC day of
a timestamp).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.storage.salt import load_salt

Verdict = Literal["answered", "unsure", "none", "urgent"]
OUTCOMES: tuple[Verdict, ...] = ("answered", "unsure", "none", "urgent")
CheckName = Literal["started", "finished", "red-flag", "cancelled", "expired"]
CHECK_EVENTS: tuple[CheckName, ...] = ("started", "finished", "red-flag", "cancelled", "expired")


def _one_of(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


# the same tables as bot/storage/migrations/0002_question_log.sql, in SQLite's words
SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS analytics_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS analytics_questions (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    chat_type TEXT NOT NULL,
    chat_hash TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ({_one_of(OUTCOMES)})),
    entry_id TEXT,
    score REAL,
    candidates TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    took_check INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS analytics_questions_ts ON analytics_questions (ts);
CREATE INDEX IF NOT EXISTS analytics_questions_user ON analytics_questions (user_hash, ts);
CREATE TABLE IF NOT EXISTS analytics_feedback (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    question_id INTEGER REFERENCES analytics_questions (id) ON DELETE CASCADE,
    user_hash TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    positive INTEGER NOT NULL,
    missing TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS analytics_feedback_question
    ON analytics_feedback (question_id, user_hash) WHERE question_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS analytics_feedback_entry
    ON analytics_feedback (entry_id, user_hash) WHERE question_id IS NULL;
CREATE INDEX IF NOT EXISTS analytics_feedback_ts ON analytics_feedback (ts);
CREATE TABLE IF NOT EXISTS analytics_checks (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    user_hash TEXT NOT NULL,
    chat_hash TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ({_one_of(CHECK_EVENTS)})),
    top_cause TEXT
);
CREATE INDEX IF NOT EXISTS analytics_checks_ts ON analytics_checks (ts);
"""

# the log's tables, parents first (feedback refers to questions): the order a copy writes them in
LOG_TABLES = ("analytics_questions", "analytics_feedback", "analytics_checks")


class Cursor(Protocol):
    """What a statement gives back, in both drivers."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class LogDatabase(Protocol):
    """One connection to the log's tables. Not thread-safe: the QuestionLog's lock serialises its use."""

    place: str  # what messages call it: the file, or the server and database (never a password)
    errors: tuple[type[Exception], ...]  # what a failed statement raises
    find: str  # SQL function: find(haystack, needle) is the needle's position, 0 when absent
    day: str  # SQL expression: the UTC day of the row's `ts`, as YYYY-MM-DD

    def execute(self, sql: str, args: Sequence[object] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction: committed when the block ends, rolled back when it raises."""

    def question_ids(self, count: int) -> list[int]:
        """`count` ids for questions not written yet, never handed out before (by any replica)."""

    def salt(self) -> bytes:
        """The deployment's salt, made on first use."""

    def close(self) -> None: ...


class SqliteLog:
    """The log's tables in DATA_DIR/bot.sqlite3, beside the state."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    find = "instr"
    day = "date(ts, 'unixepoch')"

    def __init__(self, conn: sqlite3.Connection, place: str, data_dir: Path) -> None:
        self.conn = conn
        self.place = place
        self.data_dir = data_dir
        self._next_question_id: int | None = None
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SQLITE_SCHEMA)

    def question_ids(self, count: int) -> list[int]:
        # one process uses the file: counted on from the highest id written when the log opened
        if self._next_question_id is None:
            row = self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM analytics_questions").fetchone()
            self._next_question_id = int(row[0])
        first = self._next_question_id
        self._next_question_id += count
        return list(range(first, first + count))

    def salt(self) -> bytes:
        return load_salt(self.data_dir)

    def execute(self, sql: str, args: Sequence[object] = ()) -> Cursor:
        return self.conn.execute(sql, tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock at once, not half-way through
        try:
            yield
            self.conn.execute("COMMIT")
        finally:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


def pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
