"""The state and the durable intake on PostgreSQL, for `DATABASE_URL=postgresql://…`.

The same two interfaces as the embedded SQLite file (bot.storage.state, bot.storage.intake), with the same
guarantees: a write is one transaction, and an update's done mark lands in the transaction that writes the
state it changed. The driver is psycopg 3: its synchronous API fits the storage's callers as they are (the
SQLite storage is called the same way), and its pool hands each call a healthy connection, replacing one the
server dropped.

The schema is versioned (bot.storage.migrations) and brought up to date when the storage opens, inside one
transaction that holds an advisory lock: replicas starting at once apply each migration exactly once, and
none of them uses the tables before they exist.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.storage.database import StorageError, first_line
from bot.storage.intake import SqlIntake
from bot.storage.log_sql import pyformat
from bot.storage.migrations import migrations
from bot.storage.salt import new_salt, parse_salt, read_salt
from bot.storage.state import Row

Connection = psycopg.Connection[tuple[Any, ...]]

# the pool's own lines repeat every reconnection attempt while a server is away; the bot says it once
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

CONNECT_SECONDS = 10.0  # at start-up: how long an unreachable server is waited for before giving up
WAIT_SECONDS = 3.0  # while running: how long a call waits for a connection (the event loop waits with it)
# pg_advisory_xact_lock takes a bigint: a fixed number for "this bot's schema", the same in every replica
MIGRATION_LOCK = zlib.crc32(b"legpress-bot schema migrations")

SCHEMA_VERSION = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
)


def describe(url: str) -> str:
    """The server and database of a URL, for messages: never its password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname}{port}{parts.path or '/'}"


def migrate(conn: Connection) -> list[int]:
    """Apply the migrations this database has not had yet, in one transaction under the migration lock;
    the versions applied here (none when another replica got there first)."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(SCHEMA_VERSION)
        done = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version").fetchall()}
        for migration in migrations():
            if migration.version in done:
                continue
            conn.execute(migration.sql.encode())  # no parameters: the whole file, as one simple query
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    return applied


def check_database(url: str, timeout: float = CONNECT_SECONDS) -> None:
    """Connect once and bring the schema up to date, or StorageError with one line: at start-up, a
    database that cannot be reached is a misconfiguration to report, not a fault to retry forever."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            migrate(conn)
    except psycopg.Error as exc:
        raise StorageError(f"cannot use the database at {describe(url)}: {first_line(exc)}") from None


class PostgresStorage:
    """Key-value rows in the `kv` table; each call takes a connection from a small pool."""

    def __init__(self, url: str, max_connections: int = 4, timeout: float = CONNECT_SECONDS) -> None:
        self.url = url
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            open=False,
            name="legpress-bot",
            timeout=WAIT_SECONDS,  # a call waits this long for a connection, then fails and is retried
            kwargs={"connect_timeout": max(1, int(timeout))},
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            self._pool.close()
            raise StorageError(f"cannot reach the database at {describe(url)} within {timeout:g} s") from None
        with self._pool.connection() as conn:
            migrate(conn)

    def load(self, namespace: str) -> dict[str, str]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT key, value FROM kv WHERE namespace = %s", (namespace,)).fetchall()
        return {str(key): str(value) for key, value in rows}

    def load_one(self, namespace: str, key: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT value FROM kv WHERE namespace = %s AND key = %s", (namespace, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def save(self, namespace: str, key: str, value: str | None) -> None:
        with self.transaction() as conn:
            self.write(conn, [(namespace, key, value)])

    @staticmethod
    def write(conn: Connection, rows: Sequence[Row]) -> None:
        """Insert, replace or (value None) delete rows, on a connection the caller holds."""
        for namespace, key, value in rows:
            if value is None:
                conn.execute("DELETE FROM kv WHERE namespace = %s AND key = %s", (namespace, key))
            else:
                conn.execute(
                    "INSERT INTO kv (namespace, key, value) VALUES (%s, %s, %s)"
                    " ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value",
                    (namespace, key, value),
                )

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction, for writes that must land together (see PostgresIntake.done)."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        self._pool.close()


class PostgresIntake(SqlIntake):
    """The durable intake in the `intake` table (made by the migrations), sharing the state's pool and
    transactions."""

    def __init__(self, storage: PostgresStorage) -> None:
        super().__init__(storage, pyformat)


class PostgresLog:
    """The question log's tables (bot.storage.question_log) on PostgreSQL: one connection of its own,
    opened again when the server dropped it, so a restarted server costs the writes made while it was away
    (logged), never an answer."""

    errors: tuple[type[Exception], ...] = (psycopg.Error,)
    find = "strpos"
    day = "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def __init__(self, url: str, data_dir: Path, timeout: float = CONNECT_SECONDS) -> None:
        self.url = url
        self.data_dir = data_dir
        self.place = describe(url)
        self._timeout = timeout
        try:
            self._conn = self._connect()
            migrate(self._conn)
        except psycopg.Error as exc:
            raise StorageError(f"cannot use the database at {self.place}: {first_line(exc)}") from None

    def _connect(self) -> Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._timeout)))

    def _connection(self) -> Connection:
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> psycopg.Cursor[tuple[Any, ...]]:
        return self._connection().execute(pyformat(sql), tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self._connection().cursor() as cursor:
            cursor.executemany(pyformat(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._connection().transaction():
            yield

    def question_ids(self, count: int) -> list[int]:
        rows = self.execute("SELECT nextval('question_ids') FROM generate_series(1, ?)", (count,)).fetchall()
        return [int(n) for (n,) in rows]

    def salt(self) -> bytes:
        """The salt in the database, shared by every replica. The first to need one puts it there: the
        salt DATA_DIR already has (the people already in the log keep their names), or a new one."""
        seed = read_salt(self.data_dir) or new_salt()
        self.execute(
            "INSERT INTO deployment (name, value) VALUES ('salt', ?) ON CONFLICT (name) DO NOTHING", (seed,)
        )
        row = self.execute("SELECT value FROM deployment WHERE name = 'salt'").fetchone()
        return parse_salt(str(row[0]) if row else "", f"the salt in {self.place}")

    def close(self) -> None:
        self._conn.close()
