"""The bot with DATABASE_URL: its state and its durable intake on PostgreSQL, through a kill -9."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from crashburst import crash_burst
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
    assert kept == (PEOPLE, 0)
