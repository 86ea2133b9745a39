"""PTB persistence on SQLite: every write is one transaction, so a `kill -9` never leaves a broken file.

PTB's PicklePersistence rewrites one file in place; a crash in the middle leaves a file it refuses to load.
Here each user's, chat's or conversation's data is one row, written in its own transaction in a WAL database,
so the worst a crash can do is lose the last write. Handlers never see the database: they use
`context.user_data` / `context.chat_data` and PTB hands the changes to `StoragePersistence`, which talks to a
small `Storage` interface. A server database needs only another `Storage`.

When: an update that moves a person's check is written before the person sees the new step (the door asks
for it); when an update is done, its person's and chat's data are written in the transaction that marks it
done (`changed`, then bot.storage.intake); anything else PTB writes every `update_interval` seconds and when
the bot stops. Unchanged data is
never written again. A damaged file is moved aside, never written over (see `bot.storage.database`).

Values are stored as JSON, so data kept there must be JSON-compatible, with string keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.storage.database import DB_NAME
from bot.storage.state import Row, SqliteStorage, Storage
from bot.telegram.context import Data

# PTB's own aliases for these (telegram.ext._utils.types) are private; the same shapes, spelled out
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

# namespaces in the store
USER, CHAT, BOT, CALLBACK = "user", "chat", "bot", "callback"
CONVERSATION = "conversation:"  # + the ConversationHandler's name
BOT_KEY = "-"

log = logging.getLogger("bot.telegram.persistence")


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"


def _anything(value: Any) -> str | None:
    return None


def _user_or_chat_id(key: str) -> str | None:
    return None if key.lstrip("-").isascii() and key.lstrip("-").isdecimal() else "its key is not an id"


def _conversation_key(key: str) -> str | None:
    try:
        parts = json.loads(key)
    except ValueError:
        return "its key is not JSON"
    return None if isinstance(parts, list) else "its key is not a list"


def _dump(value: Any) -> str:
    # ASCII escapes: a lone surrogate (JSON can carry one in a person's text) must not stop a write
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


class StoragePersistence(BasePersistence[Data, Data, Data]):
    """PTB's persistence interface over a `Storage`. Unchanged data is not written again."""

    def __init__(
        self,
        storage: Storage,
        store_data: PersistenceInput | None = None,
        update_interval: float = 5,
        shared: bool = False,
    ) -> None:
        # arbitrary callback data is not used: button data is short text the core understands
        super().__init__(store_data or PersistenceInput(callback_data=False), update_interval)
        self.storage = storage
        self.shared = shared  # other replicas write the same rows: read a person's afresh for each update
        self._written: dict[tuple[str, str], str] = {}

    def _load(
        self,
        namespace: str,
        check_value: Callable[[Any], str | None] = _mapping,
        check_key: Callable[[str], str | None] = _anything,
        remember: bool = True,
    ) -> dict[str, Any]:
        """The namespace's rows, decoded. A damaged row (not JSON, a list where a mapping belongs, a key
        that is no id) is skipped with one WARNING naming it, and replaced at that person's next write:
        one damaged row must never stop the bot, nor cost anyone else their state. `remember`: what is
        loaded becomes what memory holds (at start-up); otherwise it is only looked at."""
        loaded: dict[str, Any] = {}
        for key, text in self.storage.load(namespace).items():
            problem = check_key(key)
            if problem is None:
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    problem = f"not JSON: {exc}"
                else:
                    problem = check_value(value)
            if problem is not None:
                log.warning("Skipped the damaged state row %s %r (%s)", namespace, key[:80], problem)
                continue
            if remember:
                self._written[(namespace, key)] = text
            loaded[key] = value
        return loaded

    def stored(self) -> tuple[dict[int, Data], dict[int, Data]]:
        """Everyone's and every chat's data as the database holds it now, without touching memory: with
        replicas, what the daily retention looks at (memory holds only the people this replica served)."""
        users = self._load(USER, check_key=_user_or_chat_id, remember=False)
        chats = self._load(CHAT, check_key=_user_or_chat_id, remember=False)
        return {int(k): v for k, v in users.items()}, {int(k): v for k, v in chats.items()}

    def _save(self, namespace: str, key: str, value: Any) -> None:
        text = None if value is None else _dump(value)
        if self._written.get((namespace, key)) == text and not (text is None and self.shared):
            return  # unchanged; but with replicas a row this one never read may exist: deleting is asked
        self.storage.save(namespace, key, text)
        if text is None:
            self._written.pop((namespace, key), None)
        else:
            self._written[(namespace, key)] = text

    def changed(
        self, user: tuple[int, Data | None] | None, chat: tuple[int, Data | None] | None
    ) -> list[Row]:
        """The rows of this user's and chat's data that differ from what is stored (empty data: no row),
        for a caller that writes them in its own transaction and then calls `written`."""
        rows: list[Row] = []
        for namespace, item in ((USER, user), (CHAT, chat)):
            if item is None:
                continue
            key, data = str(item[0]), item[1]
            text = _dump(data) if data else None
            if self._written.get((namespace, key)) != text:
                rows.append((namespace, key, text))
        return rows

    def written(self, rows: list[Row]) -> None:
        for namespace, key, text in rows:
            if text is None:
                self._written.pop((namespace, key), None)
            else:
                self._written[(namespace, key)] = text

    # ------------------------------------------------------------------------------------- reading
    async def get_user_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in self._load(USER, check_key=_user_or_chat_id).items()}

    async def get_chat_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in self._load(CHAT, check_key=_user_or_chat_id).items()}

    async def get_bot_data(self) -> Data:
        data = self._load(BOT).get(BOT_KEY)
        return data if isinstance(data, dict) else {}

    async def get_callback_data(self) -> CDCData | None:
        data = self._load(CALLBACK, _anything).get(BOT_KEY)
        if not isinstance(data, list) or len(data) != 2:
            return None  # not used by this bot (see __init__); never a reason to stop
        queries, keyboards = data
        return [tuple(q) for q in queries], keyboards

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = self._load(CONVERSATION + name, _anything, _conversation_key)
        return {tuple(json.loads(k)): v for k, v in rows.items()}

    # ------------------------------------------------------------------------------------- writing
    # Empty data is no row: nobody's id is kept for nothing (after /forget PTB hands back an empty dict)
    async def update_user_data(self, user_id: int, data: Data) -> None:
        self._save(USER, str(user_id), data or None)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        self._save(CHAT, str(chat_id), data or None)

    async def update_bot_data(self, data: Data) -> None:
        self._save(BOT, BOT_KEY, data)

    async def update_callback_data(self, data: CDCData) -> None:
        self._save(CALLBACK, BOT_KEY, data)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        self._save(CONVERSATION + name, _dump(list(key)), new_state)

    async def drop_chat_data(self, chat_id: int) -> None:
        self._save(CHAT, str(chat_id), None)

    async def drop_user_data(self, user_id: int) -> None:
        self._save(USER, str(user_id), None)

    # Alone on its database, the bot's memory is the truth. With replicas, another one may have handled
    # this person's last update: PTB asks here before each update and job, and the row is read afresh.
    def _refresh(self, namespace: str, key: str, data: Data) -> None:
        if not self.shared:
            return
        text = self.storage.load_one(namespace, key)
        if text == self._written.get((namespace, key)):
            return  # what this replica wrote last: memory is current
        try:
            value = json.loads(text) if text is not None else {}
        except ValueError:
            value = None
        if not isinstance(value, dict):
            log.warning("Skipped the damaged state row %s %r (not a JSON object)", namespace, key[:80])
            return
        data.clear()
        data.update(value)
        if text is None:
            self._written.pop((namespace, key), None)
        else:
            self._written[(namespace, key)] = text

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        self._refresh(USER, str(user_id), user_data)

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        self._refresh(CHAT, str(chat_id), chat_data)

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        self.storage.close()


def sqlite_persistence(data_dir: Path, update_interval: float = 5) -> StoragePersistence:
    """The bot's default persistence: DATA_DIR/bot.sqlite3."""
    return StoragePersistence(SqliteStorage(data_dir / DB_NAME), update_interval=update_interval)
