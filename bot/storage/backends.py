"""The intake and the claims beside a state storage, on whichever database it is: they share its
transactions (an update's done mark and the state it changed are written together)."""

from __future__ import annotations

import os
import secrets
import socket

from bot.storage.claims import Claims
from bot.storage.intake import Intake, SqliteIntake
from bot.storage.state import SqliteStorage, Storage

LEASE_SECONDS = 10.0


def replica_name() -> str:
    """This process among the replicas: its host, its pid, and a few random letters (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def intake_for(storage: Storage) -> Intake:
    if isinstance(storage, SqliteStorage):
        return SqliteIntake(storage)
    from bot.storage.postgres import PostgresIntake, PostgresStorage

    if isinstance(storage, PostgresStorage):
        return PostgresIntake(storage)
    raise TypeError("the intake needs the state's own storage, to share its transactions")


def claims_for(
    storage: Storage, owner: str, lease_seconds: float = LEASE_SECONDS, poller_seconds: float | None = None
) -> Claims:
    """The claims beside the intake (whose tables it reads). The embedded file is one process's alone:
    the leases a killed process left there are dropped at once, not waited out."""
    if isinstance(storage, SqliteStorage):
        SqliteIntake(storage)  # the tables exist
        claims = Claims(storage, owner, lease_seconds, poller_seconds=poller_seconds)
        claims.clear()
        return claims
    from bot.storage.log_sql import pyformat
    from bot.storage.postgres import PostgresStorage

    if isinstance(storage, PostgresStorage):
        return Claims(storage, owner, lease_seconds, pyformat, poller_seconds=poller_seconds)
    raise TypeError("the claims need the state's own storage, to share its transactions")


def shared(storage: Storage) -> bool:
    """Whether other replicas may write this storage while this one runs (a server database)."""
    return not isinstance(storage, SqliteStorage)
