"""`legpress-bot storage copy --to postgresql://…`: a deployment's SQLite DATA_DIR moved into PostgreSQL.

Everything the file holds goes in one transaction: the state rows, the durable intake (pending updates,
and the marks of done ones, so an update Telegram sends again is still recognised), and the question log
with its ids (votes keep pointing at their questions). The target must be empty: a second copy, or a
copy onto a database a bot already uses, is refused before anything is written. DATA_DIR's salt goes into
the database too: the log's pseudonyms are made with it, and every replica must use the same one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bot.storage.database import DB_NAME, StorageError, first_line, open_database
from bot.storage.postgres import describe, migrate
from bot.storage.salt import read_salt

# what is copied, parents first (feedback refers to questions), with the columns both schemas share
TABLES: dict[str, tuple[str, ...]] = {
    "kv": ("namespace", "key", "value"),
    "intake": ("update_id", "received", "body"),
    "analytics_questions": tuple(
        "id ts chat_type chat_hash user_hash text outcome entry_id score candidates reason took_check".split()
    ),
    "analytics_feedback": ("id", "ts", "question_id", "user_hash", "entry_id", "positive", "missing"),
    "analytics_checks": ("id", "ts", "user_hash", "chat_hash", "event", "top_cause"),
}
NUMBERED = ("analytics_feedback", "analytics_checks")  # ids the database hands out: continued after a copy


class CopyError(Exception):
    """The copy cannot be made (no source, an unreachable or non-empty target); nothing was written."""


@dataclass(frozen=True)
class Copied:
    source: str
    target: str
    rows: dict[str, int]

    def summary(self) -> str:
        counts = ", ".join(f"{table} {n}" for table, n in self.rows.items())
        return f"copied {self.source} to {self.target}: {counts}"


def read_source(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row the copy takes from the SQLite file; tables an older file does not have are empty."""
    if not path.exists():
        raise CopyError(f"no database at {path} (set DATA_DIR or --data-dir to the bot's data folder)")
    try:
        db = open_database(path, recover=False)
    except StorageError as exc:
        raise CopyError(str(exc)) from None
    try:
        present = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {
            table: db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1").fetchall()
            if table in present
            else []
            for table, columns in TABLES.items()
        }
    except sqlite3.Error as exc:
        raise CopyError(f"cannot read {path}: {exc}") from None
    finally:
        db.close()


def copy_to_server(data_dir: Path, url: str) -> Copied:
    """Copy DATA_DIR's database into the (empty) PostgreSQL database at `url`, in one transaction."""
    path = data_dir / DB_NAME
    source = read_source(path)
    target = describe(url)
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            migrate(conn)
            with conn.transaction():
                # no bot writes while we look and copy: "empty" stays true until the copy is committed
                conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
                for table in TABLES:
                    if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone() == (True,):
                        raise CopyError(f"{target} already holds data (table {table}): nothing copied")
                with conn.cursor() as cursor:
                    for table, columns in TABLES.items():
                        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                            for row in source[table]:
                                copy.write_row(row)
                for table in NUMBERED:
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1,"
                        f" false) FROM {table}"
                    )
                conn.execute(
                    "SELECT setval('question_ids', COALESCE(MAX(id), 0) + 1, false) FROM analytics_questions"
                )
                salt = read_salt(data_dir)
                if salt is not None:  # the people in the copied log keep their names
                    conn.execute(
                        "INSERT INTO deployment (name, value) VALUES ('salt', %s)"
                        " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                        (salt,),
                    )
    except psycopg.Error as exc:
        raise CopyError(f"cannot copy to the database at {target}: {first_line(exc)}") from None
    return Copied(str(path), target, {table: len(rows) for table, rows in source.items()})
