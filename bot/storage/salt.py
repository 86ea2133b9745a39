"""The deployment's salt (DATA_DIR/salt, mode 0600; on PostgreSQL, in the database, so that every replica
has the same one) and the salted, one-way names made with it.

The question log stores people and chats only under these names, so repeat askers can be counted but not
named; deleting the salt makes every name in the log unlinkable to anyone.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.storage.database import StorageError

SALT_NAME = "salt"


def load_salt(data_dir: Path) -> bytes:
    """The deployment's salt, created on first use. Written to a private temp file and linked into place,
    so two processes starting at once agree on one salt and never read a half-written file."""
    path = data_dir / SALT_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{SALT_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(new_salt() + "\n")
            with contextlib.suppress(FileExistsError):  # another process won the race: use its salt
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return parse_salt(path.read_text(encoding="ascii", errors="replace"), str(path))


def parse_salt(text: str, where: str) -> bytes:
    """A salt written as hex; StorageError naming `where` when it is not one."""
    try:
        salt = bytes.fromhex(text.strip())
    except ValueError:
        salt = b""
    if len(salt) < 16:
        raise StorageError(f"{where}: not a valid salt (delete it to start counting people afresh)")
    return salt


def read_salt(data_dir: Path) -> str | None:
    """DATA_DIR's salt as hex text, when there is a valid one: what a database takes over when the bot
    moves to PostgreSQL, so the people already in the log keep their names."""
    path = data_dir / SALT_NAME
    try:
        text = path.read_text(encoding="ascii").strip()
        parse_salt(text, str(path))
    except (OSError, ValueError, StorageError):
        return None
    return text


def new_salt() -> str:
    return secrets.token_hex(32)


def pseudonym(salt: bytes, kind: str, ident: int | str) -> str:
    """A stable, salted, one-way name for a Telegram id: the same person always gets the same one."""
    return hmac.new(salt, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:20]
