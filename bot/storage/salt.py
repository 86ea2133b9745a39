"""The deployment's salt (DATA_DIR/salt, mode 0600) and the salted, one-way names made with it.

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
                f.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process won the race: use its salt
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    raw = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        salt = bytes.fromhex(raw)
    except ValueError:
        salt = b""
    if len(salt) < 16:
        raise StorageError(f"{path}: not a valid salt (delete it to start counting people afresh)")
    return salt


def pseudonym(salt: bytes, kind: str, ident: int | str) -> str:
    """A stable, salted, one-way name for a Telegram id: the same person always gets the same one."""
    return hmac.new(salt, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:20]
