"""Privacy: the question log cannot be joined back to a person, silent state is deleted, /forget deletes
everything about the person, DATA_DIR is private, and the log holds no texts, names or secrets."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
from pathlib import Path

import aiohttp
import pytest
from botprocess import BotProcess
from conftest import Harness
from crashburst import BotRun, free_port
from fakebot import FakeTelegram, Json, private_chat, sent, user

from bot.core.wording import FEEDBACK_ASK_TEXT, FORGET_ASK, FORGET_IN_PRIVATE, FORGET_KEPT, FORGOTTEN
from bot.storage.database import DB_NAME
from bot.storage.salt import SALT_NAME, load_salt, pseudonym
from bot.telegram.privacy import ACTIVE, purge_silent, today

BELT = "Do I need a belt for the leg press?"
# an id and a name long and odd enough that finding them by chance is impossible
QUINN = user(8_123_456_789, "Quintessa", "quintessa_zz")
OTTO = user(7_987_654_321, "Ottokar")


def every_cell(db: Path) -> list[tuple[str, str]]:
    """(table, cell as text) for every cell of every table in the bot's database."""
    cells = []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                cells += [(table, str(cell)) for cell in row]
    return cells


def traces_of(db: Path, person: Json, texts: list[str]) -> list[tuple[str, str]]:
    """Cells that name the person: their id, their salted name, their first name or a text they wrote."""
    salt = load_salt(db.parent)
    marks = [str(person["id"]), pseudonym(salt, "user", person["id"]), person["first_name"], *texts]
    return [(t, c) for t, c in every_cell(db) if any(m in c for m in marks)]


async def press_label(bot: Harness, who: Json, message: Json, label: str) -> list:  # type: ignore[type-arg]
    markup = message.get("reply_markup") or {}
    (button,) = [b for row in markup["inline_keyboard"] for b in row if b["text"] == label]
    return await bot.press(who, message, button["callback_data"])


async def talk(bot: Harness, person: Json, group: Json) -> tuple[list[str], Json]:
    """A person asks, votes 👎 and leaves the prompt open, starts a check, asks in a group. Their texts,
    and the open 👎 prompt."""
    chat = private_chat(person)
    mark = f"Zyxq{person['id'] % 997}"  # in this person's texts only
    texts = [f"why does my back round at the bottom {mark}"]
    _, calls = await bot.say(chat, person, texts[0])
    _, calls = await bot.say(chat, person, BELT)
    answer = bot.message_of(sent(calls)[0])
    calls = await press_label(bot, person, answer, "👎")
    prompt = bot.message_of(sent(calls)[0])
    assert sent(calls)[0].text == FEEDBACK_ASK_TEXT
    await bot.say(chat, person, "/check")
    texts.append(f"@{bot.app.bot.username} hamstrings {mark}")
    await bot.say(group, person, texts[-1])
    await bot.question_log("analytics_questions")  # written now, not in a second
    return texts, prompt


async def test_nothing_in_a_persons_state_points_into_the_question_log(
    bot: Harness, group: Json, tmp_path: Path
) -> None:
    db = tmp_path / "data" / DB_NAME
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # question ids no message id could match
        conn.execute(
            "INSERT INTO analytics_questions (id, ts, chat_type, chat_hash, user_hash, text, outcome)"
            " VALUES (1000000, 0, 'private', '-', '-', '-', 'none')"
        )
    await talk(bot, QUINN, group)
    questions = (await bot.question_log("analytics_questions"))[1:]
    feedback = await bot.question_log("analytics_feedback")
    assert len(questions) == 3 and feedback[0]["question_id"] == questions[1]["id"]  # still linked
    ids = {str(q["id"]) for q in questions}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        state = conn.execute("SELECT namespace, key, value FROM kv").fetchall()
        log_rows = [
            cell
            for table in ("analytics_questions", "analytics_feedback", "analytics_checks")
            for row in conn.execute(f"SELECT * FROM {table}")
            for cell in row
        ]
    for namespace, key, value in state:
        numbers = {str(n) for n in _numbers(json.loads(value))}
        assert not numbers & ids, (namespace, key, value)  # no question or feedback id in any state
        if namespace == "chat":
            assert str(QUINN["id"]) not in value  # a chat's data names nobody by id
    assert not any(str(QUINN["id"]) in str(cell) for cell in log_rows)  # the log holds no raw id


def _numbers(value: object) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return []


async def test_forget_deletes_everything_about_the_person_and_says_so(
    bot: Harness, group: Json, tmp_path: Path
) -> None:
    db = tmp_path / "data" / DB_NAME
    texts, prompt = await talk(bot, QUINN, group)
    await talk(bot, OTTO, group)
    chat = private_chat(QUINN)

    _, calls = await bot.say(group, QUINN, "/forget")  # in a group: the way to the private chat
    (pointer,) = sent(calls)
    assert pointer.text == FORGET_IN_PRIVATE and "start=forget" in pointer.buttons[0]["url"]

    _, calls = await bot.say(chat, QUINN, "/start forget")  # the deep link, or /forget, in private
    (ask,) = sent(calls)
    assert ask.text == FORGET_ASK
    calls = await press_label(bot, QUINN, bot.message_of(ask), "No, keep it")
    assert [c.text for c in calls if c.method == "editMessageText"] == [FORGET_KEPT]
    assert traces_of(db, QUINN, texts)

    _, calls = await bot.say(chat, QUINN, "/forget")
    calls = await press_label(bot, QUINN, bot.message_of(sent(calls)[0]), "Yes, delete it")
    assert [c.text for c in calls if c.method == "editMessageText"] == [FORGOTTEN]
    await bot.app.update_persistence()
    await bot.question_log("analytics_questions")
    assert traces_of(db, QUINN, texts) == []
    assert traces_of(db, OTTO, []), "the others' data stays"
    assert QUINN["id"] not in bot.app.user_data or not bot.app.user_data[QUINN["id"]]
    assert not any(j.name and f":{QUINN['id']}:" in j.name for j in bot.app.job_queue.jobs())  # type: ignore[union-attr]

    # the open 👎 prompt was deleted too: a reply to it is an ordinary question now
    _, calls = await bot.say(chat, QUINN, BELT, reply_to=prompt)
    assert sent(calls)[0].text.startswith("<b>")
    (otto_vote,) = await bot.question_log("analytics_feedback")  # Otto's; Quinn's reply stored nothing
    assert otto_vote["missing"] is None and otto_vote["positive"] == 0


async def test_a_forged_forget_button_in_a_group_deletes_nothing(bot: Harness, group: Json) -> None:
    await talk(bot, QUINN, group)
    shown = bot.fake.message(group, {**bot.fake.bot_user}, "x")
    calls = await bot.press(QUINN, shown, "d:yes")
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert bot.app.user_data[QUINN["id"]]


async def test_state_silent_for_the_retention_period_is_deleted(
    bot: Harness, group: Json, tmp_path: Path
) -> None:
    await talk(bot, QUINN, group)
    await talk(bot, OTTO, group)
    assert bot.app.user_data[QUINN["id"]][ACTIVE] == today()
    bot.app.user_data[QUINN["id"]][ACTIVE] = today() - 91  # silent for 91 days
    bot.app.chat_data[QUINN["id"]][ACTIVE] = today() - 91
    assert purge_silent(bot.app, 90) == (1, 1)
    await bot.app.update_persistence()
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_NAME)) as conn:
        keys = {(ns, k) for ns, k in conn.execute("SELECT namespace, key FROM kv")}
    assert ("user", str(QUINN["id"])) not in keys and ("chat", str(QUINN["id"])) not in keys
    assert ("user", str(OTTO["id"])) in keys


async def test_data_dir_is_private(bot: Harness, dm: Json, alice: Json, tmp_path: Path) -> None:
    await bot.say(dm, alice, BELT)
    await bot.question_log("analytics_questions")
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [data / DB_NAME, data / f"{DB_NAME}-wal", data / f"{DB_NAME}-shm", data / SALT_NAME]
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


# ------------------------------------------------------------------------------------------------ logs
@pytest.mark.parametrize("content", ["", "1"])
async def test_the_debug_log_holds_no_texts_or_names_unless_asked(
    fake: FakeTelegram, tmp_path: Path, content: str
) -> None:
    bot = BotProcess(fake, tmp_path / "data", LOG_LEVEL="DEBUG", LOG_CONTENT=content)
    await bot.start()
    try:
        await bot.ask(private_chat(QUINN), QUINN, "my back Zyxq hurts on the leg press")
        await bot.ask(private_chat(QUINN), QUINN, "/check")
    finally:
        assert await bot.stop() == 0
    log = bot.stderr.decode()
    assert "DEBUG" in log
    if content:
        assert "Zyxq" in log  # asked for: the texts are there
    else:
        assert "Zyxq" not in log and "Quintessa" not in log and "quintessa_zz" not in log


async def test_a_generated_webhook_secret_never_reaches_the_log(fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotRun(fake, tmp_path / "data", free_port(), secret="", extra={"LOG_LEVEL": "DEBUG"})
    await bot.start()
    try:
        registered = await fake.wait_for(lambda c: c.method == "setWebhook", 20)
        secret = str(registered.params["secret_token"])
        assert len(secret) >= 32
        update = {"update_id": 1, "message": fake.message(private_chat(QUINN), QUINN, "/about")}
        async with aiohttp.ClientSession() as http:
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with http.post(bot.webhook_url, json=update, headers=headers) as response:
                assert response.status == 200
        await fake.wait_for(lambda c: c.method == "sendMessage", 20)
    finally:
        assert await bot.stop() == 0
    log = bot.stderr.decode()
    assert "DEBUG" in log and secret not in log
