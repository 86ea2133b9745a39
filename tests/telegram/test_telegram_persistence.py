"""The SQLite persistence behind PTB's user, chat and bot data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Harness, stop_bot
from fakebot import Json
from pg import Backend

from bot.content.model import KnowledgeBase
from bot.core import check as qn
from bot.storage.state import SqliteStorage, Storage
from bot.telegram.checks import CHECKS, load_state, store_state
from bot.telegram.persistence import StoragePersistence, sqlite_persistence


class CountingStorage:
    """A storage that counts its writes."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.writes = 0

    def load(self, namespace: str) -> dict[str, str]:
        return self.storage.load(namespace)

    def save(self, namespace: str, key: str, value: str | None) -> None:
        self.writes += 1
        self.storage.save(namespace, key, value)

    def close(self) -> None:
        self.storage.close()


def test_the_default_persistence_is_data_dir_s_sqlite_file(tmp_path: Path) -> None:
    persistence = sqlite_persistence(tmp_path)
    assert isinstance(persistence.storage, SqliteStorage)
    assert persistence.storage.path == tmp_path / "bot.sqlite3"
    persistence.storage.close()


async def test_everything_written_is_read_back_by_a_new_process(backend: Backend, kb: KnowledgeBase) -> None:
    first = StoragePersistence(backend.open())
    state, _ = qn.start(kb, "tight-hamstrings", 10.0, "abc123")
    user_data: dict[str, object] = {}
    store_state(user_data, "-100", state)
    await first.update_user_data(7, user_data)
    await first.update_chat_data(-100, {"answers": {"5": 6}})
    await first.update_bot_data({"version": 1})
    await first.update_conversation("check", (1, 7), "ASKING")
    await first.flush()

    second = StoragePersistence(backend.open())
    users = await second.get_user_data()
    assert load_state(users[7], "-100") == state
    assert await second.get_chat_data() == {-100: {"answers": {"5": 6}}}
    assert await second.get_bot_data() == {"version": 1}
    assert await second.get_conversations("check") == {(1, 7): "ASKING"}
    await second.drop_user_data(7)
    await second.update_conversation("check", (1, 7), None)
    await second.flush()

    third = StoragePersistence(backend.open())
    assert await third.get_user_data() == {}
    assert await third.get_conversations("check") == {}
    await third.flush()


async def test_unchanged_data_is_not_written_again(backend: Backend) -> None:
    storage = CountingStorage(backend.open())
    persistence = StoragePersistence(storage)
    await persistence.update_chat_data(1, {"a": 1})
    await persistence.update_chat_data(1, {"a": 1})
    assert storage.writes == 1
    await persistence.update_chat_data(1, {"a": 2})
    assert storage.writes == 2
    await persistence.flush()


def test_the_database_uses_a_write_ahead_log(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    storage.save("user", "1", "{}")
    assert storage._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    storage.close()


def stored(tmp_path: Path, namespace: str, key: int) -> dict[str, Any]:
    """What a new process would read from disk right now."""
    storage = SqliteStorage(tmp_path / "data" / "bot.sqlite3")
    try:
        row = storage.load(namespace).get(str(key))
    finally:
        storage.close()
    return json.loads(row) if row else {}


async def test_a_check_step_the_person_saw_is_already_on_disk(
    bot: Harness, dm: Json, alice: Json, tmp_path: Path
) -> None:
    asked, _ = await bot.say(dm, alice, "why does my back hurt on the leg press?")
    await bot.say(dm, alice, "/check")
    assert load_state(stored(tmp_path, "user", alice["id"]), str(dm["id"])) is not None
    # written with it: the chat's data as it stood, so the question asked before can still be corrected
    assert str(asked["message_id"]) in stored(tmp_path, "chat", dm["id"])["answers"]


async def test_the_rest_is_written_at_the_latest_when_the_bot_stops(
    bot: Harness, dm: Json, alice: Json, tmp_path: Path
) -> None:
    """Which reply answered which question is saved on PTB's interval, not after every update."""
    asked, _ = await bot.say(dm, alice, "/causes")
    await stop_bot(bot)
    assert str(asked["message_id"]) in stored(tmp_path, "chat", dm["id"])["answers"]


def test_state_is_kept_per_chat(kb: KnowledgeBase) -> None:
    data: dict[str, object] = {}
    one, _ = qn.start(kb, None, 1.0, "r1")
    two, _ = qn.start(kb, None, 2.0, "r2")
    store_state(data, "1", one)
    store_state(data, "2", two)
    store_state(data, "1", None)
    assert list(data[CHECKS]) == ["2"]  # type: ignore[call-overload]
    assert load_state(data, "1") is None and load_state(data, "2") == two
