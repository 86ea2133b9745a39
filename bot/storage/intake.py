"""Every update, kept from its arrival until it has been handled: nothing fetched is lost to a crash.

Telegram hands an update out until the bot confirms it (polling: the next getUpdates with a higher offset;
webhook: the 200 answer). The door stores each update here first and confirms it only then; handlers take
updates from here, and an update is marked done in the same transaction as the state it changed. After a
crash, what is stored and not done is handled again; an update id stored twice is kept (and handled) once.

Once done, an update's body (texts, names) and its chat are deleted at once; its id alone is kept for a day,
long enough for any copy of it still on its way from Telegram to be recognised.

The same SQL serves SQLite and PostgreSQL (bot.storage.postgres): the state's rows and the done mark are
written in one transaction of the state's own database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bot.storage.state import Row, SqliteStorage

# the leases and once-only jobs (bot.storage.claims) live beside the intake
CLAIMS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner)",
    "CREATE TABLE IF NOT EXISTS once (name TEXT PRIMARY KEY, at REAL NOT NULL)",
)

KEEP_DONE_SECONDS = 24 * 3600


class Intake(Protocol):
    """Updates as Telegram sent them (JSON text), by update id."""

    def store(self, updates: Sequence[tuple[int, str]], chats: Mapping[int, int] = {}) -> list[int]:
        """Keep these (update id, JSON) in one transaction, each under its chat (`chats`: update id to chat
        key, 0 when absent); the ids not seen before, in the order given."""

    def pending(self, chat_key: int | None = None) -> list[tuple[int, str]]:
        """Stored and not yet done (of one chat, or of all), oldest first."""

    def done(self, update_id: int, state: Sequence[Row] = ()) -> None:
        """Mark handled, and write the state rows it changed, in one transaction."""

    def purge(self, now: float | None = None) -> int:
        """Forget the ids of updates done longer ago than a day; how many."""


class Transactional(Protocol):
    """The state's database as the intake needs it: one transaction, and the state's rows written in it."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def write(self, db: Any, rows: Sequence[Row]) -> None: ...


class SqlIntake:
    """An `intake` table in the state's own database, sharing its transactions. The SQL is written once,
    with `?` placeholders; `placeholders` turns them into the driver's."""

    def __init__(self, storage: Transactional, placeholders: Callable[[str], str] = str) -> None:
        self.storage = storage
        self._sql = placeholders

    def store(self, updates: Sequence[tuple[int, str]], chats: Mapping[int, int] = {}) -> list[int]:
        now = time.time()
        new = []
        insert = self._sql(
            "INSERT INTO intake (update_id, received, body, chat_key) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (update_id) DO NOTHING"
        )
        with self.storage.transaction() as db:
            for update_id, body in updates:
                if db.execute(insert, (update_id, now, body, chats.get(update_id, 0))).rowcount:
                    new.append(update_id)
        return new

    def pending(self, chat_key: int | None = None) -> list[tuple[int, str]]:
        select = "SELECT update_id, body FROM intake WHERE body IS NOT NULL"
        with self.storage.transaction() as db:
            if chat_key is None:
                rows = db.execute(select + " ORDER BY update_id").fetchall()
            else:
                rows = db.execute(
                    self._sql(select + " AND chat_key = ? ORDER BY update_id"), (chat_key,)
                ).fetchall()
        return [(int(update_id), str(body)) for update_id, body in rows]

    def done(self, update_id: int, state: Sequence[Row] = ()) -> None:
        with self.storage.transaction() as db:
            self.storage.write(db, state)
            db.execute(
                self._sql("UPDATE intake SET body = NULL, chat_key = 0, received = ? WHERE update_id = ?"),
                (time.time(), update_id),
            )

    def purge(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - KEEP_DONE_SECONDS
        with self.storage.transaction() as db:
            cursor = db.execute(
                self._sql("DELETE FROM intake WHERE body IS NULL AND received < ?"), (cutoff,)
            )
        return int(cursor.rowcount)


class SqliteIntake(SqlIntake):
    """The embedded default: a table in the state's SQLite file, sharing its connection and transactions."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS intake ("
        " update_id INTEGER PRIMARY KEY, received REAL NOT NULL, body TEXT,"  # body NULL: done
        " chat_key INTEGER NOT NULL DEFAULT 0)"
    )
    PENDING_INDEX = (
        "CREATE INDEX IF NOT EXISTS intake_pending_chat"
        " ON intake (chat_key, update_id) WHERE body IS NOT NULL"
    )

    def __init__(self, storage: SqliteStorage) -> None:
        super().__init__(storage)
        with storage.transaction() as db:
            db.execute(self.SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(intake)")}
            if "chat_key" not in columns:  # a file from before chats were kept apart
                db.execute("ALTER TABLE intake ADD COLUMN chat_key INTEGER NOT NULL DEFAULT 0")
            db.execute(self.PENDING_INDEX)
            for statement in CLAIMS_SCHEMA:
                db.execute(statement)
