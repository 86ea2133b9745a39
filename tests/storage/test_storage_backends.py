"""The state and the durable intake, the same tests against each implementation (SQLite, PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from pg import Backend

from bot.storage.intake import KEEP_DONE_SECONDS
from bot.storage.state import Row


def test_rows_are_kept_per_namespace_replaced_and_deleted(backend: Backend) -> None:
    storage = backend.open()
    storage.save("user", "7", '{"a":1}')
    storage.save("user", "7", '{"a":2}')
    storage.save("chat", "7", '{"c":1}')
    storage.save("user", "8", "{}")
    storage.save("user", "8", None)
    storage.save("user", "9", None)  # deleting what is not there is no error
    storage.close()
    again = backend.open()
    assert again.load("user") == {"7": '{"a":2}'}
    assert again.load("chat") == {"7": '{"c":1}'}
    assert again.load("conversation:check") == {}
    again.close()


def test_an_update_stored_twice_is_new_once(backend: Backend) -> None:
    storage = backend.open()
    intake = backend.intake(storage)
    assert intake.store([(3, '{"update_id":3}'), (1, '{"update_id":1}')]) == [3, 1]
    assert intake.store([(1, '{"update_id":1}'), (2, '{"update_id":2}')]) == [2]
    assert intake.pending() == [(1, '{"update_id":1}'), (2, '{"update_id":2}'), (3, '{"update_id":3}')]
    storage.close()


def test_done_writes_the_state_and_the_mark_together_and_both_survive(backend: Backend) -> None:
    storage = backend.open()
    intake = backend.intake(storage)
    intake.store([(5, "{}"), (6, "{}")])
    intake.done(5, [("user", "1", '{"step":2}'), ("chat", "1", None)])
    storage.close()
    again = backend.open()
    intake = backend.intake(again)
    assert intake.pending() == [(6, "{}")]
    assert again.load("user") == {"1": '{"step":2}'}
    assert intake.store([(5, "{}")]) == []  # a done update arriving again is recognised
    again.close()


def test_a_failed_done_leaves_neither_the_state_nor_the_mark(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = backend.open()
    intake = backend.intake(storage)
    intake.store([(9, "{}")])
    real_write = type(storage).write  # type: ignore[attr-defined]

    def write_then_fail(db: object, rows: Sequence[Row]) -> None:
        real_write(db, rows)
        raise OSError("the disk went away")

    monkeypatch.setattr(type(storage), "write", staticmethod(write_then_fail))
    with pytest.raises(OSError):
        intake.done(9, [("user", "1", '{"step":3}')])
    monkeypatch.undo()
    assert intake.pending() == [(9, "{}")]
    assert storage.load("user") == {}
    storage.close()


def test_purge_forgets_only_ids_done_more_than_a_day_ago(backend: Backend) -> None:
    storage = backend.open()
    intake = backend.intake(storage)
    intake.store([(1, "{}"), (2, "{}"), (3, "{}")])
    intake.done(1)
    intake.done(2)
    assert intake.purge(time.time()) == 0
    assert intake.purge(time.time() + KEEP_DONE_SECONDS + 60) == 2
    assert intake.pending() == [(3, "{}")]  # not done: kept, however old
    assert intake.store([(1, "{}")]) == [1]  # forgotten: new again
    storage.close()
