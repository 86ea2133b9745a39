"""The bot with DATABASE_URL: its state and its durable intake on PostgreSQL, through a kill -9."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from crashburst import MESSAGES, crash_burst
from fakebot import FakeTelegram

PEOPLE = 40


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_kill_9_in_the_middle_of_a_burst_loses_nothing_on_postgresql(
    fake: FakeTelegram, tmp_path: Path, database_url: str, webhook: bool
) -> None:
    outcome = await crash_burst(
        fake,
        tmp_path / "data",
        PEOPLE,
        kill_after=PEOPLE // 3,
        webhook=webhook,
        extra={"DATABASE_URL": database_url},
    )
    assert 0 < outcome.killed_after < PEOPLE, "killed in the middle of the burst"
    assert outcome.lost == 0, outcome.replies
    assert outcome.repeated <= PEOPLE - outcome.killed_after + 8
    assert "Traceback" not in outcome.log
    with psycopg.connect(database_url) as conn:  # every update went through the database, all done
        kept = conn.execute("SELECT count(*), count(body) FROM intake").fetchone()
        (logged,) = conn.execute("SELECT count(DISTINCT user_hash) FROM analytics_questions").fetchone()
    assert kept == (PEOPLE, 0)
    # the question log is on PostgreSQL too (a kill -9 may cost the batch of its last second), not in DATA_DIR
    asked = sum(1 for i in range(PEOPLE) if not MESSAGES[i % len(MESSAGES)].startswith("/"))
    assert 0 < logged <= asked
    with closing(sqlite3.connect(tmp_path / "data" / "bot.sqlite3")) as local:
        tables = {name for (name,) in local.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {t for t in tables if t.startswith("analytics_")}, tables
