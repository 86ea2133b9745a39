"""The question log: what people ask, how the bot answered, what they thought of it, how the check went.

It lives in the same SQLite file as the bot's persistence (DATA_DIR/bot.sqlite3), in its own `analytics_`
tables, so a deployment has one file to back up (with DATABASE_URL the same tables are on PostgreSQL:
bot.storage.log_sql says what differs). Nobody can be identified from it: Telegram user and chat ids are
stored only as salted hashes (the salt is DATA_DIR/salt, created once, mode 0600, whichever database holds
the rows), so repeat askers can be counted but not named. Rows older than the retention period are
removed by `purge`.

Writes are short transactions in WAL mode, so the bot (writing) and `legpress-bot report` (reading) can use
the file at the same time. A failed write is logged and never reaches the person chatting. Questions, the
one row nearly every message adds, are written in batches: `record_question` gives the row its id at once
and `flush` writes what is waiting in one transaction (the bot flushes every second, before every other
write or read, and when it stops), so a crash costs at most the last second of the log, never an answer.
The bot is the log's only writer; the report only reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot.core.events import (
    CheckCancelled,
    CheckExpired,
    CheckFinished,
    CheckStarted,
    Event,
    RedFlagRaised,
)
from bot.core.matching import Match
from bot.storage.database import DB_NAME, StorageError, first_line, open_database
from bot.storage.log_sql import CHECK_EVENTS as CHECK_EVENTS
from bot.storage.log_sql import OUTCOMES as OUTCOMES
from bot.storage.log_sql import CheckName, LogDatabase, SqliteLog, Verdict
from bot.storage.salt import SALT_NAME as SALT_NAME
from bot.storage.salt import load_salt, pseudonym
from bot.text import one_line

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_RETENTION_DAYS = 90
SCHEMA_VERSION = "1"  # of the SQLite tables; on PostgreSQL the migrations number the schema
MAX_TEXT_CHARS = 1000  # longer messages are stories; the head says what they were about
MAX_MISSING_CHARS = 500
CHECK_WINDOW_SECONDS = 30 * 60  # a check started this soon after a question counts as "then took the check"
FLUSH_ROWS = 100  # questions waiting for their batch: written at once when this many wait
LINK_SECONDS = 24 * 3600  # a vote belongs to a question asked at most this long before it
WAITING_USER = 4  # a waiting question row: (id, ts, chat_type, chat_hash, user_hash, ...)
QUESTION_IDS_AT_ONCE = 20  # question ids taken from the database in one call
PSEUDONYMS_KEPT = 10_000  # hashed ids kept in memory (about 1 MB), forgotten all at once beyond that


class QuestionLogError(Exception):
    """The question log cannot be opened (missing database, unreadable salt)."""


# ----------------------------------------------------------------------------------------- pure helpers
def verdict_of(match: Match | None, urgent: bool = False) -> Verdict:
    if urgent:
        return "urgent"
    if match is None or match.entry is None or match.band == "none":
        return "none"
    return "answered" if match.band == "confident" else "unsure"


def stored_check_event(event: Event) -> tuple[CheckName, str | None] | None:
    """A check event as the log stores it: its name and, for a finished check, the top cause. A red flag in
    free text is a question (stored with the question), not a check event: None."""
    match event:
        case CheckStarted():
            return "started", None
        case CheckFinished(top_cause=cause):
            return "finished", cause
        case CheckCancelled():
            return "cancelled", None
        case CheckExpired():
            return "expired", None
        case RedFlagRaised(in_check=True):
            return "red-flag", None
    return None


def storable(text: str) -> str:
    """Text either database takes: a lone surrogate becomes "?", and NUL (PostgreSQL refuses it) goes."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def latest_question(db: LogDatabase, user: str, chat: str, entry_id: str, since: float) -> int | None:
    """The id of this person's latest question in this chat since `since` that led to the entry (as the
    answer, or as one of the "did you mean" choices), or None."""
    row = db.execute(
        "SELECT id FROM analytics_questions WHERE user_hash = ? AND ts >= ? AND chat_hash = ?"
        " AND outcome IN ('answered', 'unsure')"
        f" AND (entry_id = ? OR {db.find}(' ' || candidates || ' ', ' ' || CAST(? AS TEXT) || ' ') > 0)"
        " ORDER BY ts DESC, id DESC LIMIT 1",
        (user, since, chat, entry_id, entry_id),
    ).fetchone()
    return int(row[0]) if row is not None else None


# -------------------------------------------------------------------------------------------- the log
class QuestionLog:
    """The question log of one deployment. Safe to share between the bot's handlers and jobs (a lock
    serialises use of the connection) and to open from another process at the same time."""

    def __init__(self, db: LogDatabase, salt: bytes | None, data_dir: Path, retention_days: int) -> None:
        self._db = db
        self._salt = salt
        self._lock = threading.Lock()
        self._waiting: list[tuple[object, ...]] = []  # question rows not written yet, with their ids
        self._question_ids: list[int] = []  # handed out by the database, a few at a time
        self._pseudonyms: dict[tuple[str, int | str], str] = {}
        self.data_dir = data_dir  # where the salt is, whichever database holds the rows
        self.place = db.place
        self.retention_days = retention_days

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        create: bool = True,
        database_url: str = "",
    ) -> QuestionLog:
        """Open (and, with `create`, make) DATA_DIR/bot.sqlite3 and the salt. With create=False, a missing
        database raises QuestionLogError and no salt is made: the report only reads. With a database_url
        the rows and the salt are on PostgreSQL (DATA_DIR's salt is taken over: pseudonyms do not change)."""
        data = Path(data_dir)
        if database_url:
            return cls._open_server(data, database_url, retention_days, create)
        path = data / DB_NAME
        if not create and not path.exists():
            raise QuestionLogError(
                f"no database at {path} (set DATA_DIR or --data-dir to the bot's data folder)"
            )
        data.mkdir(parents=True, exist_ok=True)
        try:
            salt = load_salt(data) if create else None
        except StorageError as exc:
            raise QuestionLogError(str(exc)) from None
        try:
            # checked as the persistence does: a damaged file is moved aside by the bot, never by the report
            conn = open_database(path, recover=create, timeout=2.0)
        except StorageError as exc:
            raise QuestionLogError(str(exc)) from None
        try:
            db = SqliteLog(conn, str(path), data)
            conn.execute(
                "INSERT OR IGNORE INTO analytics_meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
        except SqliteLog.errors as exc:
            conn.close()
            raise QuestionLogError(f"{path}: {exc}") from exc
        return cls(db, salt, data, retention_days)

    @classmethod
    def _open_server(cls, data: Path, url: str, retention_days: int, create: bool) -> QuestionLog:
        try:
            from bot.storage.postgres import PostgresLog

            db = PostgresLog(url, data)
            return cls(db, db.salt() if create else None, data, retention_days)
        except (StorageError, OSError, ImportError) as exc:
            raise QuestionLogError(str(exc)) from None

    @property
    def path(self) -> Path:
        """The embedded SQLite file in DATA_DIR."""
        return self.data_dir / DB_NAME

    def close(self) -> None:
        with self._lock:
            self._flush_waiting()
            self._db.close()

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------------- helpers
    def _hash(self, kind: str, ident: int | str) -> str:
        """Kept for the people and chats seen lately: a salted hash costs more than the row it goes in."""
        name = self._pseudonyms.get((kind, ident))
        if name is None:
            if self._salt is None:
                self._salt = self._db.salt()
            if len(self._pseudonyms) >= PSEUDONYMS_KEPT:
                self._pseudonyms.clear()
            name = self._pseudonyms[(kind, ident)] = pseudonym(self._salt, kind, ident)
        return name

    def _write(self, what: str, work: Callable[[LogDatabase], T]) -> T | None:
        """Run `work` in one short transaction. A database failure (locked, read-only, full disk) is
        logged and gives None: the log must never stop an answer."""
        with self._lock:
            self._flush_waiting()  # feedback and check events refer to the questions before them
            return self._transaction(what, work)

    def _transaction(self, what: str, work: Callable[[LogDatabase], T]) -> T | None:
        """With the lock held: `work` in one transaction, or None and a warning when it fails."""
        try:
            with self._db.transaction():
                return work(self._db)
        except self._db.errors as exc:
            log.warning("analytics: could not record %s: %s", what, first_line(exc))
            return None

    def flush(self) -> None:
        """Write the questions waiting for their batch."""
        with self._lock:
            self._flush_waiting()

    def _flush_waiting(self) -> None:
        """With the lock held: one transaction for all waiting questions. A failure loses that batch of
        the log (logged), nothing else; feedback on a lost question is kept on its entry alone."""
        if not self._waiting:
            return
        rows, self._waiting = self._waiting, []
        self._transaction(
            f"{len(rows)} question(s)",
            lambda db: db.executemany(
                "INSERT INTO analytics_questions (id, ts, chat_type, chat_hash, user_hash, text, outcome,"
                " entry_id, score, candidates, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            ),
        )

    def _question_id(self) -> int:
        """With the lock held: the id the next question gets, before its row is written (the feedback
        buttons carry it). The database hands them out a few at a time, so replicas never share one."""
        if not self._question_ids:
            self._question_ids = self._db.question_ids(QUESTION_IDS_AT_ONCE)
        return self._question_ids.pop(0)

    # ------------------------------------------------------------------------------------- recording
    def record_question(
        self,
        user_id: int,
        chat_id: int,
        chat_type: str,
        text: str,
        match: Match | None,
        *,
        urgent: bool = False,
        at: float | None = None,
    ) -> int | None:
        """Log one free-text question and how it was answered (`match` from the dialogue's Outcome; pass
        urgent=True for a red-flag message). Returns the question id that feedback buttons refer to, or
        None if the log could not be read. The row is written with the next batch (see `flush`)."""
        outcome = verdict_of(match, urgent)
        entry_id = match.entry.id if match is not None and match.entry is not None else None
        candidates = " ".join(c.entry.id for c in match.candidates) if match is not None else ""
        row = (
            time.time() if at is None else at,
            chat_type,
            self._hash("chat", chat_id),
            self._hash("user", user_id),
            storable(text[:MAX_TEXT_CHARS]),
            outcome,
            entry_id if outcome in ("answered", "unsure") else None,
            round(match.score, 2) if match is not None and outcome != "urgent" else None,
            candidates if outcome != "urgent" else "",
            match.reason if match is not None else "",
        )

        with self._lock:
            try:
                qid = self._question_id()
            except self._db.errors as exc:
                log.warning("analytics: could not record a question: %s", first_line(exc))
                return None
            self._waiting.append((qid, *row))
            if len(self._waiting) >= FLUSH_ROWS:
                self._flush_waiting()
        return qid

    def record_feedback(
        self,
        user_id: int,
        positive: bool,
        *,
        question_id: int | None = None,
        entry_id: str | None = None,
        text: str | None = None,
        at: float | None = None,
        chat_id: int | None = None,
    ) -> int | None:
        """👍/👎 on an answer, linked to the question it answered (or, for an entry opened from a button,
        to the entry alone). One vote per person per question (or entry): pressing again changes it, and
        a later call with `text` adds what was missing. `entry_id` defaults to the entry the question was
        answered with. Returns the feedback id, or None when there is nothing to link it to.

        With `chat_id` and no `question_id`, the vote goes with this person's latest question in that chat,
        of the last day, that led to the entry: the link is found inside the log, through the salted names,
        so nothing in a person's own state needs to point into it."""
        ts = time.time() if at is None else at
        user = self._hash("user", user_id)
        chat = self._hash("chat", chat_id) if chat_id is not None else None
        missing = storable(one_line(text, MAX_MISSING_CHARS)) if text and text.strip() else None

        def upsert(db: LogDatabase) -> int | None:
            qid, eid = question_id, entry_id
            if qid is None and chat is not None and eid is not None:
                qid = latest_question(db, user, chat, eid, ts - LINK_SECONDS)
            if qid is not None:
                sql = "SELECT entry_id FROM analytics_questions WHERE id = ?"
                row = db.execute(sql, (qid,)).fetchone()
                if row is None:
                    qid = None  # purged or unknown: keep the vote on the entry alone
                elif eid is None:
                    eid = row[0]
            if eid is None:
                return None
            if qid is not None:
                conflict = "(question_id, user_hash) WHERE question_id IS NOT NULL"
            else:
                conflict = "(entry_id, user_hash) WHERE question_id IS NULL"
            cur = db.execute(
                "INSERT INTO analytics_feedback (ts, question_id, user_hash, entry_id, positive, missing)"
                f" VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT {conflict} DO UPDATE SET ts = excluded.ts,"
                " entry_id = excluded.entry_id, positive = excluded.positive,"
                " missing = COALESCE(excluded.missing, analytics_feedback.missing) RETURNING id",
                (ts, qid, user, eid, int(positive), missing),
            )
            return int(cur.fetchone()[0])

        return self._write("feedback", upsert)

    def record_check(self, user_id: int, chat_id: int, event: Event, *, at: float | None = None) -> bool:
        """A check event: started, finished (with the cause that came out on top), a red flag on the
        check's screen, cancelled, expired; any other event is ignored, so an adapter may pass every event
        of an Outcome. A start also marks this person's questions of the last half hour, in this chat or in
        a group (the check moves to a private chat), as followed by the check. True when recorded."""
        stored = stored_check_event(event)
        if stored is None:
            return False
        name, cause = stored
        ts = time.time() if at is None else at
        user, chat = self._hash("user", user_id), self._hash("chat", chat_id)

        def insert(db: LogDatabase) -> bool:
            db.execute(
                "INSERT INTO analytics_checks (ts, user_hash, chat_hash, event, top_cause)"
                " VALUES (?, ?, ?, ?, ?)",
                (ts, user, chat, name, cause),
            )
            if name == "started":
                db.execute(
                    "UPDATE analytics_questions SET took_check = 1 WHERE user_hash = ? AND ts BETWEEN ? AND ?"
                    " AND (chat_hash = ? OR chat_type != 'private')",
                    (user, ts - CHECK_WINDOW_SECONDS, ts, chat),
                )
            return True

        return self._write("a check event", insert) or False

    def forget(self, user_id: int) -> int:
        """Delete everything this person added: questions (waiting ones too), votes, check events.
        Returns the number of rows deleted (None-safe: 0 when the log could not be written)."""
        user = self._hash("user", user_id)
        with self._lock:
            self._waiting = [row for row in self._waiting if row[WAITING_USER] != user]

        def delete(db: LogDatabase) -> int:
            removed = 0
            for table in ("analytics_feedback", "analytics_checks", "analytics_questions"):
                removed += db.execute(f"DELETE FROM {table} WHERE user_hash = ?", (user,)).rowcount
            return removed

        return self._write("a deletion", delete) or 0

    def purge(self, older_than_days: float | None = None, *, now: float | None = None) -> int:
        """Remove everything older than the retention period (default: the one given to `open`).
        Returns the number of questions removed. The bot calls it daily."""
        days = self.retention_days if older_than_days is None else older_than_days
        cutoff = (time.time() if now is None else now) - days * 86400

        def delete(db: LogDatabase) -> int:
            removed = db.execute("DELETE FROM analytics_questions WHERE ts < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM analytics_feedback WHERE ts < ?", (cutoff,))
            db.execute("DELETE FROM analytics_checks WHERE ts < ?", (cutoff,))
            return removed

        return self._write("a purge", delete) or 0

    # --------------------------------------------------------------------------------------- reading
    def rows(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        """A read query, after the waiting questions are written (see bot.storage.summary)."""
        with self._lock:
            self._flush_waiting()
            return self._db.execute(sql, tuple(args)).fetchall()

    @property
    def day(self) -> str:
        """SQL for the UTC day (YYYY-MM-DD) of a row's `ts`, for reads through `rows`."""
        return self._db.day
