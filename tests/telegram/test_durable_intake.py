"""Nothing lost on a crash: updates are stored before Telegram is told they arrived, handled once, in order.

The fake Bot API keeps every update until a getUpdates with a higher offset confirms it, as Telegram does
(tests/fakebot.py, `api_getUpdates`); in webhook mode the tests post like Telegram, until the bot says 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path

import aiohttp
import pytest
from conftest import Harness, settings_for, start_bot, stop_bot
from crashburst import SECRET, BotRun, crash_burst, free_port, until
from fakebot import FakeTelegram, Json, private_chat, sent, user
from test_reliability_config import run_bot

from bot.core.dialogue import Dialogue
from bot.telegram.app import inbox_of

PEOPLE = 80


# ------------------------------------------------------------------------------------------- kill -9
@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_kill_9_in_the_middle_of_a_burst_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, webhook: bool
) -> None:
    outcome = await crash_burst(fake, tmp_path / "data", PEOPLE, kill_after=PEOPLE // 3, webhook=webhook)
    assert 0 < outcome.killed_after < PEOPLE, "killed in the middle of the burst"
    assert outcome.lost == 0, outcome.replies
    # what may repeat: replies sent just before the kill, their updates not yet marked done
    assert outcome.repeated <= PEOPLE - outcome.killed_after + 8
    assert "Traceback" not in outcome.log


async def test_a_check_shown_before_a_crash_still_answers_after_it(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Saved before seen: every first question of /check a person saw works after the restart."""
    people = [user(60_000 + i, f"C{i}") for i in range(30)]
    bot = BotRun(fake, tmp_path / "data")
    await bot.start()
    for person in people:
        await fake.push(message=fake.message(private_chat(person), person, "/check"))
    await until(lambda: len(fake.sent()) >= 10)
    await bot.stop(signal.SIGKILL)
    again = BotRun(fake, tmp_path / "data")
    await again.start()
    try:
        await until(lambda: {c.chat_id for c in fake.sent()} >= {p["id"] for p in people})
        before = len(fake.calls)
        for person in people:  # each presses an answer on the first question they were shown
            (shown,) = [m for (c, _), m in sorted(fake.messages.items()) if c == person["id"]][1:2]
            data = next(b["callback_data"] for row in shown["reply_markup"]["inline_keyboard"] for b in row)
            await fake.push(callback_query=fake.callback_query(person, shown, data))
        await until(lambda: len(fake.sent("answerCallbackQuery")) >= len(people))
    finally:
        await again.stop()
    notices = [str(c.params.get("text")) for c in fake.calls[before:] if c.method == "answerCallbackQuery"]
    assert len(notices) == len(people)
    assert not [n for n in notices if "ended" in n or "expired" in n], notices


# ------------------------------------------------------------------------------------ once, in order
async def test_an_update_delivered_twice_is_handled_once(bot: Harness, dm: Json, alice: Json) -> None:
    message = bot.fake.message(dm, alice, "/about")
    twice = {"update_id": 999, "message": message}
    assert inbox_of(bot.app).receive([twice, dict(twice)]) == 1  # stored once, and queued
    assert inbox_of(bot.app).receive([twice]) == 0  # and again later: already stored
    await asyncio.wait_for(bot.event(999).wait(), 10)
    _, calls = await bot.say(dm, alice, "/help")  # handled after it: the /about is done
    assert len(sent(calls)) == 1
    assert len(bot.fake.sent(chat_id=alice["id"])) == 2


async def test_an_update_the_bot_cannot_read_is_logged_once_and_skipped(
    bot: Harness, dm: Json, alice: Json, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with bot.fake._changed:  # as Telegram would send it: an update whose message has no chat
        bot.fake.updates.append({"update_id": 500, "message": {"message_id": 1, "text": "hi"}})
        bot.fake._changed.notify_all()
    bot.fake._update_ids = iter(range(501, 10_000))  # type: ignore[assignment]
    _, calls = await bot.say(dm, alice, "/help")
    assert len(sent(calls)) == 1
    _, calls = await bot.say(dm, alice, "/about")  # polled again, so update 500 is confirmed
    assert all(u["update_id"] > 500 for u in bot.fake.updates)
    lines = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("Update 500 could not be read"), lines
    assert "Traceback" not in caplog.text and "CRITICAL" not in caplog.text


async def test_another_instance_polling_is_one_clear_error_line(
    fake: FakeTelegram,
    tmp_path: Path,
    dialogue: Dialogue,
    caplog: pytest.LogCaptureFixture,
    dm: Json,
    alice: Json,
) -> None:
    conflicts = 2
    real = fake.api_getUpdates

    async def get_updates(params: Json) -> list[Json] | tuple[int, str]:
        nonlocal conflicts
        if conflicts:
            conflicts -= 1
            return 409, "Conflict: terminated by other getUpdates request"
        return await real(params)

    fake.api_getUpdates = get_updates  # type: ignore[method-assign]
    caplog.set_level(logging.INFO)
    harness = await start_bot(fake, settings_for(fake, tmp_path), dialogue)
    try:
        _, calls = await harness.say(dm, alice, "/help")  # answered once the other one has stopped
        assert len(sent(calls)) == 1
    finally:
        await stop_bot(harness)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "409 Conflict" in errors[0].getMessage()
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


# -------------------------------------------------------------------------------------------- webhook
async def raw_request(port: int, head: str) -> str:
    """Send a request's head only (no body) and return the status line the server answers with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_the_webhook_checks_the_secret_before_the_body_and_refuses_big_ones(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = BotRun(fake, tmp_path / "data", free_port())
    await bot.start()
    try:
        await fake.wait_for(lambda c: c.method == "setWebhook", 20)  # bound before this call
        port = bot.webhook_port
        assert port is not None
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as health:
            assert health.status == 200
        big = (
            "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000000\r\n"
        )
        # a 60 MB body is announced and never sent: the answer comes from the headers alone
        assert " 403 " in await raw_request(port, big + "X-Telegram-Bot-Api-Secret-Token: wrong\r\n\r\n")
        assert " 403 " in await raw_request(port, big + "\r\n")
        assert " 413 " in await raw_request(port, big + f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n")
        alice = user(61_001, "Alice")
        update = {"update_id": 7, "message": fake.message(private_chat(alice), alice, "/about")}
        async with aiohttp.ClientSession() as http:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(bot.webhook_url, data=b"{" * 100, headers=headers) as response:
                assert response.status == 400
            async with http.post(bot.webhook_url, json=update, headers=headers) as response:
                assert response.status == 200
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == alice["id"], 20)
    finally:
        assert await bot.stop() == 0
    log = bot.stderr.decode()
    assert "Traceback" not in log and SECRET not in log


@pytest.mark.parametrize("listen", ["busy", "256.0.0.1"])
def test_a_webhook_address_that_cannot_be_bound_is_one_line(tmp_path: Path, listen: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_bot(
            tmp_path,
            WEBHOOK_URL="https://bot.example.org/hook",
            WEBHOOK_LISTEN="127.0.0.1" if listen == "busy" else listen,
            WEBHOOK_PORT=str(port),
            TELEGRAM_BASE_URL="http://127.0.0.1:9/bot",
        )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.strip().splitlines() if "WARNING" not in x]
    assert "cannot listen for the webhook" in line


async def test_a_webhook_address_telegram_refuses_is_one_line(fake: FakeTelegram, tmp_path: Path) -> None:
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: IP address 10.0.0.1 is reserved")
    bot = BotRun(fake, tmp_path / "data", free_port())
    await bot.start()
    assert bot.proc is not None
    code = await asyncio.wait_for(bot.proc.wait(), 30)
    await bot.stop()
    lines = [x for x in bot.stderr.decode().strip().splitlines() if " INFO " not in x and "WARNING" not in x]
    assert code == 2 and "Traceback" not in bot.stderr.decode()
    assert lines[-1].startswith("legpress-bot: Telegram refused WEBHOOK_URL: Bad webhook: ip address"), lines
