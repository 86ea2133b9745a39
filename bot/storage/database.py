"""The bot's one SQLite file (DATA_DIR/bot.sqlite3), opened safely for the persistence and the question log.

Both open the file through `open_database`, so they treat a damaged file the same way. A file that SQLite
reports as corrupt, or as not a database at all, is never written over: it is moved aside, with its `-wal`
and `-shm` companions, to `bot.sqlite3.corrupt-<UTC time>` beside it, one line in the log says so and where,
and the bot starts with an empty database (people's open checks and the question log start afresh; the old
file can still be inspected or repaired with `sqlite3 FILE .recover`). Readers that must not change anything
(`legpress-bot report`) get a `StorageError` instead.

An empty (0-byte) file is treated the same way: SQLite would quietly start afresh in it. A write-ahead log
(`-wal`) that SQLite did not write, which SQLite would quietly overwrite, is moved aside on its own to
`bot.sqlite3-wal.corrupt-<UTC time>` (the database itself is kept), again with one WARNING line.

Any other problem (a folder that cannot be written, a locked or unreadable file) is a `StorageError` whose
message is one line saying what to fix. No `telegram` import here: the report uses this module too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "bot.sqlite3"
# SQLite's own words for "this file is damaged" and "this file is not a database"
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_COMPANIONS = ("-wal", "-shm")
# the first four bytes of every write-ahead log SQLite writes (https://sqlite.org/fileformat.html#walformat)
_WAL_MAGIC = (bytes.fromhex("377f0682"), bytes.fromhex("377f0683"))
_WAL_HEADER_BYTES = 32


class StorageError(Exception):
    """The data folder or database cannot be used; the message is one line for the person running the bot."""


def first_line(exc: BaseException) -> str:
    """An error's message for a one-line log entry: database drivers' messages run over several lines."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_data_dir(data_dir: Path) -> None:
    """Make DATA_DIR and prove it writable now, so a bad setting stops the bot at start-up, not mid-reply."""
    probe = data_dir / f".write-test-{os.getpid()}"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private(data_dir, 0o700)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StorageError(
            f"DATA_DIR {data_dir} is not a writable folder ({reason}); set DATA_DIR to a folder the bot "
            "can create and write"
        ) from None


def private(path: Path, mode: int) -> None:
    """Only the bot's own user may read what people told it: the folder 0700, its files 0600. A file
    the bot does not own (a mounted volume, say) is left as it is."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError:
        pass


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, often 0644); SQLite gives
    its -wal and -shm files the database's own mode."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    private(path, 0o600)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private(companion, 0o600)


def _probe(path: Path, timeout: float) -> str | None:
    """Why SQLite cannot trust an existing file, or None. Read-only, so that a damaged file is not changed
    (SQLite would otherwise checkpoint into it, or delete its WAL on closing)."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error:
        return None  # not readable as a file: the normal open below says why
    try:
        verdict = db.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        return str(exc) if getattr(exc, "sqlite_errorcode", None) in _DAMAGED else None
    finally:
        db.close()
    if verdict is None or verdict[0] != "ok":
        return str(verdict[0]) if verdict else "quick_check gave no answer"
    return None


def _wal_damage(path: Path) -> str | None:
    """Why the database's write-ahead log is not one SQLite wrote, or None. SQLite itself would quietly
    ignore (and then overwrite) such a file, and with it whatever the log was supposed to hold."""
    wal = path.with_name(path.name + "-wal")
    try:
        with wal.open("rb") as f:
            head = f.read(_WAL_HEADER_BYTES)
    except FileNotFoundError:
        return None
    except OSError:
        return None  # not readable: the normal open says why
    if not head:
        return None  # an empty log is what SQLite leaves after a checkpoint
    if len(head) < _WAL_HEADER_BYTES or head[:4] not in _WAL_MAGIC:
        return "its write-ahead log is not one SQLite wrote"
    return None


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    """Connect in autocommit mode and switch to WAL."""
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a committed transaction survives a crash of the process (not of the machine),
        # and a commit costs no fsync
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL files) to `<name>.corrupt-<UTC time>`; the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


def _move_wal_aside(path: Path, damage: str) -> None:
    """Keep the database, move its unreadable write-ahead log (and the index beside it) aside."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    wal = path.with_name(path.name + "-wal")
    target = wal.with_name(f"{wal.name}.corrupt-{stamp}")
    try:
        os.replace(wal, target)
        path.with_name(path.name + "-shm").unlink(missing_ok=True)  # an index of the log just moved
    except OSError as exc:
        raise StorageError(f"{path}: {damage}, and it could not be moved aside: {exc}") from None
    log.warning("The database %s: %s; moved it to %s and kept the database", path, damage, target)


def open_database(path: Path, *, recover: bool = True, timeout: float = 5.0) -> sqlite3.Connection:
    """The SQLite file at `path`, in autocommit and WAL mode, checked first with `PRAGMA quick_check`.

    A damaged file is moved aside and replaced by a new, empty one when `recover` is true (one WARNING line
    names both files); otherwise, and for every other failure, StorageError with a one-line message.
    """
    damage = "an empty file (0 bytes)" if path.is_file() and path.stat().st_size == 0 else None
    damage = damage or _probe(path, timeout)
    wal_damage = _wal_damage(path) if damage is None else None  # a damaged file moves with its log
    if wal_damage is not None and recover:
        _move_wal_aside(path, wal_damage)
    elif wal_damage is not None:
        damage = wal_damage
    if damage is not None:
        if not recover:
            raise StorageError(
                f"{path} is damaged ({damage}); start the bot once to move it aside, or repair it with "
                f"`sqlite3 {path} .recover`"
            )
        try:
            kept = move_aside(path)
        except OSError as exc:
            raise StorageError(f"{path} is damaged ({damage}) and could not be moved aside: {exc}") from None
        log.warning(
            "The database %s was damaged (%s): moved it to %s and started with an empty one",
            path,
            damage,
            kept,
        )
    try:
        _create_private(path)
        return _connect(path, timeout)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"cannot open the database {path}: {exc}") from None
