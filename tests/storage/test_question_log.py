"""The question log: what is recorded, what is never recorded, and how long it is kept. The tests about
what the log stores run against each database (the SQLite file in DATA_DIR, and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pg import PgServer

from bot.content.model import Entry
from bot.core.events import CheckCancelled, CheckFinished, CheckStarted, RedFlagRaised, Voted
from bot.core.matching import Match
from bot.core.ranking import Candidate
from bot.storage.database import DB_NAME
from bot.storage.log_sql import SqliteLog
from bot.storage.question_log import SALT_NAME, QuestionLog, QuestionLogError, stored_check_event
from bot.storage.salt import pseudonym
from bot.storage.summary import Asked, group_similar, summarise
from bot.telegram.admin import short_stats

USER = 987_654_321
OTHER = 123_456_789
GROUP_CHAT = -1_001_234_567_890
NOW = 1_750_000_000.0  # a fixed clock: 2025-06-15 15:06 UTC
DAY = 86_400.0


def entry(entry_id: str) -> Entry:
    return Entry(entry_id, "cause", entry_id.replace("-", " ").title(), ("q?",), "a.", ())


def answered(entry_id: str = "tight-hamstrings", score: float = 81.5) -> Match:
    return Match("confident", entry(entry_id), score, (Candidate(entry("stretch-hamstrings"), 60.0),))


def unsure() -> Match:
    return Match("unsure", entry("back-support"), 41.0, (Candidate(entry("strengthen-core"), 39.0),))


def no_match() -> Match:
    return Match("none", None, 0.0, (), "off-topic: another joint")


@dataclass(frozen=True)
class LogPlace:
    """Where a test's log lives: DATA_DIR (its salt, and with no database_url its SQLite file), and the
    PostgreSQL database when there is one."""

    data_dir: Path
    database_url: str = ""

    def open(self, **options: Any) -> QuestionLog:
        return QuestionLog.open(self.data_dir, database_url=self.database_url, **options)


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> LogPlace:
    if request.param == "sqlite":
        return LogPlace(tmp_path)
    return LogPlace(tmp_path, request.getfixturevalue("pg_server").fresh_database())


@pytest.fixture
def log(place: LogPlace) -> Iterator[QuestionLog]:
    with place.open() as a:
        yield a


def on_sqlite(a: QuestionLog) -> bool:
    return isinstance(a._db, SqliteLog)


def peek(a: QuestionLog, sql: str) -> list[tuple[Any, ...]]:
    """What another reader of the database (the report) sees now, through a connection of its own."""
    if on_sqlite(a):
        con = sqlite3.connect(a.path)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    import psycopg

    with psycopg.connect(a._db.url) as conn:  # type: ignore[attr-defined]
        return conn.execute(sql).fetchall()


def rows(a: QuestionLog, sql: str) -> list[tuple[Any, ...]]:
    """What another reader of the database (the report) sees once the bot has written its batch."""
    a.flush()
    return peek(a, sql)


def read_only(a: QuestionLog, on: bool) -> None:
    """The database refuses writes (a full disk, a read-only replica) from now on, or again takes them."""
    if on_sqlite(a):
        a._db.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
    else:
        a._db.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


# -------------------------------------------------------------------------------------------- privacy
def test_salt_is_created_once_private_and_reused(tmp_path: Path) -> None:
    place = LogPlace(tmp_path)
    with place.open() as a:
        a.record_question(USER, USER, "private", "why does my back hurt", answered(), at=NOW)
    salt = (place.data_dir / SALT_NAME).read_bytes()
    assert len(salt.strip()) == 64
    assert stat.S_IMODE((place.data_dir / SALT_NAME).stat().st_mode) == 0o600

    with place.open() as again:
        again.record_question(USER, USER, "private", "and again", answered(), at=NOW)
    assert (place.data_dir / SALT_NAME).read_bytes() == salt
    hashes = {h for (h,) in rows(again, "SELECT user_hash FROM analytics_questions")}
    assert len(hashes) == 1, "the same person keeps the same pseudonym across restarts"


def test_replicas_on_one_database_share_its_salt_and_take_over_data_dirs(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = pg_server.fresh_database()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    (first / SALT_NAME).write_text("ab" * 32 + "\n")  # a deployment that moved from SQLite
    with LogPlace(first, url).open() as a, LogPlace(second, url).open() as b:
        a.record_question(USER, USER, "private", "through one replica", answered(), at=NOW)
        b.record_question(USER, USER, "private", "through another", answered(), at=NOW)
        b.record_question(OTHER, OTHER, "private", "someone else", answered(), at=NOW)
        a.flush()
        b.flush()
        hashes = dict(rows(b, "SELECT text, user_hash FROM analytics_questions"))
        ids = [i for (i,) in rows(b, "SELECT id FROM analytics_questions")]
    assert hashes["through one replica"] == hashes["through another"] != hashes["someone else"]
    assert hashes["through one replica"] == pseudonym(bytes.fromhex("ab" * 32), "user", USER)
    assert not (second / SALT_NAME).exists(), "the salt lives in the database, not in each DATA_DIR"
    assert len(ids) == len(set(ids)) == 3, "replicas never hand out the same question id"


def test_the_same_person_is_counted_once_and_different_people_apart(log: QuestionLog) -> None:
    log.record_question(USER, USER, "private", "first", answered(), at=NOW)
    log.record_question(USER, GROUP_CHAT, "supergroup", "second", answered(), at=NOW)
    log.record_question(OTHER, OTHER, "private", "third", answered(), at=NOW)
    by_text = dict(rows(log, "SELECT text, user_hash FROM analytics_questions"))
    assert by_text["first"] == by_text["second"] != by_text["third"]
    totals = summarise(log, 7, now=NOW).totals
    assert (totals.questions, totals.askers, totals.repeat_askers) == (3, 2, 1)


def test_a_new_salt_gives_everyone_new_pseudonyms(tmp_path: Path) -> None:
    seen = []
    for name in ("one", "two"):
        with QuestionLog.open(tmp_path / name) as a:
            a.record_question(USER, USER, "private", "hi", no_match(), at=NOW)
            hashes = rows(a, "SELECT user_hash FROM analytics_questions")
        assert len(hashes) == 1
        seen.append(hashes[0])
    assert seen[0] != seen[1]


def test_no_telegram_id_is_stored_anywhere(log: QuestionLog) -> None:
    """Every column of every analytics table, and the raw bytes of the database files."""
    log.record_question(USER, USER, "private", "my back hurts", answered(), at=NOW)
    qid = log.record_question(USER, GROUP_CHAT, "group", "which belt?", unsure(), at=NOW)
    log.record_question(USER, GROUP_CHAT, "group", "knee?", no_match(), at=NOW)
    log.record_feedback(USER, False, question_id=qid, text="which brand to buy", at=NOW)
    log.record_feedback(USER, True, entry_id="tight-hamstrings", at=NOW)
    log.record_check(USER, USER, CheckStarted(), at=NOW)
    log.record_check(USER, USER, CheckFinished("tight-hamstrings"), at=NOW)

    if on_sqlite(log):
        tables = [t for (t,) in rows(log, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        listed = "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'analytics%'"
        tables = [t for (t,) in rows(log, listed)]
    assert {"analytics_questions", "analytics_feedback", "analytics_checks"} <= set(tables)
    secrets = (str(USER), str(GROUP_CHAT), str(abs(GROUP_CHAT)))
    for table in tables:
        if on_sqlite(log):
            columns = [c[1] for c in rows(log, f"PRAGMA table_info({table})")]
        else:
            listed = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
            columns = [c for (c,) in rows(log, listed)]
        assert columns, table
        assert not {"user_id", "chat_id", "username", "first_name", "name"} & set(columns), table
        for row in rows(log, f"SELECT * FROM {table}"):
            for value in row:
                assert not any(s in str(value) for s in secrets), (table, row)
    files = [log.path, log.path.with_name(DB_NAME + "-wal")] if on_sqlite(log) else []
    blob = b"".join(p.read_bytes() for p in files if p.exists())
    assert not any(s.encode() in blob for s in secrets)


# ------------------------------------------------------------------------------------------ recording
def test_each_outcome_is_recorded_with_its_entry_score_and_candidates(log: QuestionLog) -> None:
    log.record_question(USER, USER, "private", "tight hammies?", answered(), at=NOW)
    log.record_question(USER, USER, "private", "belt or not", unsure(), at=NOW)
    log.record_question(USER, USER, "private", "my knee", no_match(), at=NOW)
    log.record_question(USER, USER, "private", "numb legs", None, urgent=True, at=NOW)
    got = rows(
        log, "SELECT text, chat_type, outcome, entry_id, score, candidates, reason FROM analytics_questions"
    )
    assert got == [
        (
            "tight hammies?",
            "private",
            "answered",
            "tight-hamstrings",
            81.5,
            "tight-hamstrings stretch-hamstrings",
            "",
        ),
        ("belt or not", "private", "unsure", "back-support", 41.0, "back-support strengthen-core", ""),
        ("my knee", "private", "none", None, 0.0, "", "off-topic: another joint"),
        ("numb legs", "private", "urgent", None, None, "", ""),
    ]
    t = summarise(log, 1, now=NOW).totals
    assert (t.answered, t.unsure, t.no_match, t.urgent) == (1, 1, 1, 1)


def test_a_very_long_message_is_cut(log: QuestionLog) -> None:
    log.record_question(USER, USER, "private", "x" * 50_000, no_match(), at=NOW)
    ((n,),) = rows(log, "SELECT length(text) FROM analytics_questions")
    assert n == 1000


def test_questions_wait_for_their_batch_keep_their_ids_and_are_written_in_order(log: QuestionLog) -> None:
    ids = [log.record_question(i, i, "private", f"question {i}", answered(), at=NOW) for i in range(250)]
    assert ids == list(range(ids[0], ids[0] + 250)), "each question has its id before it is written"
    ((written,),) = peek(log, "SELECT count(*) FROM analytics_questions")
    assert written == 200, "full batches of 100 are written at once, the rest waits for flush()"
    assert [
        (qid, text) for qid, text in rows(log, "SELECT id, text FROM analytics_questions ORDER BY id")
    ] == [(qid, f"question {i}") for i, qid in enumerate(ids)]


def test_waiting_questions_are_written_when_the_log_closes(place: LogPlace) -> None:
    with place.open() as a:
        qid = a.record_question(USER, USER, "private", "hi", no_match(), at=NOW)
    with place.open() as a:
        assert rows(a, "SELECT id, text FROM analytics_questions") == [(qid, "hi")]
        again = a.record_question(USER, USER, "private", "again", no_match(), at=NOW)
        assert again is not None and again > (qid or 0), "ids go on after the ones written"


def test_feedback_on_a_question_still_waiting_is_linked_to_it(log: QuestionLog) -> None:
    qid = log.record_question(USER, USER, "private", "belt?", answered(), at=NOW)
    assert log.record_feedback(USER, False, question_id=qid, at=NOW) is not None
    assert rows(log, "SELECT question_id, entry_id FROM analytics_feedback") == [(qid, answered().entry.id)]


def test_a_lone_surrogate_is_stored_as_a_replacement_character(log: QuestionLog) -> None:
    log.record_question(USER, USER, "private", "back \udc80 pain", no_match(), at=NOW)
    assert rows(log, "SELECT text FROM analytics_questions") == [("back ? pain",)]


def test_a_failed_write_is_logged_and_the_bot_carries_on(
    log: QuestionLog, caplog: pytest.LogCaptureFixture
) -> None:
    read_only(log, True)
    qid = log.record_question(USER, USER, "private", "lost", no_match())
    assert log.record_check(USER, USER, CheckStarted()) is False  # writing it first writes the waiting batch
    if on_sqlite(log):  # the file numbers questions itself: the row waits for its batch, and fails there
        assert qid is not None and "could not record 1 question(s)" in caplog.text
    else:  # the server hands out question ids: none while it refuses writes, and the answer goes on
        assert qid is None and "could not record a question" in caplog.text
    assert "could not record a check event" in caplog.text
    read_only(log, False)
    assert log.record_question(USER, USER, "private", "kept", no_match()) is not None
    assert rows(log, "SELECT text FROM analytics_questions") == [("kept",)]


# ------------------------------------------------------------------------------------------- feedback
def test_feedback_is_linked_to_the_question_and_a_second_press_changes_the_vote(log: QuestionLog) -> None:
    qid = log.record_question(USER, USER, "private", "do I need a belt", answered("back-support"), at=NOW)
    f1 = log.record_feedback(USER, True, question_id=qid, at=NOW)
    f2 = log.record_feedback(USER, False, question_id=qid, at=NOW + 5)
    f3 = log.record_feedback(USER, False, question_id=qid, text="  which   brand\nto buy ", at=NOW + 30)
    assert f1 == f2 == f3
    assert rows(log, "SELECT question_id, entry_id, positive, missing FROM analytics_feedback") == [
        (qid, "back-support", 0, "which brand to buy")
    ]
    # a later press without text keeps what was missing
    log.record_feedback(USER, False, question_id=qid, at=NOW + 60)
    assert rows(log, "SELECT missing FROM analytics_feedback") == [("which brand to buy",)]

    report = summarise(log, 7, now=NOW + 60)
    (stat_,) = report.disliked
    assert (stat_.entry_id, stat_.asked, stat_.positive, stat_.negative) == ("back-support", 1, 0, 1)
    assert stat_.missing == ("which brand to buy",)


def test_in_a_group_each_person_votes_once_on_the_same_answer(log: QuestionLog) -> None:
    qid = log.record_question(USER, GROUP_CHAT, "group", "belt?", answered("back-support"), at=NOW)
    log.record_feedback(USER, True, question_id=qid, at=NOW)
    log.record_feedback(OTHER, False, question_id=qid, at=NOW)
    log.record_feedback(OTHER, False, question_id=qid, at=NOW)
    (top,) = summarise(log, 1, now=NOW).top_entries
    assert (top.positive, top.negative) == (1, 1)


def test_feedback_on_an_entry_opened_from_a_button(log: QuestionLog) -> None:
    assert log.record_feedback(USER, False, entry_id="spinal-stenosis", at=NOW) is not None
    assert log.record_feedback(USER, False, entry_id="spinal-stenosis", text="what about surgery", at=NOW)
    assert rows(log, "SELECT question_id, entry_id, positive, missing FROM analytics_feedback") == [
        (None, "spinal-stenosis", 0, "what about surgery")
    ]


def test_feedback_that_points_nowhere_is_dropped(log: QuestionLog) -> None:
    assert log.record_feedback(USER, True, question_id=999) is None
    qid = log.record_question(USER, USER, "private", "knee?", no_match(), at=NOW)
    assert log.record_feedback(USER, True, question_id=qid) is None
    # an unknown (e.g. purged) question still counts for the entry the button named
    assert log.record_feedback(USER, True, question_id=999, entry_id="core-exercises") is not None
    assert rows(log, "SELECT question_id, entry_id FROM analytics_feedback") == [(None, "core-exercises")]


# -------------------------------------------------------------------------------------- questionnaire
def test_check_event_names_from_the_dialogue_are_understood() -> None:
    assert stored_check_event(CheckStarted()) == ("started", None)
    assert stored_check_event(CheckFinished(None)) == ("finished", None)
    assert stored_check_event(CheckFinished("tight-hamstrings")) == ("finished", "tight-hamstrings")
    assert stored_check_event(RedFlagRaised("numbness", in_check=True)) == ("red-flag", None)
    assert stored_check_event(RedFlagRaised("numbness", in_check=False)) is None
    assert stored_check_event(Voted("x", True)) is None


def test_the_funnel_counts_starts_finishes_red_flags_and_top_causes(log: QuestionLog) -> None:
    for user in range(5):
        assert log.record_check(user, user, CheckStarted(), at=NOW)
    log.record_check(0, 0, CheckFinished("tight-hamstrings"), at=NOW)
    log.record_check(1, 1, CheckFinished("tight-hamstrings"), at=NOW)
    log.record_check(2, 2, CheckFinished("incorrect-form"), at=NOW)
    log.record_check(3, 3, RedFlagRaised("numbness", in_check=True), at=NOW)
    log.record_check(4, 4, CheckCancelled(), at=NOW)
    assert log.record_check(4, 4, RedFlagRaised("numbness", in_check=False), at=NOW) is False
    f = summarise(log, 1, now=NOW).funnel
    assert (f.started, f.finished, f.red_flag, f.cancelled, f.expired) == (5, 3, 1, 1, 0)
    assert f.top_causes == (("tight-hamstrings", 2), ("incorrect-form", 1))


def test_a_check_soon_after_a_question_marks_that_question(log: QuestionLog) -> None:
    log.record_question(USER, USER, "private", "long ago", answered(), at=NOW - 3 * 3600)
    log.record_question(USER, USER, "private", "just now", answered(), at=NOW - 60)
    log.record_question(USER, GROUP_CHAT, "group", "in the group", answered(), at=NOW - 120)
    log.record_question(OTHER, OTHER, "private", "someone else", answered(), at=NOW - 60)
    log.record_check(USER, USER, CheckStarted(), at=NOW)  # the group's deep link opens the private chat
    marked = dict(rows(log, "SELECT text, took_check FROM analytics_questions"))
    assert marked == {"long ago": 0, "just now": 1, "in the group": 1, "someone else": 0}
    assert summarise(log, 1, now=NOW).totals.took_check == 2


# ------------------------------------------------------------------------------------------ retention
def test_purge_removes_old_rows_of_every_kind_and_keeps_recent_ones(log: QuestionLog) -> None:
    old = log.record_question(USER, USER, "private", "old", answered(), at=NOW - 100 * DAY)
    log.record_feedback(USER, False, question_id=old, at=NOW - 100 * DAY)
    log.record_check(USER, USER, CheckStarted(), at=NOW - 100 * DAY)
    new = log.record_question(USER, USER, "private", "new", answered(), at=NOW - DAY)
    log.record_feedback(USER, True, question_id=new, at=NOW - DAY)
    log.record_check(USER, USER, CheckStarted(), at=NOW - DAY)

    assert log.purge(now=NOW) == 1  # the default retention: 90 days
    assert rows(log, "SELECT text FROM analytics_questions") == [("new",)]
    assert rows(log, "SELECT question_id FROM analytics_feedback") == [(new,)]
    assert len(rows(log, "SELECT * FROM analytics_checks")) == 1
    assert log.purge(0.5, now=NOW) == 1
    assert rows(log, "SELECT COUNT(*) FROM analytics_feedback") == [(0,)]


def test_forget_deletes_everything_one_person_added_and_nothing_else(log: QuestionLog) -> None:
    qid = log.record_question(USER, USER, "private", "mine", answered(), at=NOW)
    log.record_feedback(USER, False, question_id=qid, text="which stretch", at=NOW)
    log.record_check(USER, USER, CheckStarted(), at=NOW)
    other = log.record_question(OTHER, OTHER, "private", "theirs", answered(), at=NOW)
    log.record_feedback(OTHER, True, question_id=other, at=NOW)
    log.record_question(USER, USER, "private", "still waiting for its batch", no_match(), at=NOW)

    assert log.forget(USER) == 3  # the written question, its vote, the check event (and the waiting one)
    assert rows(log, "SELECT text FROM analytics_questions") == [("theirs",)]
    assert rows(log, "SELECT question_id FROM analytics_feedback") == [(other,)]
    assert rows(log, "SELECT COUNT(*) FROM analytics_checks") == [(0,)]
    assert log.forget(USER) == 0


def test_retention_is_configurable(place: LogPlace) -> None:
    with place.open(retention_days=7) as a:
        a.record_question(USER, USER, "private", "ten days ago", answered(), at=NOW - 10 * DAY)
        a.record_question(USER, USER, "private", "yesterday", answered(), at=NOW - DAY)
        assert a.purge(now=NOW) == 1
        assert rows(a, "SELECT text FROM analytics_questions") == [("yesterday",)]


def test_the_bots_other_tables_in_the_same_file_are_left_alone(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / DB_NAME)
    con.execute("CREATE TABLE persistence_user_data (key TEXT, value TEXT)")
    con.execute("INSERT INTO persistence_user_data VALUES ('1', '{}')")
    con.commit()
    con.close()
    with QuestionLog.open(tmp_path) as a:
        a.record_question(USER, USER, "private", "old", answered(), at=NOW - 100 * DAY)
        a.purge(now=NOW)
        assert rows(a, "SELECT * FROM persistence_user_data") == [("1", "{}")]


# --------------------------------------------------------------------------------------- two processes
def test_the_bot_and_the_report_can_use_the_file_at_once(tmp_path: Path) -> None:
    bot = QuestionLog.open(tmp_path)
    reader = QuestionLog.open(tmp_path, create=False)
    try:
        assert rows(bot, "PRAGMA journal_mode") == [("wal",)]
        bot._db.execute("BEGIN")  # a reader must not wait for a writer's open transaction
        bot._db.execute("INSERT INTO analytics_meta VALUES ('probe', 'x')")
        assert summarise(reader, 1, now=NOW).totals.questions == 0
        bot._db.execute("ROLLBACK")
        bot.record_question(USER, USER, "private", "hi", no_match(), at=NOW)
        bot.flush()  # every second in the running bot
        assert summarise(reader, 1, now=NOW).totals.questions == 1
    finally:
        bot.close()
        reader.close()


def test_the_report_does_not_create_a_database_where_there_is_none(tmp_path: Path) -> None:
    with pytest.raises(QuestionLogError, match="no database at"):
        QuestionLog.open(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_a_damaged_salt_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / SALT_NAME).write_text("not hex")
    with pytest.raises(QuestionLogError, match="not a valid salt"):
        QuestionLog.open(tmp_path)
    assert (tmp_path / SALT_NAME).read_text() == "not hex"


# ------------------------------------------------------------------------------------------- grouping
def test_similar_questions_are_grouped_most_frequent_first() -> None:
    asked = [
        Asked("What shoes should I wear for leg day?", "a"),
        Asked("best shoes for leg day", "b"),
        Asked("which shoes for leg day", "c"),
        Asked("hi", "a"),
        Asked("hi", "d"),
        Asked("is leg press bad for knees", "e"),
        Asked("Is leg press bad for knees??", "f"),
        Asked("🙂🙂", "g"),
    ]
    groups = [[a.text for a in g] for g in group_similar(asked)]
    assert sorted(groups[0]) == [
        "What shoes should I wear for leg day?",
        "best shoes for leg day",
        "which shoes for leg day",
    ]
    assert ["is leg press bad for knees", "Is leg press bad for knees??"] in groups
    assert ["hi", "hi"] in groups
    assert all("🙂🙂" not in g for g in groups), "a message without words is noise"


def test_short_stats_are_short_html_with_what_people_typed_escaped(log: QuestionLog) -> None:
    for i in range(3):
        log.record_question(i, i, "private", "<b>knee</b> & hip?", no_match())
    log.record_question(9, 9, "private", "tight hams", answered())
    html = short_stats(log, 7, None)
    assert html.startswith("<b>Last 7 days</b>: 4 questions from 4 people")
    assert "3× “&lt;b&gt;knee&lt;/b&gt; &amp; hip?”" in html
    assert "<b>knee</b>" not in html
    assert "Most asked: tight-hamstrings 1" in html
    assert len(html) < 1000
