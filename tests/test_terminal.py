"""The terminal chat as a person at a real terminal meets it: run in a pseudo-terminal, keys typed.

Ctrl-C and Ctrl-D end the chat quietly; arrow keys edit the line and bring back earlier ones (readline);
a 👎 asks what was missing and takes the next line as the answer; lines fit the window; what was asked is
in the question log afterwards, as it is after a Telegram chat.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FAQ

from bot.core.wording import FEEDBACK_NOTED
from bot.storage.database import DB_NAME

WAIT = 30.0  # an upper bound only: reaching it fails the test
COLUMNS = 60
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
KEY_UP, KEY_LEFT = "\x1b[A", "\x1b[D"


class Terminal:
    """`legpress-bot chat` on the far side of a pseudo-terminal COLUMNS wide."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COLUMNS", "LINES"))}
        env.update(FAQ_PATH=str(FAQ), DATA_DIR=str(data_dir), TERM="xterm", PYTHONUNBUFFERED="1")
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal, so Ctrl-C is a real SIGINT
            os.execve(sys.executable, [sys.executable, "-m", "bot", "chat"], env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
        self.pid, self.fd, self.seen = pid, fd, ""

    def read_until(self, text: str) -> str:
        """Everything shown up to and including `text` (escape sequences removed)."""
        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], WAIT)
            assert ready, f"waited for {text!r}; the screen shows: {self.seen[-500:]!r}"
            try:
                chunk = os.read(self.fd, 65536).decode("utf-8", "replace")
            except OSError:  # the child has gone: the pty reads as closed
                chunk = ""
            assert chunk, f"the chat ended before {text!r}; the screen shows: {self.seen[-500:]!r}"
            self.seen += ANSI.sub("", chunk)
        shown, _, self.seen = self.seen.partition(text)
        return shown + text

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def ask(self, line: str) -> str:
        """Type a line and read the answer, up to the next prompt."""
        self.type(line + "\r")
        return self.read_until("\n> ")

    def finish(self) -> tuple[int, str]:
        """Wait for the chat to end: its exit status and the rest of what it showed."""
        rest = ""
        with contextlib.suppress(OSError):
            while chunk := os.read(self.fd, 65536):
                rest += chunk.decode("utf-8", "replace")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), self.seen + ANSI.sub("", rest)

    def kill(self) -> None:
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path / "data")
    term.read_until("/quit to leave.)")
    term.read_until("> ")
    yield term
    term.kill()


def stored(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        return list(conn.execute(sql))


def test_ctrl_c_ends_the_chat_quietly(terminal: Terminal) -> None:
    terminal.ask("do I need a belt?")
    terminal.type("\x03")
    status, rest = terminal.finish()
    assert status == 0
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest


def test_ctrl_d_ends_the_chat_quietly(terminal: Terminal) -> None:
    terminal.type("\x04")
    status, rest = terminal.finish()
    assert status == 0 and "Traceback" not in rest and "EOFError" not in rest


def test_thumbs_down_takes_the_next_line_as_what_was_missing(terminal: Terminal, tmp_path: Path) -> None:
    answer = terminal.ask("do I need a belt on the leg press?")
    down = re.search(r"\[([0-9]+)\] 👎", answer)
    assert down is not None, answer
    prompt = " ".join(terminal.ask(down.group(1)).split())  # as read, whatever the wrapping
    assert "Type it on the next line" in prompt and "Reply to this message" not in prompt
    thanks = " ".join(terminal.ask("how tight the belt should be").split())
    assert FEEDBACK_NOTED in thanks
    assert "I'm not sure" not in thanks and "Sorry, I can't answer" not in thanks  # not read as a question
    terminal.type("/quit\r")
    assert terminal.finish()[0] == 0
    data = tmp_path / "data"
    (question,) = stored(data, "SELECT id, text, chat_type FROM analytics_questions")
    assert question[1:] == ("do I need a belt on the leg press?", "terminal")
    votes = stored(data, "SELECT question_id, entry_id, positive, missing FROM analytics_feedback")
    assert votes == [(question[0], "back-support", 0, "how tight the belt should be")]


def test_arrow_keys_edit_the_line_and_bring_back_the_last_one(terminal: Terminal, tmp_path: Path) -> None:
    terminal.ask(f"do I need a blt{KEY_LEFT}{KEY_LEFT}e")  # "blt" -> "belt", edited in place
    terminal.ask(KEY_UP)  # the same question again, from history
    terminal.type("/quit\r")
    assert terminal.finish()[0] == 0
    asked = stored(tmp_path / "data", "SELECT text FROM analytics_questions ORDER BY id")
    assert asked == [("do I need a belt",), ("do I need a belt",)]


def test_lines_fit_the_window_and_speak_of_choices(terminal: Terminal) -> None:
    answer = terminal.ask("/causes")
    lines = [line for line in answer.split("\n") if not line.startswith("> ")]
    assert max(len(line) for line in lines) <= COLUMNS, answer
    assert "Pick one" in answer and "Tap" not in answer
    shown = terminal.ask("/help")
    assert "/quit" in shown and "group" not in shown.lower()


def test_ask_without_a_question_at_a_terminal_says_how_instead_of_waiting() -> None:
    keyboard, far_end = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask"],
            stdin=far_end,
            capture_output=True,
            text=True,
            timeout=WAIT,
            env={**os.environ, "FAQ_PATH": str(FAQ)},
        )
    finally:
        os.close(keyboard)
        os.close(far_end)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert 'legpress-bot ask "' in line


def test_a_link_shows_its_address_where_it_cannot_be_clicked() -> None:
    from bot.replies import link, to_plain

    text = f"Source: {link('The article', 'https://example.org/a?b=1&c=2')}."
    assert to_plain(text) == "Source: The article (https://example.org/a?b=1&c=2)."
