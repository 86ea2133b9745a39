"""Leases and once-only jobs, as several replicas on one database see them (each implementation)."""

from __future__ import annotations

from pg import Backend

from bot.storage.backends import claims_for
from bot.storage.claims import POLLER, Claims
from bot.storage.state import Storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def replica(storage: Storage, name: str, clock: Clock, lease: float = 10.0) -> Claims:
    claims = claims_for(storage, name, lease)
    claims._clock = clock
    return claims


def test_one_replica_holds_a_lease_until_it_lapses(backend: Backend) -> None:
    storage, clock = backend.open(), Clock()
    a, b = replica(storage, "a", clock), replica(storage, "b", clock)
    assert a.hold(POLLER) and a.hold(POLLER), "the holder renews it"
    assert not b.hold(POLLER)
    clock.now += 9
    assert a.renew() == 1
    clock.now += 9
    assert not b.hold(POLLER), "renewed: still a's"
    clock.now += 11
    assert b.hold(POLLER), "lapsed: b takes it over"
    assert not a.hold(POLLER)
    b.release(POLLER)
    assert a.hold(POLLER)
    storage.close()


def test_a_chat_is_handed_back_only_when_none_of_its_updates_waits(backend: Backend) -> None:
    storage, clock = backend.open(), Clock()
    intake = backend.intake(storage)
    a, b = replica(storage, "a", clock), replica(storage, "b", clock)
    intake.store([(1, "{}"), (2, "{}")], {1: 70, 2: 80})
    assert a.hold_chats([70, 80]) == [70, 80]
    assert b.hold_chats([70, 80]) == []
    assert not a.release_chat(70), "update 1 still waits"
    intake.done(1)
    assert a.release_chat(70)
    assert b.hold_chats([70]) == [70]
    storage.close()


def test_chats_of_a_replica_that_stopped_renewing_are_found_by_the_others(backend: Backend) -> None:
    storage, clock = backend.open(), Clock()
    intake = backend.intake(storage)
    a, b = replica(storage, "a", clock), replica(storage, "b", clock)
    intake.store([(5, "{}"), (6, "{}"), (7, "{}")], {5: 1, 6: 2, 7: 3})
    assert a.hold_chats([1, 2]) == [1, 2]
    assert b.unattended_chats() == [3], "chats 1 and 2 are a's while its leases live"
    assert a.unattended_chats() == [1, 2, 3], "a's own chats too: it may have failed to finish them"
    clock.now += 11  # a was killed: no renewals
    assert b.unattended_chats() == [1, 2, 3]
    assert b.hold_chats(b.unattended_chats()) == [1, 2, 3]
    assert intake.pending(2) == [(6, "{}")]
    storage.close()


def test_a_job_runs_once_across_replicas(backend: Backend) -> None:
    storage, clock = backend.open(), Clock()
    a, b = replica(storage, "a", clock), replica(storage, "b", clock)
    assert a.once("retention:2026-12-01")
    assert not b.once("retention:2026-12-01") and not a.once("retention:2026-12-01")
    assert b.once("retention:2026-12-02")
    storage.close()
