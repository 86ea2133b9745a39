"""The bot as a real process (`python -m bot run`) against the fake Bot API, its stderr collected as it
comes: for the tests and benchmarks that start, kill and restart it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from fakebot import TOKEN, Call, FakeTelegram, Json

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "bot" / "faq.yaml"
CLI = [sys.executable, "-m", "bot"]
WAIT = 60.0  # an upper bound only: reaching it fails the test


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for `legpress-bot` in a subprocess: nothing inherited that could reach Telegram."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update({"FAQ_PATH": str(FAQ), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path = ROOT, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """`legpress-bot ARGS` run once as a subprocess, as a script runs it (stdin a pipe, never a TTY)."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=cli_env(PYTHONPATH=str(ROOT), **env),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=WAIT,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class BotProcess:
    """`python -m bot run` against the fake server, with stderr collected as it comes."""

    def __init__(self, fake: FakeTelegram, data_dir: Path, **env: str) -> None:
        self.fake = fake
        self.env = cli_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=fake.base_url,
            TELEGRAM_BASE_FILE_URL=fake.base_file_url,
            DATA_DIR=str(data_dir),
            PYTHONPATH=str(ROOT),
            **env,
        )
        self.cwd = data_dir.parent
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = b""
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *CLI, "run", cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr += chunk

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), WAIT)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, WAIT)
        return code

    async def reply_to(self, chat_id: int, after: int) -> Call:
        """The next message the bot sends to this chat, after the first `after` calls."""
        return await self.fake.wait_for(
            lambda c: (
                c.method == "sendMessage" and c.chat_id == chat_id and self.fake.calls.index(c) >= after
            ),
            WAIT,
        )

    async def ask(self, chat: Json, sender: Json, text: str) -> tuple[Json, Call]:
        before = len(self.fake.calls)
        msg = self.fake.message(chat, sender, text)
        await self.fake.push(message=msg)
        return msg, await self.reply_to(chat["id"], before)
