"""Bad configuration and damaged state at start-up, and secrets kept out of the log.

`legpress-bot run` with a missing or malformed faq.yaml, a DATA_DIR that cannot be written or a damaged
SQLite file: a clear message and a non-zero exit, or (for the damaged file) the file kept aside and a fresh
start, never a traceback and never state silently wiped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
from pathlib import Path

import pytest
from botprocess import BotProcess
from conftest import CLI, FAQ, ROOT, Harness, cli_env
from fakebot import TOKEN, FakeTelegram, Json
from pg import Backend
from telegram import Update
from telegram.ext import TypeHandler

from bot.storage.database import DB_NAME, StorageError, check_data_dir, open_database
from bot.storage.question_log import QuestionLog, QuestionLogError
from bot.storage.state import SqliteStorage
from bot.storage.summary import summarise
from bot.telegram.persistence import StoragePersistence

WAIT = 20.0  # an upper bound only
UNREACHABLE = "http://127.0.0.1:9/bot"  # never contacted: every failure here comes before the network
GARBAGE = b"this is not a database, it is a shopping list\n" * 200


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": UNREACHABLE,
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    return subprocess.run(
        [*CLI, "run"],
        cwd=tmp_path,
        env=cli_env(**settings),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert TOKEN.split(":", 1)[1] not in result.stderr
    return result.stderr.strip().splitlines()


# -------------------------------------------------------------------------------------------- faq.yaml
def test_a_missing_faq_is_named(tmp_path: Path) -> None:
    lines = assert_clean_failure(run_bot(tmp_path, FAQ_PATH=str(tmp_path / "nowhere.yaml")))
    assert any("nowhere.yaml" in line and "not found" in line for line in lines), lines


def test_invalid_yaml_is_named_with_its_line(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text("meta:\n  bot_name: x\nentries:\n  - id: a\n    title: [unclosed\n")
    lines = assert_clean_failure(run_bot(tmp_path, FAQ_PATH=str(faq)))
    assert any(line.startswith(f"{faq}:") and "YAML" in line for line in lines), lines


def test_a_bad_entry_is_named_with_its_field(tmp_path: Path) -> None:
    text = FAQ.read_text(encoding="utf-8")
    # the first entry's title goes missing
    head, _, tail = text.partition("\n    title:")
    faq = tmp_path / "faq.yaml"
    faq.write_text(head + "\n    titel:" + tail, encoding="utf-8")
    lines = assert_clean_failure(run_bot(tmp_path, FAQ_PATH=str(faq)))
    assert any("entry '" in line and "field 'title'" in line for line in lines), lines
    assert lines[-1].endswith("nothing loaded")


# -------------------------------------------------------------------------------------------- DATA_DIR
def test_a_data_dir_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """Under a regular file: no folder can be made there, not even by root."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    result = run_bot(tmp_path, FAQ_PATH=str(FAQ), DATA_DIR=str(blocker / "data"))
    assert result.returncode == 2
    (line,) = assert_clean_failure(result)
    assert "DATA_DIR" in line and str(blocker / "data") in line and "not a writable folder" in line


def test_the_storage_refuses_a_data_dir_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="not a writable folder"):
        check_data_dir(blocker / "data")
    with pytest.raises(StorageError, match="not a writable folder"):
        SqliteStorage(blocker / "data" / DB_NAME)


# ------------------------------------------------------------------------------------ a damaged file
def damaged_pages(path: Path) -> bytes:
    """A real database whose header is fine but whose table pages are overwritten."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kv (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key))")
        db.executemany("INSERT INTO kv VALUES ('user', ?, ?)", [(str(i), "x" * 200) for i in range(400)])
    db.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, min(len(raw), 12 * page), page):
        raw[start + 100 : start + 1100] = b"\xa5" * 1000
    path.write_bytes(bytes(raw))
    return bytes(raw)


def kept_aside(folder: Path) -> list[Path]:
    """The damaged databases moved aside (their -wal and -shm files beside them)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.name.startswith(f"{DB_NAME}.corrupt-") and not p.name.endswith(("-wal", "-shm"))
    )


@pytest.mark.parametrize("damage", ["not a database", "damaged pages"])
def test_a_damaged_database_is_moved_aside_never_wiped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / DB_NAME
    if damage == "not a database":
        path.write_bytes(GARBAGE)
        original = GARBAGE
    else:
        original = damaged_pages(path)
    (tmp_path / f"{DB_NAME}-wal").write_bytes(b"wal of the damaged file")
    with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
        storage = SqliteStorage(path)
    storage.save("user", "1", "{}")
    assert storage.load("user") == {"1": "{}"}
    storage.close()
    (aside,) = kept_aside(tmp_path)
    assert aside.read_bytes() == original
    assert (tmp_path / f"{aside.name}-wal").read_bytes() == b"wal of the damaged file"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.storage.database"]
    assert str(path) in line and str(aside) in line and "damaged" in line


def test_the_question_log_treats_a_damaged_file_the_same_way(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(GARBAGE)
    with pytest.raises(QuestionLogError, match="damaged"):  # the report only reads: it moves nothing
        QuestionLog.open(tmp_path, create=False)
    assert (tmp_path / DB_NAME).read_bytes() == GARBAGE and not kept_aside(tmp_path)
    with QuestionLog.open(tmp_path) as log:  # the bot: moved aside, a fresh log
        assert summarise(log, 1).totals.questions == 0
    (aside,) = kept_aside(tmp_path)
    assert aside.read_bytes() == GARBAGE
    storage = SqliteStorage(tmp_path / DB_NAME)  # and the persistence finds the fresh file healthy
    storage.close()
    assert len(kept_aside(tmp_path)) == 1


def test_a_busy_database_is_an_error_not_damage(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="cannot open"):
            open_database(path, timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not kept_aside(tmp_path)
    open_database(path).close()


async def test_the_bot_starts_fresh_beside_a_damaged_file(fake: FakeTelegram, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(GARBAGE)
    bot = BotProcess(fake, data)
    await bot.start()
    try:
        alice: Json = {"id": 3001, "is_bot": False, "first_name": "Alice"}
        _, answer = await bot.ask({"id": 3001, "type": "private", "first_name": "Alice"}, alice, "/help")
        assert "/causes" in answer.text
    finally:
        assert await bot.stop() == 0
    (aside,) = kept_aside(data)
    assert aside.read_bytes() == GARBAGE
    log = bot.stderr.decode()
    assert log.count("was damaged") == 1 and str(aside) in log
    assert "Traceback" not in log


# ------------------------------------------------------------------------------------------ secrets
async def test_a_url_with_the_token_in_an_exception_is_redacted(
    bot: Harness, dm: Json, alice: Json, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx puts the request URL, token included, in some of its exception messages."""
    url = f"{bot.fake.base_url}{TOKEN}/sendMessage"

    async def explode(update: Update, _: object) -> None:
        if update.message is not None and update.message.text == "boom":
            try:
                raise ConnectionError(f"connection reset while talking to {url}")
            except ConnectionError as cause:
                raise RuntimeError(f"Server error '503' for url '{url}'") from cause

    bot.app.add_handler(TypeHandler(Update, explode), group=-5)
    with caplog.at_level(logging.DEBUG):
        await bot.say(dm, alice, "boom")
    logged = "\n".join(caplog.text.splitlines())
    assert "Error while handling message" in logged
    assert "Server error '503'" in logged and "connection reset" in logged
    assert TOKEN not in logged and TOKEN.split(":", 1)[1] not in logged
    _, calls = await bot.say(dm, alice, "/help")  # and the bot carries on
    assert any(c.method == "sendMessage" for c in calls)


async def test_state_with_a_lone_surrogate_is_stored_and_read_back(backend: Backend) -> None:
    persistence = StoragePersistence(backend.open())
    odd = {"missing": "back pain \udc80 on the sled 👍🏿"}
    await persistence.update_user_data(7, odd)
    await persistence.flush()
    again = StoragePersistence(backend.open())
    assert (await again.get_user_data())[7] == odd
    await again.flush()
    await asyncio.sleep(0)


@pytest.mark.parametrize("name", ["INTAKE_LEASE_SECONDS", "POLLER_LEASE_SECONDS"])
@pytest.mark.parametrize("bad", ["0", "ten", "1e9"])
def test_a_lease_length_that_cannot_work_is_one_line(tmp_path: Path, name: str, bad: str) -> None:
    result = run_bot(tmp_path, FAQ_PATH=str(FAQ), **{name: bad})
    assert result.returncode == 2
    (line,) = assert_clean_failure(result)
    assert name in line and "seconds from 1 to 300" in line and repr(bad) in line
