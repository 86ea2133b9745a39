"""A throwaway PostgreSQL server for the tests: Debian's server binaries (/usr/lib/postgresql/*/bin), a
cluster in a temporary folder, listening on 127.0.0.1 and a free port, stopped and removed at the end.

PostgreSQL refuses to run as root, and CI runs the tests as root: then the cluster belongs to the `postgres`
user and its commands run through `runuser`. With CI=true a missing server or driver fails the tests that
need it; elsewhere they are skipped, with the reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage.backends import intake_for
from bot.storage.intake import Intake
from bot.storage.state import SqliteStorage, Storage

SERVER_USER = "postgres"
_databases = itertools.count(1)


def unavailable(reason: str) -> None:
    """Fail in CI, where these tests must run; skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def server_bin() -> Path | None:
    """The newest installed server's bin folder."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database on this server; its URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(_databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY file_copy')
        return self.url(name)


class ServerUnavailable(Exception):
    """No PostgreSQL server can be started here (no driver, no server binaries): the reason."""


@contextmanager
def throwaway_server() -> Iterator[PgServer]:
    """A PostgreSQL server of its own, running until the block ends; ServerUnavailable when none can run
    here. For the fixture below and for the benchmarks, which run outside pytest."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ServerUnavailable("psycopg is not installed (pip install -e '.[test]')") from None
    bin_dir = server_bin()
    if bin_dir is None:
        raise ServerUnavailable(
            "no server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", SERVER_USER, "--"] if as_root else []
    # not under pytest's tmp_path: its parents are closed to every user but root
    folder = Path(tempfile.mkdtemp(prefix="legpress-pg-"))
    folder.chmod(0o700)
    if as_root:
        shutil.chown(folder, SERVER_USER, SERVER_USER)
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()}\n{tail}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", SERVER_USER, "-A", "trust", "-E", "UTF8",
        "--locale=C", "--no-sync")  # fmt: skip
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    try:
        run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"
        )
        yield PgServer(port)
    finally:
        with_server = data / "postmaster.pid"
        if with_server.exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole test session (each test takes a fresh database on it)."""
    try:
        with throwaway_server() as server:
            yield server
    except ServerUnavailable as exc:  # raised before the server starts, never from a test
        unavailable(str(exc))


@pytest.fixture
def database_url(pg_server: PgServer) -> str:
    """A fresh database of its own for one test."""
    return pg_server.fresh_database()


@dataclass(frozen=True)
class Backend:
    """One storage implementation, for tests that run against each: `open` is what a new process would
    open (the same file or database every time), `intake` the durable intake sharing its transactions."""

    name: str
    place: str  # the SQLite file, or the database URL

    def open(self) -> Storage:
        if self.name == "sqlite":
            return SqliteStorage(Path(self.place))
        from bot.storage.postgres import PostgresStorage

        return PostgresStorage(self.place)

    def intake(self, storage: Storage) -> Intake:
        return intake_for(storage)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each storage implementation in turn: the embedded SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "bot.sqlite3"))
    server: PgServer = request.getfixturevalue("pg_server")
    return Backend("postgres", server.fresh_database())
