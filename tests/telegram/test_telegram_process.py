"""`legpress-bot run` and `chat` as real processes: start-up, webhooks, crashes, logs and the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from botprocess import CLI, ROOT, BotProcess, cli_env, free_port, run_cli
from fakebot import BOT_USERNAME, TOKEN, FakeTelegram, private_chat, user

from bot import __version__
from bot.core.dialogue import Dialogue
from bot.terminal import render_plain

WAIT = 20.0  # an upper bound only: reaching it fails the test


@pytest.fixture
async def running(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotProcess]:
    bot = BotProcess(fake, tmp_path / "data", LOG_LEVEL="DEBUG")
    yield bot
    if bot.proc is not None and bot.proc.returncode is None:
        await bot.stop(signal.SIGKILL)


async def test_updates_sent_while_the_bot_was_down_are_answered(
    running: BotProcess, fake: FakeTelegram
) -> None:
    alice = user(2001, "Alice")
    chat = private_chat(alice)
    await fake.push(message=fake.message(chat, alice, "/causes"))
    await running.start()
    answer = await running.reply_to(chat["id"], 0)
    assert answer.text.startswith("<b>Common causes</b>")
    assert await running.stop() == 0
    log = running.stderr.decode()
    assert f"Started @{BOT_USERNAME} in polling mode with" in log
    assert f"(legpress-bot {__version__})" in log


async def test_state_survives_kill_9(fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue) -> None:
    """A question answered before a crash can still be corrected after it, and an open check stays open."""
    alice = user(2002, "Alice")
    chat = private_chat(alice)
    first = BotProcess(fake, tmp_path / "data")
    await first.start()
    question, _ = await first.ask(chat, alice, "what is the weather like?")
    answer_id = max(k[1] for k in fake.messages if k[0] == chat["id"])
    checking = dialogue.kb.questionnaire is not None
    if checking:
        await first.ask(chat, alice, "/check")
    await first.ask(chat, alice, "/help")  # handled in order: everything before it has been saved
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = BotProcess(fake, tmp_path / "data")
    await second.start()
    try:
        before = len(fake.calls)
        await fake.push(edited_message=fake.edited(question, "do I need a belt for the leg press?"))
        edit = await fake.wait_for(
            lambda c: c.method == "editMessageText" and fake.calls.index(c) >= before, WAIT
        )
        assert edit.params["message_id"] == answer_id
        assert "back support" in edit.text
        if checking:
            _, cancelled = await second.ask(chat, alice, "/cancel")
            assert "Nothing to cancel" not in cancelled.text
    finally:
        await second.stop(signal.SIGKILL)


async def test_the_token_never_reaches_the_log_even_at_debug(running: BotProcess, fake: FakeTelegram) -> None:
    alice = user(2003, "Alice")
    chat = private_chat(alice)
    await running.start()
    await running.ask(chat, alice, "why does my back hurt on the leg press?")
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await fake.push(message=fake.message(chat, alice, "/faq"))
    await running.ask(chat, alice, "/help")  # still running after the failure
    assert await running.stop() == 0
    log = running.stderr.decode()
    assert "DEBUG" in log
    assert f"Error while handling message in chat {chat['id']}" in log
    secret = TOKEN.split(":", 1)[1]
    assert TOKEN not in log and secret not in log


async def test_webhook_mode_refuses_requests_without_the_secret(fake: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    public = "https://bot.example.org/telegram-hook"  # what Telegram is told; TLS ends at the proxy
    url = f"http://127.0.0.1:{port}/telegram-hook"  # where the proxy forwards it
    bot = BotProcess(
        fake,
        tmp_path / "data",
        WEBHOOK_URL=public,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET="right-secret",
    )
    await bot.start()
    try:
        registered = await fake.wait_for(lambda c: c.method == "setWebhook", WAIT)
        assert registered.params["url"] == public
        assert registered.params["secret_token"] == "right-secret"
        alice = user(2004, "Alice")
        chat = private_chat(alice)
        update = {"update_id": 1, "message": fake.message(chat, alice, "/about")}
        async with aiohttp.ClientSession() as http:

            async def post(headers: dict[str, str]) -> int:
                for _ in range(200):  # the server may still be binding its port
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        async with http.post(url, json=update, headers=headers) as response:
                            return response.status
                    await asyncio.sleep(0.05)
                raise AssertionError("webhook server never came up")

            assert await post({"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
            assert await post({}) == 403
            assert not fake.sent()
            before = len(fake.calls)
            assert await post({"X-Telegram-Bot-Api-Secret-Token": "right-secret"}) == 200
            answer = await bot.reply_to(chat["id"], before)
            assert "Source: " in answer.text
        log = bot.stderr.decode()
        assert "right-secret" not in log
    finally:
        assert await bot.stop() == 0
    assert "in webhook mode" in bot.stderr.decode()


# ---------------------------------------------------------------------------------- start-up errors
def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and ".env" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_token_from_dotenv_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# settings\nTELEGRAM_BOT_TOKEN='not-a-token'\n")
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "malformed" in line and "not-a-token" not in line


async def test_a_token_telegram_refuses_is_one_clear_line(fake: FakeTelegram, tmp_path: Path) -> None:
    wrong = "987654321:AAHsomeOtherTokenThatTheServerRefuses"
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={wrong}\nTELEGRAM_BASE_URL={fake.base_url}\nDATA_DIR={tmp_path / 'data'}\n"
    )
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "run",
        cwd=tmp_path,
        env=cli_env(PYTHONPATH=str(ROOT)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 2
    (line,) = err.decode().strip().splitlines()
    assert "rejected" in line and "401" in line
    assert wrong.split(":")[1] not in line


def test_terminal_chat_through_stdin(tmp_path: Path, dialogue: Dialogue) -> None:
    question = "why does my back hurt after leg press?"
    outcome = dialogue.on_text(question, None)
    choices: list = []  # type: ignore[type-arg]
    answer = render_plain(outcome.replies[0], choices)
    picked = dialogue.on_button(choices[0].data, None) if choices and choices[0].data else None
    result = run_cli("chat", cwd=tmp_path, stdin=f"{question}\n1\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Hi! I'm Leg Press Back Helper" in result.stdout
    assert answer in result.stdout
    if picked is not None:
        assert render_plain(picked.replies[0]) in result.stdout
    assert "<b>" not in result.stdout


def test_settings_environment_wins_over_dotenv(tmp_path: Path) -> None:
    from bot.config import load_settings, parse_dotenv

    env_file = tmp_path / ".env"
    env_file.write_text(
        'LOG_LEVEL=debug\nADMIN_IDS="1, 2"\nexport WEBHOOK_PORT=9000 # the port\nDATA_DIR=/x\n'
    )
    assert parse_dotenv(env_file.read_text())["WEBHOOK_PORT"] == "9000"
    settings = load_settings({"DATA_DIR": "/y"}, env_file)
    assert (settings.log_level, settings.admin_ids, settings.webhook_port) == (
        "DEBUG",
        frozenset({1, 2}),
        9000,
    )
    assert settings.data_dir == Path("/y")
