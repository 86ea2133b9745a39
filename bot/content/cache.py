"""Compiled content, kept between runs the way Python keeps .pyc files: faq.yaml parsed, validated and
indexed once, then read back by every `ask` while neither faq.yaml nor the bot's code has changed.

A cache file holds one built value, stored under a key made of faq.yaml's exact bytes, the package's version,
the Python that wrote it and the size and time of every file of the package (so an edited module is never
served objects of its old shape). A file whose key differs, whose checksum fails, that another user could
have written or that cannot be read is never used: the caller builds the value from faq.yaml again. Writing
is atomic (a private temporary file renamed into place), and any failure to read or write is only logged at
DEBUG: the cache makes start-up faster, it never changes an answer.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from importlib.util import source_hash
from pathlib import Path
from types import MappingProxyType, MethodType
from typing import Any, TypeVar

from bot import __version__

T = TypeVar("T")
MAGIC = b"legpress-bot compiled content 1\n"
HASH_SIZE = 8  # importlib's source hash, the one hash-based .pyc files use
KEY_SIZE = 2 * HASH_SIZE  # faq.yaml's bytes, and what built the value (see key_of)
PACKAGE = Path(__file__).resolve().parent.parent


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """$XDG_CACHE_HOME/legpress-bot, else ~/.cache/legpress-bot."""
    base = environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "legpress-bot"


def _package_files(folder: str, found: list[str]) -> list[str]:
    for item in os.scandir(folder):
        if item.is_dir(follow_symlinks=False):
            if item.name != "__pycache__":
                _package_files(item.path, found)
        else:
            st = item.stat()
            found.append(f"{item.path}\0{st.st_size}\0{st.st_mtime_ns}")
    return found


def key_of(source: bytes) -> bytes:
    """What a cached value was built from: faq.yaml's bytes, this package's code, this Python."""
    code = "\n".join(sorted(_package_files(str(PACKAGE), [])))
    made_by = f"{__version__}\n{sys.version}\n{sys.implementation.cache_tag}\n{code}".encode()
    return source_hash(source) + source_hash(made_by)


def _file_for(source_path: Path, directory: Path) -> Path:
    """One cache file per faq.yaml (by its absolute path), replaced when faq.yaml changes."""
    return directory / f"{source_hash(str(source_path.absolute()).encode()).hex()}.cache"


def _debug(message: str, *args: object) -> None:
    import logging  # only on the slow path: `ask` does not load logging for a cache that works

    logging.getLogger(__name__).debug(message, *args)


def read(source_path: Path, source: bytes, directory: Path | None = None) -> object | None:
    """The value stored for exactly these faq.yaml bytes, or None (missing, stale, damaged, not ours)."""
    try:
        path = _file_for(source_path, directory or cache_dir())
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_mode & 0o022 or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
                _debug("content cache %s: writable by others, not used", path)
                return None
            blob = f.read()
        # the magic line, the key, the payload's checksum, then the pickled payload
        key, rest = blob[len(MAGIC) : len(MAGIC) + KEY_SIZE], blob[len(MAGIC) + KEY_SIZE :]
        checksum, payload = rest[:HASH_SIZE], rest[HASH_SIZE:]
        if not blob.startswith(MAGIC) or key != key_of(source):
            _debug("content cache %s: built from another faq.yaml or another version", path)
            return None
        if checksum != source_hash(payload):
            _debug("content cache %s: damaged", path)
            return None
        value: object = pickle.loads(payload)
    except FileNotFoundError:
        return None
    except Exception as exc:  # no home folder, unreadable, a class that moved: build it again
        _debug("content cache for %s: not used (%s)", source_path, exc)
        return None
    return value


def write(source_path: Path, source: bytes, value: object, directory: Path | None = None) -> None:
    """Store `value` as built from these faq.yaml bytes; failing is only logged at DEBUG."""
    try:
        folder = directory or cache_dir()
        path = _file_for(source_path, folder)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        payload = _dumps(value)
        import tempfile  # only when writing: after an edit, or the first time

        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + key_of(source) + source_hash(payload) + payload)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except Exception as exc:  # no home folder, read-only, full disk, a value that cannot be pickled
        _debug("content cache for %s: not written (%s)", source_path, exc)


def cached(source_path: Path, source: bytes, build: Callable[[], T], kind: type[T]) -> T:
    """The value cached for faq.yaml's bytes when it is a `kind`, else `build()`, stored for next time."""
    found = read(source_path, source)
    if isinstance(found, kind):
        return found
    value = build()
    write(source_path, source, value)
    return value


# ------------------------------------------------------------------------------------------- pickling
def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _remembered(function: Callable[..., Any], maxsize: int | None) -> Callable[..., Any]:
    return lru_cache(maxsize=maxsize)(function)


class _Pickler(pickle.Pickler):
    """Pickles the read-only mappings the content is made of, and a memo (`lru_cache`) as what it wraps:
    a method's or a partial's memo starts empty again when loaded, as after a fresh build."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, MappingProxyType):
            return _proxy, (dict(obj),)
        wrapped = getattr(obj, "__wrapped__", None)
        if hasattr(obj, "cache_info") and isinstance(wrapped, MethodType | partial):
            return _remembered, (wrapped, obj.cache_parameters()["maxsize"])
        return NotImplemented


def _dumps(value: object) -> bytes:
    import io

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()
