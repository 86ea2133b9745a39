"""The compiled-content cache: `ask` reads faq.yaml's built core back instead of parsing it again, and is
never answered from a cache that does not match faq.yaml's bytes and the bot's code exactly."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from botprocess import run_cli

from bot.content import cache
from bot.core.dialogue import Dialogue

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "bot" / "faq.yaml"
QUESTIONS = [
    "why does my back hurt after leg press?",
    "where should my feet go on the leg press?",
    "is a lifting belt worth it on the leg press?",
    "what's the capital of France",
    "hello there",
]


def ask(
    faq: Path, cache_home: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin or "", FAQ_PATH=str(faq), XDG_CACHE_HOME=str(cache_home))


def cache_files(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "legpress-bot").glob("*.cache"))


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    copy = tmp_path / "faq.yaml"
    shutil.copyfile(FAQ, copy)
    return copy


def test_the_second_ask_is_answered_from_a_private_cache(faq: Path, tmp_path: Path) -> None:
    home = tmp_path / "cache"
    first = ask(faq, home, "ask", QUESTIONS[0])
    assert first.returncode == 0 and first.stderr == ""
    (written,) = cache_files(home)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    assert isinstance(cache.read(faq, faq.read_bytes(), home / "legpress-bot"), Dialogue)
    second = ask(faq, home, "ask", QUESTIONS[0])
    assert (second.returncode, second.stdout, second.stderr) == (0, first.stdout, "")


def test_ask_gives_the_same_answers_with_and_without_the_cache(faq: Path, tmp_path: Path) -> None:
    unusable = tmp_path / "not-a-folder"
    unusable.write_text("a file where the cache folder would be\n")
    home = tmp_path / "cache"
    lines = "\n".join(QUESTIONS) + "\n"
    for args in (["ask"], ["ask", "--json"]):
        without = ask(faq, unusable, *args, stdin=lines)
        ask(faq, home, *args, stdin=lines)  # builds and writes the cache
        assert cache_files(home)
        cached = ask(faq, home, *args, stdin=lines)
        assert without.returncode == cached.returncode == 0
        assert without.stderr == cached.stderr == ""  # an unusable cache is not worth a word
        assert cached.stdout == without.stdout and len(without.stdout.splitlines()) >= len(QUESTIONS)


def test_an_edited_faq_is_never_answered_from_the_old_cache(faq: Path, tmp_path: Path) -> None:
    home = tmp_path / "cache"
    before = json.loads(ask(faq, home, "ask", "--json", QUESTIONS[1]).stdout)
    title = before["title"]
    assert title and cache_files(home)
    # the same number of bytes and the same modification time: only the content tells them apart
    old = faq.stat()
    lines = faq.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("    title: ") and title in line)
    lines[number] = lines[number].replace(title, title.upper())
    faq.write_text("".join(lines), encoding="utf-8")
    os.utime(faq, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert faq.stat().st_size == old.st_size
    after = json.loads(ask(faq, home, "ask", "--json", QUESTIONS[1]).stdout)
    assert after["id"] == before["id"] and after["title"] == title.upper()


def test_a_broken_faq_after_a_good_one_is_reported_not_answered(faq: Path, tmp_path: Path) -> None:
    home = tmp_path / "cache"
    assert ask(faq, home, "ask", QUESTIONS[0]).returncode == 0
    lines = faq.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("    title: "))
    del lines[number]
    faq.write_text("".join(lines), encoding="utf-8")
    for args in (["ask", QUESTIONS[0]], ["check", str(faq)]):
        r = ask(faq, home, *args)
        assert r.returncode == 1 and r.stdout == ""
        assert f"{faq}:" in r.stderr and "field 'title': missing or empty" in r.stderr


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "garbage", "empty"])
def test_a_damaged_cache_still_answers_correctly_and_is_rebuilt(
    faq: Path, tmp_path: Path, damage: str
) -> None:
    home = tmp_path / "cache"
    good = ask(faq, home, "ask", QUESTIONS[0])
    (written,) = cache_files(home)
    blob = bytearray(written.read_bytes())
    if damage == "flipped byte":
        blob[len(blob) // 2] ^= 0xFF
    elif damage == "truncated":
        del blob[len(blob) // 2 :]
    elif damage == "garbage":
        blob = bytearray(b"\x80\x05not a pickle at all" * 100)
    else:
        blob = bytearray()
    written.write_bytes(bytes(blob))
    assert cache.read(faq, faq.read_bytes(), home / "legpress-bot") is None
    again = ask(faq, home, "ask", QUESTIONS[0])
    assert (again.returncode, again.stdout, again.stderr) == (0, good.stdout, "")
    assert isinstance(cache.read(faq, faq.read_bytes(), home / "legpress-bot"), Dialogue)


def test_a_cache_others_could_have_written_is_not_used(faq: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache.write(faq, faq.read_bytes(), ("compiled", "content"), folder)
    assert cache.read(faq, faq.read_bytes(), folder) == ("compiled", "content")
    (written,) = folder.glob("*.cache")
    written.chmod(0o666)
    assert cache.read(faq, faq.read_bytes(), folder) is None


def test_a_change_to_the_bots_code_makes_the_cache_stale(
    faq: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "package"
    (package / "core").mkdir(parents=True)
    module = package / "core" / "matching.py"
    module.write_text("WEIGHT = 1\n")
    monkeypatch.setattr(cache, "PACKAGE", package)
    folder = tmp_path / "cache"
    cache.write(faq, faq.read_bytes(), "built by WEIGHT = 1", folder)
    assert cache.read(faq, faq.read_bytes(), folder) == "built by WEIGHT = 1"
    module.write_text("WEIGHT = 2\n")
    assert cache.read(faq, faq.read_bytes(), folder) is None


def test_an_unpicklable_value_is_simply_not_cached(faq: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache.write(faq, faq.read_bytes(), lambda: None, folder)  # a lambda cannot be pickled
    assert cache.read(faq, faq.read_bytes(), folder) is None
    assert list(folder.iterdir()) == []  # no temporary file left behind either


def test_a_cached_dialogue_answers_as_the_one_it_was_built_from(faq: Path, tmp_path: Path) -> None:
    from bot.content.load import load_knowledge

    folder = tmp_path / "cache"
    built = Dialogue.from_kb(load_knowledge(faq))
    answer = built.on_text(QUESTIONS[0], None)  # its memos now hold this reading
    cache.write(faq, faq.read_bytes(), built, folder)
    loaded = cache.read(faq, faq.read_bytes(), folder)
    assert isinstance(loaded, Dialogue) and loaded is not built
    assert loaded.on_text(QUESTIONS[0], None).replies == answer.replies


def test_a_faq_that_is_not_utf8_is_reported_and_not_cached(faq: Path, tmp_path: Path) -> None:
    home = tmp_path / "cache"
    faq.write_bytes(faq.read_bytes().replace(b"meta:", b"meta: \xff", 1))
    r = ask(faq, home, "ask", QUESTIONS[0])
    assert r.returncode == 1 and r.stdout == ""
    assert f"{faq}: cannot read" in r.stderr and "utf-8" in r.stderr
    assert cache_files(home) == []
