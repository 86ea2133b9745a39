"""Per-person and per-chat state as key-value rows: one row per user, chat or conversation.

Each write is one transaction in a WAL database, so the worst a crash can do is lose the last write. Values
are JSON text. PTB's persistence (bot.telegram.persistence) sits on this interface; a server database needs
only another `Storage`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from bot.storage.database import check_data_dir, open_database

Row = tuple[str, str, str | None]  # (namespace, key, JSON text, or None to delete the row)


class Storage(Protocol):
    """Key-value rows grouped in namespaces. Values are JSON text; a write is atomic."""

    def load(self, namespace: str) -> dict[str, str]: ...

    def load_one(self, namespace: str, key: str) -> str | None:
        """One row's value, or None when there is no such row."""

    def save(self, namespace: str, key: str, value: str | None) -> None:
        """Insert or replace one row; None deletes it."""

    def close(self) -> None: ...


class SqliteStorage:
    """The embedded default: one SQLite file in WAL mode."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS kv ("
        " namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (namespace, key)) WITHOUT ROWID"
    )

    def __init__(self, path: Path) -> None:
        check_data_dir(path.parent)
        self.path = path
        # autocommit mode, WAL, synchronous=NORMAL; a damaged file is moved aside (see bot.storage.database)
        self._db = open_database(path)
        self._lock = threading.Lock()
        self._db.execute(self.SCHEMA)

    def load(self, namespace: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM kv WHERE namespace = ?", (namespace,)).fetchall()
        return dict(rows)

    def load_one(self, namespace: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def save(self, namespace: str, key: str, value: str | None) -> None:
        # one statement in autocommit mode is one transaction: atomic, and one call into SQLite per write
        with self._lock:
            self.write(self._db, [(namespace, key, value)])

    @staticmethod
    def write(db: sqlite3.Connection, rows: Sequence[Row]) -> None:
        """Insert, replace or (value None) delete rows, on a connection the caller holds."""
        for namespace, key, value in rows:
            if value is None:
                db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO kv (namespace, key, value) VALUES (?, ?, ?)",
                    (namespace, key, value),
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on this file, for writes that must land together (see bot.storage.intake)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
