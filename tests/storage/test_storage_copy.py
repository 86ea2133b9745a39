"""`legpress-bot storage copy --to postgresql://…`: a SQLite DATA_DIR moved into PostgreSQL, once."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bot.cli import main
from bot.content.model import Entry
from bot.core.events import CheckFinished, CheckStarted
from bot.core.matching import Match
from bot.storage.database import DB_NAME
from bot.storage.intake import SqliteIntake
from bot.storage.postgres import PostgresIntake, PostgresStorage
from bot.storage.question_log import SALT_NAME, QuestionLog
from bot.storage.state import SqliteStorage
from bot.storage.summary import summarise

NOW = 1_750_000_000.0


def answered(entry_id: str = "tight-hamstrings") -> Match:
    return Match("confident", Entry(entry_id, "cause", "Tight", ("q?",), "a.", ()), 80.0, ())


def a_deployment(data: Path) -> int:
    """A DATA_DIR as a running bot leaves it: state, a pending and a done update, a question log. The id
    of the question that got a vote."""
    storage = SqliteStorage(data / DB_NAME)
    intake = SqliteIntake(storage)
    storage.save("user", "7", '{"step": 2}')
    storage.save("chat", "-100", '{"lang": "en"}')
    intake.store([(41, '{"update_id": 41}'), (42, '{"update_id": 42}')])
    intake.done(41, [("user", "8", '{"step": 1}')])
    storage.close()
    with QuestionLog.open(data) as log:
        qid = log.record_question(7, 7, "private", "tight hamstrings?", answered(), at=NOW)
        log.record_question(8, 8, "private", "my knee", None, at=NOW)
        log.record_feedback(7, False, question_id=qid, text="which stretch", at=NOW)
        log.record_check(7, 7, CheckStarted(), at=NOW)
        log.record_check(7, 7, CheckFinished("tight-hamstrings"), at=NOW)
    assert qid is not None
    return qid


def copy(data: Path, url: str) -> int:
    return main(["storage", "copy", "--to", url, "--data-dir", str(data)])


def test_everything_in_data_dir_arrives_and_the_bot_carries_on_there(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    qid = a_deployment(tmp_path)
    with QuestionLog.open(tmp_path, create=False) as before:
        expected = summarise(before, 1, now=NOW)

    assert copy(tmp_path, database_url) == 0
    out = capsys.readouterr().out
    assert "kv 3, intake 2, analytics_questions 2, analytics_feedback 1, analytics_checks 2" in out
    assert "@" not in out  # the address is named without its user or password

    storage = PostgresStorage(database_url)
    intake = PostgresIntake(storage)
    assert storage.load("user") == {"7": '{"step": 2}', "8": '{"step": 1}'}
    assert storage.load("chat") == {"-100": '{"lang": "en"}'}
    assert intake.pending() == [(42, '{"update_id": 42}')]
    assert intake.store([(41, '{"update_id": 41}')]) == []  # done before the move, still recognised
    storage.close()

    (tmp_path / SALT_NAME).unlink()  # the salt went into the database: replicas elsewhere have no copy
    with QuestionLog.open(tmp_path, database_url=database_url) as log:  # the same salt: the same people
        assert summarise(log, 1, now=NOW) == expected
        new_vote = log.record_feedback(8, True, entry_id="tight-hamstrings", at=NOW)
        assert new_vote is not None and new_vote > 1, "the database numbers new votes after the copied ones"
        # the copied vote still points at its question: a second press by the same person changes it
        assert log.record_feedback(7, True, question_id=qid, at=NOW) == 1
        assert log.record_check(8, 8, CheckStarted(), at=NOW)
        new_question = log.record_question(9, 9, "private", "new", answered(), at=NOW)
        assert new_question is not None and new_question > qid + 1, "new ids after the copied ones"
        assert summarise(log, 1, now=NOW).totals.questions == 3


def test_a_second_copy_is_refused_and_changes_nothing(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a_deployment(tmp_path)
    assert copy(tmp_path, database_url) == 0
    capsys.readouterr()
    SqliteStorage(tmp_path / DB_NAME).save("user", "7", '{"step": 99}')  # the old file moved on

    assert copy(tmp_path, database_url) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "already holds data (table kv): nothing copied" in err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT value FROM kv WHERE key = '7'").fetchall() == [('{"step": 2}',)]
        assert conn.execute("SELECT count(*) FROM analytics_questions").fetchone() == (2,)


def test_a_database_a_bot_already_uses_is_refused(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a_deployment(tmp_path)
    with QuestionLog.open(tmp_path / "elsewhere", database_url=database_url) as log:
        log.record_question(1, 1, "private", "asked on the server", None, at=NOW)
    assert copy(tmp_path, database_url) == 2
    assert "already holds data (table analytics_questions)" in capsys.readouterr().err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM kv").fetchone() == (0,)


def test_a_missing_data_dir_or_a_bad_address_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert copy(tmp_path / "nothing", "postgresql://bot@127.0.0.1:1/legpress") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no database at {tmp_path / 'nothing' / DB_NAME}" in err
    assert not (tmp_path / "nothing").exists()

    a_deployment(tmp_path)
    assert copy(tmp_path, "mysql://bot:hunter2@db/legpress") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--to must be a postgresql:// address" in err and "hunter2" not in err

    assert copy(tmp_path, "postgresql://bot:hunter2@127.0.0.1:1/legpress") == 2  # nothing listens there
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot copy to the database at 127.0.0.1:1/legpress" in err
    assert "hunter2" not in err
