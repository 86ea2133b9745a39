"""Two replicas in one process, on one PostgreSQL database: a check's 30-minute note is sent once, by
whichever replica's timer fires first, even when the replica that ran the check is gone; /forget removes
the replicas' copy of the person's timers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from botprocess import WAIT
from conftest import Clock, Harness, settings_for, start_bot, stop_bot
from fakebot import Call, FakeTelegram, Json, private_chat, sent, user

from bot.core.dialogue import Dialogue
from bot.telegram.app import ADOPT_JOB, inbox_of
from bot.telegram.checks import job_name
from bot.telegram.privacy import PURGE_JOB

EXPIRED_NOTE = "Your quick check closed after 30 minutes without an answer."


@pytest.fixture
async def replicas(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, database_url: str, clock: Clock
) -> AsyncIterator[tuple[Harness, Harness]]:
    started = []
    for name in ("a", "b"):
        settings = settings_for(fake, tmp_path / name, database_url=database_url)
        started.append(await start_bot(fake, settings, dialogue, clock))
    yield started[0], started[1]
    for harness in started:
        await stop_bot(harness)


async def push(replicas: tuple[Harness, Harness], **update: object) -> list[Call]:
    """Deliver an update to Telegram's queue and wait for whichever replica polls to handle it."""
    fake = replicas[0].fake
    before = len(fake.calls)
    update_id = await fake.push(**update)
    waits = [asyncio.ensure_future(r.event(update_id).wait()) for r in replicas]
    done, pending = await asyncio.wait(waits, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    for w in pending:
        w.cancel()
    assert done, "handled by one of the replicas"
    return fake.calls[before:]


async def say(replicas: tuple[Harness, Harness], person: Json, text: str) -> list[Call]:
    return await push(replicas, message=replicas[0].fake.message(private_chat(person), person, text))


async def adopt(replica: Harness) -> None:
    queue = replica.app.job_queue
    assert queue is not None
    (job,) = queue.get_jobs_by_name(ADOPT_JOB)
    await job.run(replica.app)


def timers(replica: Harness, person: Json) -> list[object]:
    queue = replica.app.job_queue
    assert queue is not None
    return list(queue.get_jobs_by_name(job_name(person["id"], person["id"])))


async def test_the_note_of_a_check_is_sent_once_across_replicas(
    replicas: tuple[Harness, Harness], fake: FakeTelegram, clock: Clock
) -> None:
    a, b = replicas
    alice = user(3001, "Alice")
    calls = await say(replicas, alice, "/check")  # whichever replica polls handles it
    assert "Quick check · 1/" in sent(calls)[0].text
    for replica in (a, b):
        await adopt(replica)  # the one that ran the check has its job already; the other adopts it
    jobs = [(replica, job) for replica in (a, b) for job in timers(replica, alice)]
    assert len(jobs) == 2, "each replica has the check's timer"
    clock.advance(31)
    before = len(fake.calls)
    # both fire at the same moment: each reads the check as still open
    await asyncio.gather(*(job.run(replica.app) for replica, job in jobs))  # type: ignore[attr-defined]
    notes = [c for c in sent(fake.calls[before:]) if c.text.startswith(EXPIRED_NOTE)]
    assert len(notes) == 1, "one note, not one per replica"
    calls = await say(replicas, alice, "where should my feet go?")
    assert not [c for c in sent(calls) if c.text.startswith(EXPIRED_NOTE)], "closed for every replica"


async def test_forget_removes_the_replicas_copy_of_the_timers(
    replicas: tuple[Harness, Harness], database_url: str
) -> None:
    a, _ = replicas
    quinn = user(3002, "Quinn")
    await say(replicas, quinn, "/check")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT key FROM kv WHERE namespace = 'timer'").fetchall()
    assert rows == [(f"{quinn['id']}:{quinn['id']}",)]
    (ask,) = sent(await say(replicas, quinn, "/forget"))
    calls = await push(replicas, callback_query=a.fake.callback_query(quinn, a.message_of(ask), "d:yes"))
    assert [c.text for c in calls if c.method == "editMessageText"], "the bot says it is done"
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT key FROM kv WHERE namespace = 'timer'").fetchall()
    assert rows == []


async def through(replica: Harness, update_id: int, **update: object) -> list[Call]:
    """Deliver an update to this replica, as a load balancer would (the webhook's store-and-take)."""
    before = len(replica.fake.calls)
    assert inbox_of(replica.app).receive([{"update_id": update_id, **update}]) == 1
    await asyncio.wait_for(replica.event(update_id).wait(), WAIT)
    return replica.fake.calls[before:]


async def test_the_daily_retention_on_one_replica_leaves_its_view_of_people_current(
    replicas: tuple[Harness, Harness],
) -> None:
    """The retention reads everyone's state from the database; the people this replica holds in memory
    must still be read afresh at their next update (else it answers from the state it saw last)."""
    a, b = replicas
    rita = user(3003, "Rita")
    chat = private_chat(rita)
    (step1,) = sent(await through(a, 900_001, message=a.fake.message(chat, rita, "/check")))
    shown = a.message_of(step1)
    tap = shown["reply_markup"]["inline_keyboard"][-2][0]["callback_data"]  # "None of these"
    calls = await through(b, 900_002, callback_query=a.fake.callback_query(rita, shown, tap))
    assert any("Quick check · 2/" in str(c.params.get("text")) for c in calls)
    queue = a.app.job_queue
    assert queue is not None
    (retention,) = queue.get_jobs_by_name(PURGE_JOB)
    await retention.run(a.app)
    shown = a.message_of(next(c for c in calls if c.method == "editMessageText"))
    tap = shown["reply_markup"]["inline_keyboard"][-2][0]["callback_data"]
    calls = await through(a, 900_003, callback_query=a.fake.callback_query(rita, shown, tap))
    texts = [str(c.params.get("text")) for c in calls]
    assert any("Quick check · 3/" in t for t in texts), texts
