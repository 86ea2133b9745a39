"""The maintainer's side, end to end: the question log, retention, /stats, /reload and SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botprocess import BotProcess
from conftest import FAQ, Harness, settings_for, start_bot, stop_bot
from fakebot import BOT_USERNAME, Call, FakeTelegram, Json, group_chat, private_chat, sent, user

from bot.config import ConfigError, load_settings
from bot.content.load import load_knowledge
from bot.content.problems import KnowledgeError
from bot.core.dialogue import Dialogue
from bot.core.wording import COMMAND_MENU
from bot.replies import MAX_MESSAGE_CHARS, esc
from bot.storage.question_log import QuestionLog
from bot.telegram.admin import Reloaded
from bot.telegram.recording import FLUSH_INTERVAL, PURGE_JOB

BELT = "Do I need a belt for the leg press?"  # answered with confidence by back-support
MARK = "Reloaded content is served."
EXPIRED = "This button has expired"
DAY = 86400
WAIT = 20.0  # an upper bound only

# ids and names long and odd enough that finding them in a hash or a timestamp by chance is impossible
ADA = user(8_765_432_109, "Adalbertina", "adalbertina_q")
EVE = user(7_654_321_098, "Evangeline", "evangeline_z")
ALEX = user(6_543_210_987, "Alexandrina")
CLUB = group_chat(-1_009_988_776_655, "Quadriceps Quorum", "supergroup")


def only_text(calls: list[Call]) -> str:
    (message,) = sent(calls)
    return message.text


def notice(calls: list[Call]) -> str:
    (answered,) = [c for c in calls if c.method == "answerCallbackQuery"]
    return str(answered.params.get("text"))


def edited_faq(source: Path, target: Path, change: Any) -> None:
    """Write `source` with `change(document)` applied to `target`, as a maintainer editing faq.yaml."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    change(document)
    target.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def entry(document: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return next(e for e in document["entries"] if e["id"] == entry_id)


def mark_belt(document: dict[str, Any]) -> None:
    entry(document, "back-support")["answer"] += f"\n\n{MARK}"


def remove_belt(document: dict[str, Any]) -> None:
    document["entries"] = [e for e in document["entries"] if e["id"] != "back-support"]


def break_kind(document: dict[str, Any]) -> None:
    entry(document, "back-support")["kind"] = "gadget"
    entry(document, "form-tips")["title"] = ""


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    path = tmp_path / "faq.yaml"
    shutil.copy(FAQ, path)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def admin_bot(fake: FakeTelegram, tmp_path: Path, faq: Path) -> AsyncIterator[Harness]:
    kb = load_knowledge(faq)
    settings = settings_for(fake, tmp_path / "data", admin_ids=frozenset({ADA["id"]}), faq_path=faq)
    harness = await start_bot(fake, settings, Dialogue.from_kb(kb))
    yield harness
    await stop_bot(harness)


# --------------------------------------------------------------------------------------- recording
async def test_questions_are_logged_with_their_outcome_and_no_clear_ids(admin_bot: Harness, db: Path) -> None:
    bot, dm = admin_bot, private_chat(EVE)
    await bot.say(dm, EVE, BELT)
    await bot.say(dm, EVE, "what's the weather like in Paris tomorrow?")
    await bot.say(dm, EVE, "/help")  # commands are not questions
    await bot.say(dm, EVE, "my legs went numb and I can't control my bladder")
    await bot.say(CLUB, ADA, f"@{BOT_USERNAME} {BELT}")
    await bot.say(CLUB, EVE, "nobody asked the bot this")  # not addressed to the bot: not logged

    questions = await bot.question_log("analytics_questions")
    assert [(q["chat_type"], q["text"], q["outcome"], q["entry_id"]) for q in questions] == [
        ("private", BELT, "answered", "back-support"),
        ("private", "what's the weather like in Paris tomorrow?", "none", None),
        ("private", "my legs went numb and I can't control my bladder", "urgent", None),
        ("supergroup", BELT, "answered", "back-support"),
    ]
    assert questions[0]["score"] is not None
    assert len({q["user_hash"] for q in questions[:3]}) == 1, "repeat askers can be counted"
    assert questions[3]["user_hash"] != questions[0]["user_hash"]

    clear = [str(ADA["id"]), str(EVE["id"]), str(CLUB["id"]), str(-CLUB["id"])]
    clear += [ADA["first_name"], ADA["username"], EVE["first_name"], EVE["username"], CLUB["title"]]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        analytics = [t for t in tables if t.startswith("analytics_")]
        assert {"analytics_questions", "analytics_feedback", "analytics_checks"} <= set(analytics)
        for table in analytics:
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    assert not any(c in str(value) for c in clear), (table, value)


async def test_check_events_are_logged_and_mark_the_question_before_them(
    bot: Harness, dm: Json, alice: Json, db: Path
) -> None:
    await bot.say(dm, alice, "why does my back hurt after leg press?")
    await bot.say(dm, alice, "/check")
    await bot.say(dm, alice, "/cancel")
    assert [c["event"] for c in await bot.question_log("analytics_checks")] == ["started", "cancelled"]
    (question,) = await bot.question_log("analytics_questions")
    assert question["took_check"] == 1


async def test_a_question_reaches_the_log_file_within_about_a_second(
    bot: Harness, dm: Json, alice: Json, db: Path
) -> None:
    await bot.say(dm, alice, "why does my back hurt after leg press?")
    deadline = time.monotonic() + 5 * FLUSH_INTERVAL
    written = 0
    while time.monotonic() < deadline and not written:
        await asyncio.sleep(0.1)
        with contextlib.closing(sqlite3.connect(db)) as conn:  # as the report, from outside the bot
            written = conn.execute("SELECT count(*) FROM analytics_questions").fetchone()[0]
    assert written == 1


async def test_a_broken_question_log_never_costs_an_answer(
    bot: Harness, dm: Json, alice: Json, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE analytics_feedback")
        conn.execute("DROP TABLE analytics_questions")
    with caplog.at_level(logging.WARNING):
        _, calls = await bot.say(dm, alice, BELT)
    assert only_text(calls).startswith("<b>")
    assert "could not record a question" in caplog.text


# --------------------------------------------------------------------------------------- retention
def test_retention_days_setting() -> None:
    assert load_settings({}, None).retention_days == 90
    assert load_settings({"RETENTION_DAYS": "30"}, None).retention_days == 30
    for bad in ("0", "-5", "ninety"):
        with pytest.raises(ConfigError, match="RETENTION_DAYS"):
            load_settings({"RETENTION_DAYS": bad}, None)


async def test_old_rows_are_purged_at_start_up_and_by_the_daily_job(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, db: Path
) -> None:
    data = tmp_path / "data"
    now = time.time()
    with QuestionLog.open(data) as log:
        old = log.record_question(1, 1, "private", "an old question", None, at=now - 40 * DAY)
        log.record_question(1, 1, "private", "a recent question", None, at=now - 5 * DAY)
        log.record_check(1, 1, "check-started", at=now - 40 * DAY)
    assert old is not None
    harness = await start_bot(fake, settings_for(fake, data, retention_days=30), dialogue)
    try:
        assert [q["text"] for q in await harness.question_log("analytics_questions")] == ["a recent question"]
        assert await harness.question_log("analytics_checks") == []

        queue = harness.app.job_queue
        assert queue is not None
        (job,) = queue.get_jobs_by_name(PURGE_JOB)
        with QuestionLog.open(data) as log:  # another old row, as if a day had passed
            log.record_question(1, 1, "private", "now old too", None, at=now - 31 * DAY)
        await job.run(harness.app)
        assert [q["text"] for q in await harness.question_log("analytics_questions")] == ["a recent question"]
    finally:
        await stop_bot(harness)


# ------------------------------------------------------------------------------------------ /stats
async def test_stats_for_an_admin(admin_bot: Harness) -> None:
    dm = private_chat(ADA)
    await admin_bot.say(dm, ADA, BELT)
    await admin_bot.say(dm, ADA, "what's the weather like in Paris tomorrow?")
    _, calls = await admin_bot.say(dm, ADA, "/stats")
    text = only_text(calls)
    assert text.startswith("<b>Last 7 days</b>: 2 questions from 1 person")
    assert "Most asked: back-support 1" in text and "Unanswered" in text
    _, calls = await admin_bot.say(dm, ADA, f"/stats@{BOT_USERNAME} 30")
    assert only_text(calls).startswith("<b>Last 30 days</b>")
    _, calls = await admin_bot.say(dm, ADA, "/stats lots")
    assert only_text(calls).startswith("Usage: /stats [days]")


async def test_admin_commands_look_unknown_to_everyone_else(admin_bot: Harness, fake: FakeTelegram) -> None:
    dm = private_chat(EVE)
    _, calls = await admin_bot.say(dm, EVE, "/frobnicate")
    unknown = only_text(calls)
    assert unknown.startswith("I don't know that command.")
    for command in ("/stats", "/stats 30", "/reload", f"/reload@{BOT_USERNAME}"):
        _, calls = await admin_bot.say(dm, EVE, command)
        assert only_text(calls) == unknown, command
    for n, who in enumerate((EVE, ADA)):  # in a group, even for an admin: as for any unknown command
        club = group_chat(-4100 - n, "Leg day")
        _, calls = await admin_bot.say(club, who, f"/frobnicate@{BOT_USERNAME}")
        unknown = only_text(calls)
        _, calls = await admin_bot.say(club, who, f"/stats@{BOT_USERNAME}")
        assert only_text(calls) == unknown
        for command in ("/stats", "/reload", "/frobnicate"):  # some other bot's, perhaps
            _, calls = await admin_bot.say(club, who, command)
            assert not sent(calls), command


async def test_admin_commands_are_in_the_admins_menu_only(admin_bot: Harness, fake: FakeTelegram) -> None:
    public = [c for c, _ in COMMAND_MENU]
    for scope in ("all_private_chats", "all_group_chats"):
        assert [c["command"] for c in fake.commands[scope]] == public
    (scoped,) = [c for c in fake.calls if c.method == "setMyCommands" and c.params["scope"]["type"] == "chat"]
    assert scoped.params["scope"]["chat_id"] == ADA["id"]
    assert [c["command"] for c in scoped.params["commands"]] == [*public, "stats", "reload"]


# ----------------------------------------------------------------------------------------- /reload
async def test_reload_serves_a_good_file_at_once(admin_bot: Harness, faq: Path) -> None:
    dm = private_chat(ADA)
    _, calls = await admin_bot.say(dm, ADA, BELT)
    assert MARK not in only_text(calls)
    edited_faq(FAQ, faq, mark_belt)
    _, calls = await admin_bot.say(dm, ADA, "/reload")
    assert only_text(calls).startswith(f"<b>Reloaded</b> {esc(str(faq))}: ")
    _, calls = await admin_bot.say(private_chat(EVE), EVE, BELT)
    assert MARK in only_text(calls)


async def test_reload_refuses_a_file_with_errors_and_keeps_the_old_content(
    admin_bot: Harness, faq: Path
) -> None:
    edited_faq(FAQ, faq, break_kind)
    with pytest.raises(KnowledgeError) as refused:
        load_knowledge(faq)
    problems = [str(p) for p in refused.value.problems]
    assert len(problems) >= 2

    _, calls = await admin_bot.say(private_chat(ADA), ADA, "/reload")
    text = only_text(calls)
    assert text.startswith("<b>Not reloaded</b>") and "still serving the old content" in text
    assert f"<pre>{esc(chr(10).join(problems))}</pre>" in text, "the exact errors, escaped"
    _, calls = await admin_bot.say(private_chat(EVE), EVE, BELT)
    answer = only_text(calls)
    assert answer.startswith("<b>") and MARK not in answer

    edited_faq(FAQ, faq, mark_belt)  # fixed: the next reload takes it
    _, calls = await admin_bot.say(private_chat(ADA), ADA, "/reload")
    assert only_text(calls).startswith("<b>Reloaded</b>")


def test_a_long_list_of_errors_is_clipped_to_one_message(tmp_path: Path) -> None:
    problems = tuple(f"faq.yaml:{n}, entry 'e{n}': <unknown> & unusable" for n in range(500))
    html = Reloaded(tmp_path / "faq.yaml", False, problems).html()
    assert len(html) <= MAX_MESSAGE_CHARS
    assert html.endswith("</pre>") and "&lt;unknown&gt; &amp; unusable" in html


async def test_buttons_of_a_removed_entry_expire_after_reload(admin_bot: Harness, faq: Path) -> None:
    dm = private_chat(EVE)
    _, calls = await admin_bot.say(dm, EVE, BELT)
    answer = admin_bot.message_of(sent(calls)[0])
    data = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert "f:+:back-support" in data

    edited_faq(FAQ, faq, remove_belt)
    _, calls = await admin_bot.say(private_chat(ADA), ADA, "/reload")
    assert "Removed (their buttons now say they have expired): back-support" in only_text(calls)

    for stale in ("f:+:back-support", "f:-:back-support", "e:back-support"):
        calls = await admin_bot.press(EVE, answer, stale)
        assert notice(calls).startswith(EXPIRED) and not sent(calls), stale
    related = next(d for d in data if d.startswith("e:"))
    calls = await admin_bot.press(EVE, answer, related)  # entries still there still open
    assert only_text(calls).startswith("<b>")


# ------------------------------------------------------------------------------------------- SIGHUP
async def wait_for_log(bot: BotProcess, text: str) -> None:
    async def seen() -> None:
        while text.encode() not in bot.stderr:
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(seen(), WAIT)
    except TimeoutError:
        raise AssertionError(bot.stderr.decode()[-3000:]) from None


async def test_sighup_reloads_a_running_bot(fake: FakeTelegram, tmp_path: Path, faq: Path) -> None:
    running = BotProcess(fake, tmp_path / "data", FAQ_PATH=str(faq))
    await running.start()
    try:
        # one person per question: the same answer twice in one chat is one and the same Call
        _, answer = await running.ask(private_chat(EVE), EVE, BELT)
        assert MARK not in answer.text
        assert running.proc is not None

        edited_faq(FAQ, faq, break_kind)
        running.proc.send_signal(signal.SIGHUP)
        await wait_for_log(running, "Refused to reload")
        _, answer = await running.ask(private_chat(ADA), ADA, BELT)
        assert MARK not in answer.text and answer.text.startswith("<b>")

        edited_faq(FAQ, faq, mark_belt)
        running.proc.send_signal(signal.SIGHUP)
        await wait_for_log(running, f"Reloaded {faq}")
        _, answer = await running.ask(private_chat(ALEX), ALEX, BELT)
        assert MARK in answer.text
    finally:
        assert await running.stop() == 0
    log = running.stderr.decode()
    assert "(SIGHUP)" in log and "Traceback" not in log
    # the log was open all along, and closed cleanly: every question is there, the last batch included
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "bot.sqlite3")) as conn:
        assert conn.execute("SELECT count(*) FROM analytics_questions").fetchone() == (3,)
