"""PostgreSQL only: the schema's migrations, and a database that cannot be used at start-up."""

from __future__ import annotations

import threading

import psycopg
import pytest
from pg import free_port, unavailable

from bot.storage.database import StorageError
from bot.storage.migrations import migrations
from bot.storage.postgres import PostgresStorage, check_database, migrate


def versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_replicas_starting_at_once_apply_each_migration_once(database_url: str) -> None:
    start = threading.Barrier(3)
    applied: list[list[int]] = []
    failed: list[BaseException] = []

    def replica() -> None:
        try:
            with psycopg.connect(database_url) as conn:
                start.wait()
                applied.append(migrate(conn))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    everything = [m.version for m in migrations()]
    assert sorted(v for one in applied for v in one) == everything  # each once, by one of them
    assert sorted(len(one) for one in applied) == [0, 0, len(everything)]
    assert versions(database_url) == everything


def test_a_database_up_to_date_is_left_as_it_is(database_url: str) -> None:
    storage = PostgresStorage(database_url)
    storage.save("user", "1", "{}")
    storage.close()
    with psycopg.connect(database_url) as conn:
        assert migrate(conn) == []
    again = PostgresStorage(database_url)
    assert again.load("user") == {"1": "{}"}
    again.close()
    assert versions(database_url) == [m.version for m in migrations()]


def test_an_unreachable_database_is_one_line_without_its_password() -> None:
    url = f"postgresql://bot:hunter2secret@127.0.0.1:{free_port()}/legpress"
    with pytest.raises(StorageError) as caught:
        check_database(url, timeout=2)
    message = str(caught.value)
    assert "\n" not in message and "hunter2secret" not in message
    assert message.startswith(f"cannot use the database at 127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}")


def test_an_unknown_database_on_a_running_server_is_one_line(database_url: str) -> None:
    missing = database_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StorageError, match="no_such_database") as caught:
        check_database(missing)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_without_a_server_ci_fails_and_elsewhere_the_tests_skip(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no server binaries"):
        unavailable("no server binaries in /usr/lib/postgresql/*/bin")
