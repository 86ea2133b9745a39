"""Several replicas of the bot on one PostgreSQL database, as real processes against one fake Bot API.

Shared by tests/telegram/test_replicas.py and bench/bench_replicas.py. Each replica is `python -m bot run`
with the same DATABASE_URL, token and WEBHOOK_SECRET, a DATA_DIR of its own (holding the deployment's one
salt, as a shared volume would) and its own name in the Bot API address (`FakeTelegram.base_url_for`), so
every call it makes is recorded with its name.

In webhook mode each replica listens on a free port of its own and a `Forwarder` plays Telegram's part
behind a load balancer: it posts each update to the next replica in turn and, on a connection error, a
timeout or any answer but 200, posts it again to the next one after a short pause, until one answers 200.
Each chat's updates are posted one after another (the next once the previous got its 200), different chats
at once.

The replicas get short leases (`INTAKE_LEASE_SECONDS`, `POLLER_LEASE_SECONDS`) so that the work of a
replica killed with SIGKILL is taken over within a few seconds; a bot that does not know these settings
ignores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from botprocess import WAIT, BotProcess, free_port
from fakebot import FakeTelegram, Json, private_chat, user

PUBLIC_URL = "https://bot.example.org/hook"  # behind a TLS proxy, as in production
SECRET = "replica-test-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LEASES = {"INTAKE_LEASE_SECONDS": "2", "POLLER_LEASE_SECONDS": "2"}
STARTED = "Started @"  # the log line of a bot that has started (bot.telegram.app)
SLOTS = 4  # updates one replica handles at once (bot.telegram.ordering.PerChatUpdateProcessor.SLOTS)


class Replica(BotProcess):
    """One replica: the bot as a process on the shared database, polling or (with a port) a webhook."""

    def __init__(
        self,
        fake: FakeTelegram,
        name: str,
        data_dir: Path,
        database_url: str,
        webhook: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        env = {"DATABASE_URL": database_url, **LEASES, **(extra or {})}
        self.webhook_port = free_port() if webhook else None
        if self.webhook_port is not None:
            env.update(WEBHOOK_URL=PUBLIC_URL, WEBHOOK_PORT=str(self.webhook_port), WEBHOOK_SECRET=SECRET)
        super().__init__(fake, data_dir, **env)
        self.env["TELEGRAM_BASE_URL"] = fake.base_url_for(name)
        self.name = name

    @property
    def url(self) -> str:
        """Where its webhook server listens; Telegram is told the public https address."""
        return f"http://127.0.0.1:{self.webhook_port}/hook"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log(self) -> str:
        return self.stderr.decode(errors="replace")


class Cluster:
    """N replicas on one database; started together, each ready once it has told Telegram where it is
    (webhook) or has started (polling: only one of them may poll)."""

    def __init__(
        self,
        fake: FakeTelegram,
        folder: Path,
        database_url: str,
        size: int,
        webhook: bool = True,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.fake = fake
        salt = secrets.token_hex(32) + "\n"  # one deployment: one salt, in every replica's DATA_DIR
        self.replicas: list[Replica] = []
        for i in range(size):
            data_dir = folder / f"replica-{i + 1}" / "data"
            data_dir.mkdir(parents=True, mode=0o700)
            (data_dir / "salt").write_text(salt)
            (data_dir / "salt").chmod(0o600)
            self.replicas.append(Replica(fake, f"r{i + 1}", data_dir, database_url, webhook, extra))
        self.webhook = webhook

    async def start(self) -> None:
        before = len(self.fake.calls)
        await asyncio.gather(*(r.start() for r in self.replicas))
        if self.webhook:
            names = {r.name for r in self.replicas}
            ready = await until(
                lambda: names <= {c.client for c in self.fake.calls[before:] if c.method == "setWebhook"}
            )
        else:  # each has logged its start, and one of them polls
            ready = await until(
                lambda: (
                    all(STARTED in r.log for r in self.replicas) and any(p.client for p in self.fake.polls)
                )
            )
        assert ready, f"the replicas did not start:\n{self.log[-3000:]}"

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.replicas if r.proc is not None))

    async def kill(self, replica: Replica) -> None:
        """SIGKILL: no clean-up, no last write, as when its machine dies."""
        await replica.stop(signal.SIGKILL)

    def named(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]

    @property
    def log(self) -> str:
        return "".join(f"--- {r.name}\n{r.log}" for r in self.replicas)


@dataclass
class Forwarder:
    """Telegram in front of a load balancer: each update to the next replica in turn, again and again
    (the next replica, after `backoff` seconds) until one answers 200."""

    urls: Sequence[str]
    timeout: float = 5.0  # seconds one post may take before it counts as failed
    backoff: float = 0.05
    retries: int = 0  # posts that failed and were sent again
    accepted: dict[str, int] = field(default_factory=dict)  # url: updates it answered 200
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _http: aiohttp.ClientSession | None = None
    _chats: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def __aenter__(self) -> Forwarder:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def post(self, update: Json, to: str | None = None) -> str:
        """Deliver one update (first to `to`, if given); the address that answered 200."""
        assert self._http is not None, "async with Forwarder(...)"
        while True:
            url = to or self.urls[next(self._turn) % len(self.urls)]
            to = None
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self._http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
                    if response.status == 200:
                        self.accepted[url] = self.accepted.get(url, 0) + 1
                        return url
            self.retries += 1
            await asyncio.sleep(self.backoff)

    async def post_in_order(self, chat_id: int, update: Json) -> str:
        """Deliver one update after the chat's earlier ones got their 200, as Telegram orders a chat."""
        lock = self._chats.setdefault(chat_id, asyncio.Lock())
        async with lock:
            return await self.post(update)

    async def post_all(self, updates: Iterable[Json], rate: float | None = None) -> None:
        """Each chat's updates in order, one after another; chats at once. With `rate`, the updates are
        sent at most `rate` a second, in the order given, as people write over time."""
        by_chat: dict[int, list[tuple[float, Json]]] = {}
        for i, update in enumerate(updates):
            by_chat.setdefault(chat_of(update), []).append((i / rate if rate else 0.0, update))
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def one_chat(chat: list[tuple[float, Json]]) -> None:
            for at, update in chat:
                await asyncio.sleep(max(0.0, started + at - loop.time()))
                await self.post(update)

        await asyncio.gather(*(one_chat(chat) for chat in by_chat.values()))


def chat_of(update: Json) -> int:
    if "message" in update:
        return int(update["message"]["chat"]["id"])
    if "callback_query" in update:
        return int(update["callback_query"]["message"]["chat"]["id"])
    raise ValueError(f"no chat in update {sorted(update)}")


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def until_done_or_still(
    fake: FakeTelegram, condition: Callable[[], bool], still: float, timeout: float = WAIT
) -> bool:
    """Until `condition` holds, or the bot has made no call for `still` seconds (it will not hold then:
    work left over is taken over within a lease or two), or `timeout` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen, since = len(fake.calls), loop.time()
    while loop.time() < deadline:
        if condition():
            return True
        if len(fake.calls) != seen:
            seen, since = len(fake.calls), loop.time()
        elif loop.time() - since >= still:
            break
        await asyncio.sleep(0.05)
    return condition()


async def quiet(fake: FakeTelegram, seconds: float, timeout: float = WAIT) -> None:
    """Until no call has been made for `seconds` (at most `timeout`)."""
    await until_done_or_still(fake, lambda: False, seconds, timeout)


# ------------------------------------------------------------------------------------------- a burst
# Each person sends these in turn; each gets one reply, told apart by its heading.
NUMBERED = ("/causes", "/fixes", "/faq")
HEADINGS = ("<b>Common causes</b>", "<b>Fixes</b>", "<b>Frequently asked questions</b>")


def which(text: str) -> int:
    """Which of NUMBERED a reply answers (its index), or -1 for any other message."""
    return next((i for i, heading in enumerate(HEADINGS) if text.startswith(heading)), -1)


@dataclass(frozen=True)
class BurstOutcome:
    """One burst: per person, which numbered message each reply answered, in the order they came."""

    replies: dict[int, list[int]]
    killed_after: int  # replies seen when a replica was killed
    killed: str  # its name
    retries: int  # posts the forwarder had to send again

    @property
    def lost(self) -> int:
        """Numbered messages that never got their reply."""
        return sum(len(set(range(len(NUMBERED))) - set(seq)) for seq in self.replies.values())

    @property
    def repeated(self) -> int:
        """Replies beyond the first for the same message (a reply sent again after the takeover)."""
        return sum(len(seq) - len(set(seq)) for seq in self.replies.values())

    @property
    def out_of_order(self) -> list[int]:
        """People who got a reply to an earlier message after the reply to a later one."""
        return [chat for chat, seq in self.replies.items() if seq != sorted(seq)]

    @property
    def strangers(self) -> int:
        """Replies that answer none of the numbered messages."""
        return sum(seq.count(-1) for seq in self.replies.values())


async def burst_with_a_kill(
    fake: FakeTelegram,
    cluster: Cluster,
    people: int,
    kill_after: int,
    victim: int = 0,
    first_id: int = 70_000,
    settle: float = 2.0,
    still: float = 10.0,
    rate: float = 150.0,
) -> BurstOutcome:
    """`people` people each send NUMBERED in turn through the forwarder, `rate` updates a second; once
    `kill_after` replies have gone out, replica `victim` is killed with SIGKILL; then wait until every
    message has its reply (or nothing has happened for `still` seconds), and until `settle` seconds pass
    without a call, for any reply sent again."""
    persons = [user(first_id + i, f"P{i}") for i in range(people)]
    chats = {p["id"] for p in persons}
    before = len(fake.calls)

    def replies() -> dict[int, list[int]]:
        seen: dict[int, list[int]] = {chat: [] for chat in chats}
        for call in fake.calls[before:]:
            if call.method == "sendMessage" and call.chat_id in seen:
                seen[call.chat_id].append(which(call.text))
        return seen

    def complete() -> bool:
        return all(len(set(seq)) >= len(NUMBERED) for seq in replies().values())

    updates = [
        {"update_id": first_id * 10 + k * people + i, "message": fake.message(private_chat(p), p, text)}
        for k, text in enumerate(NUMBERED)
        for i, p in enumerate(persons)
    ]
    target = cluster.replicas[victim]
    async with Forwarder(cluster.urls) as forwarder:
        posting = asyncio.create_task(forwarder.post_all(updates, rate))
        await until(lambda: sum(map(len, replies().values())) >= kill_after)
        killed_after = sum(map(len, replies().values()))
        await cluster.kill(target)
        try:
            await asyncio.wait_for(posting, WAIT)
            await until_done_or_still(fake, complete, still)
            await quiet(fake, settle)
        finally:
            posting.cancel()
    return BurstOutcome(replies(), killed_after, target.name, forwarder.retries)
