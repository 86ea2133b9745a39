"""A database that goes away while the bot runs: the bot waits and retries, confirms nothing it has not
stored, and answers everything once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from botprocess import BotProcess
from crashburst import until
from fakebot import FakeTelegram, private_chat, user


class Cable:
    """A TCP forwarder between the bot and the database server that can be unplugged and plugged in."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.plugged = True
        self._links: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.plugged:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            writer.close()
            return
        self._links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def unplug(self) -> None:
        self.plugged = False
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()

    def plug(self) -> None:
        self.plugged = True

    async def close(self) -> None:
        self.unplug()
        if self._server is not None:
            self._server.close()


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


async def test_a_database_that_goes_away_is_waited_for_and_nothing_is_lost(
    fake: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    cable = Cable(int(urlsplit(database_url).port or 5432))
    port = await cable.start()
    bot = BotProcess(fake, tmp_path / "data", DATABASE_URL=through(database_url, port))
    alice, bob, carol = user(71, "Alice"), user(72, "Bob"), user(73, "Carol")
    await bot.start()
    try:
        await fake.push(message=fake.message(private_chat(alice), alice, "/about"))
        await bot.reply_to(alice["id"], 0)

        cable.unplug()
        for person, text in ((bob, "/causes"), (carol, "/fixes"), (bob, "/faq")):
            await fake.push(message=fake.message(private_chat(person), person, text))
        await asyncio.sleep(4)  # several polls while the database is away
        assert not fake.sent(chat_id=bob["id"]) and not fake.sent(chat_id=carol["id"])
        assert len(fake.updates) == 3, "nothing that could not be stored was confirmed to Telegram"

        cable.plug()
        assert await until(lambda: len(fake.sent(chat_id=bob["id"])) >= 2 and fake.sent(chat_id=carol["id"]))
        await asyncio.sleep(1)
        assert len(fake.sent(chat_id=bob["id"])) == 2 and len(fake.sent(chat_id=carol["id"])) == 1
        first, second = (str(c.params["text"]) for c in fake.sent(chat_id=bob["id"]))
        assert "Common causes" in first and "Common causes" not in second, "in the order sent"
    finally:
        code = await bot.stop()
        await cable.close()
    log = bot.stderr.decode(errors="replace")
    assert code == 0, log[-2000:]
    assert "Traceback" not in log, log[-3000:]
    assert "Could not" in log or "The database is away" in log, log[-2000:]  # said, in one line
