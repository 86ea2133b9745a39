"""Odd input that used to crash: Unicode digits, lone surrogates in commands, damaged state rows and
files, bad Bot API addresses, and one chat's 429 holding another's reply."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from conftest import Errors, Harness, settings_for, start_bot, stop_bot
from fakebot import FakeTelegram, Json, private_chat, sent, user
from pg import Backend
from test_reliability_config import run_bot
from test_reliability_input import answered_once

from bot.config import ConfigError, load_settings
from bot.core.dialogue import Dialogue
from bot.storage.database import DB_NAME, open_database
from bot.storage.state import SqliteStorage
from bot.telegram.network import NetworkPolicy
from bot.telegram.persistence import StoragePersistence


async def test_a_unicode_digit_in_a_check_button_is_answered(
    bot: Harness, errors: Errors, dm: Json, alice: Json
) -> None:
    _, calls = await bot.say(dm, alice, "/check")
    (question,) = sent(calls)
    run = str(question.buttons[0]["callback_data"]).split(":")[1]
    shown = bot.message_of(question)
    for data in (f"q:{run}:²:none", f"q:{run}:١:none", f"q:{run}:𝟙:none", f"q:{run}:¹:x"):
        answered_once(await bot.press(alice, shown, data))
    errors.assert_none()


async def test_a_lone_surrogate_in_a_command_argument_is_answered(
    bot: Harness, errors: Errors, dm: Json, alice: Json, group: Json
) -> None:
    for chat, text in ((dm, "/start \udc80"), (group, "/help \udc80"), (group, "/causes \ud800x")):
        _, calls = await bot.say(chat, alice, text)
        assert len(sent(calls)) == 1
    errors.assert_none()


async def test_stats_with_a_unicode_digit_is_the_usage_line(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, alice: Json, dm: Json
) -> None:
    admins = settings_for(fake, tmp_path, admin_ids=frozenset({alice["id"]}))
    harness = await start_bot(fake, admins, dialogue)
    try:
        for arg in ("²", "٣", "\udc80"):
            _, calls = await harness.say(dm, alice, f"/stats {arg}")
            (reply,) = sent(calls)
            assert reply.text.startswith("Usage: /stats [days]")
    finally:
        await stop_bot(harness)


# ------------------------------------------------------------------------------------ damaged state
async def test_a_damaged_state_row_is_skipped_with_one_warning(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    storage = SqliteStorage(data / DB_NAME)
    storage.save("user", "5", "{not json")
    storage.save("user", "6", "[1, 2]")
    storage.save("user", "7", '{"checks": [1]}')  # a list where the checks' mapping belongs
    storage.save("user", "x", "{}")
    storage.save("chat", "8", '"text"')
    storage.save("user", "9", '{"kept": true}')
    storage.close()
    with caplog.at_level(logging.WARNING):
        harness = await start_bot(fake, settings_for(fake, data), dialogue)
    try:
        damaged = [r.getMessage() for r in caplog.records if "damaged state row" in r.getMessage()]
        assert len(damaged) == 4, damaged
        for namespace, key in (("user", "5"), ("user", "6"), ("user", "x"), ("chat", "8")):
            assert sum(f"{namespace} '{key}'" in line for line in damaged) == 1
        assert harness.app.user_data[9] == {"kept": True}
        person = user(7, "Seven")
        for text in ("/check", "/cancel"):
            _, calls = await harness.say(private_chat(person), person, text)
            assert len(sent(calls)) == 1
        assert "Nothing to cancel" not in sent(calls)[0].text
    finally:
        await stop_bot(harness)


async def test_persistence_reads_every_healthy_row_beside_a_damaged_one(backend: Backend) -> None:
    storage = backend.open()
    storage.save("conversation:check", "not json", '"A"')
    storage.save("conversation:check", "[1, 2]", '"B"')
    storage.save("callback", "-", "{}")
    storage.save("bot", "-", "[]")
    persistence = StoragePersistence(storage)
    assert await persistence.get_conversations("check") == {(1, 2): "B"}
    assert await persistence.get_callback_data() is None
    assert await persistence.get_bot_data() == {}
    await persistence.flush()


def test_an_empty_database_file_is_moved_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
        open_database(path).close()
    (line,) = [r.getMessage() for r in caplog.records]
    (aside,) = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert "0 bytes" in line and str(aside) in line and aside.stat().st_size == 0


def test_a_garbage_write_ahead_log_is_moved_aside_and_the_database_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / DB_NAME
    storage = SqliteStorage(path)
    storage.save("user", "1", '{"a": 1}')
    storage.close()
    wal = tmp_path / f"{DB_NAME}-wal"
    wal.write_bytes(b"this is not a write-ahead log" * 10)
    with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
        again = SqliteStorage(path)
    assert again.load("user") == {"1": '{"a": 1}'}
    again.close()
    (line,) = [r.getMessage() for r in caplog.records]
    (aside,) = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside.name.startswith(f"{DB_NAME}-wal.corrupt-") and str(aside) in line
    assert aside.read_bytes() == b"this is not a write-ahead log" * 10
    with sqlite3.connect(path) as conn:  # and the database is still the one it was
        assert conn.execute("SELECT count(*) FROM kv").fetchone() == (1,)


# ------------------------------------------------------------------------------------- bad base URL
@pytest.mark.parametrize(
    "url", ["ftp://api.telegram.org/bot", "not a url", "http://127.0.0.1:99999/bot", "http:///bot"]
)
def test_an_unusable_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BASE_URL"):
        load_settings({"TELEGRAM_BASE_URL": url}, None)
    with pytest.raises(ConfigError, match="TELEGRAM_BASE_FILE_URL"):
        load_settings({"TELEGRAM_BASE_FILE_URL": url}, None)


def test_the_bot_refuses_a_bad_base_url_in_one_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, TELEGRAM_BASE_URL="ftp://127.0.0.1/bot")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "TELEGRAM_BASE_URL" in line and "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------- 429
async def test_a_429_in_one_chat_does_not_hold_another_chats_reply(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, alice: Json, bob: Json
) -> None:
    """Alice's chat is told to wait 20 s, longer than this bot tries a call (5 s): her reply is given up,
    and Bob, who writes meanwhile, is answered at once rather than after her 20 seconds."""
    harness = await start_bot(fake, settings_for(fake, tmp_path), dialogue, network=NetworkPolicy(deadline=5))
    try:
        fake.inject("429", "sendMessage", retry_after=20)
        _, calls = await harness.say(private_chat(alice), alice, "/help")
        assert not sent(calls) and [f.call.chat_id for f in fake.faulted] == [alice["id"]]
        _, calls = await harness.say(private_chat(bob), bob, "/help")
        assert len(sent(calls)) == 1
    finally:
        await stop_bot(harness)
