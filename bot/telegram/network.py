"""Talking to the Bot API over a network that fails: bounded retries, no reply sent twice, one log line.

Every Bot API call goes through `BotApiRequest`, PTB's HTTP layer with a retry loop around the raw request.
What is retried depends on whether the server can have acted on the request:

- **Surely not acted on**: the connection could not be made, the request could not be written, the server
  answered 429 (wait `retry_after`: every later call to the same chat waits too, as Telegram asks; a 429
  on a call without a chat holds every call) or 5xx. Retried with exponential
  backoff and jitter, within `NetworkPolicy.attempts` and `NetworkPolicy.deadline`.
- **Maybe acted on**: the request was sent but no usable answer came back (read timeout, connection dropped,
  malformed JSON). Telegram has no idempotency key, so resending `sendMessage` could show a person the same
  reply twice. Only calls that are harmless to repeat (`REPEATABLE`: edits, settings, `getMe`) are resent;
  for the others the bot accepts that the reply may be missing (at most once) and says so in the log.

`getUpdates` is never retried here: PTB's polling loop already retries it, and the offset it confirms means
each update is handed out until the bot has it. Its faults are still counted as incidents.

The log gets one WARNING line when the Bot API starts failing (an incident), details at INFO/DEBUG, and one
INFO line when it has been healthy again for `NetworkPolicy.quiet` seconds. Never a traceback, never a URL
(the token is part of every Bot API URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger("bot.telegram.network")
T = TypeVar("T")

# Calls whose repetition changes nothing a person sees: resent even when the first attempt may have arrived.
# (A repeated edit is refused as "message is not modified", which the door ignores.)
REPEATABLE = frozenset(
    {
        "getMe",
        "getMyCommands",
        "setMyCommands",
        "deleteMyCommands",
        "getWebhookInfo",
        "setWebhook",
        "deleteWebhook",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)
# httpx errors raised before the request could reach the server
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)


@dataclass(frozen=True)
class NetworkPolicy:
    """Timeouts and retry bounds for Bot API calls; the defaults suit the real Bot API."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 10.0
    pool_timeout: float = 2.0
    attempts: int = 6  # per call, the first one included
    first_delay: float = 0.5  # backoff: first_delay, 2×, 4×, … up to max_delay, with ±20 % jitter
    max_delay: float = 8.0
    deadline: float = 45.0  # seconds from a call's first attempt after which it is not tried again
    quiet: float = 2.0  # an incident ends after this long without a failure
    startup_first_delay: float = 1.0  # waiting for an unreachable Bot API at start-up
    startup_max_delay: float = 30.0

    def backoff(self, attempt: int, cap: float) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        delay = min(cap, self.first_delay * 2 ** (attempt - 1))
        return float(delay * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class Fault:
    """What went wrong with one attempt, in words fit for a log line."""

    text: str
    sent: bool  # the server may have acted on the request
    retry_after: float = 0.0


def fault_of_exception(exc: TelegramError) -> Fault:
    """Classify an error from PTB's HTTP layer by the httpx error behind it."""
    cause = exc.__cause__
    if isinstance(cause, httpx.PoolTimeout):
        return Fault("no free connection in the pool", sent=False)
    if isinstance(cause, httpx.ConnectTimeout):
        return Fault("connection timed out", sent=False)
    if isinstance(cause, httpx.ConnectError):
        return Fault("cannot connect", sent=False)
    if isinstance(cause, _NOT_SENT):
        return Fault("connection lost while sending", sent=False)
    if isinstance(exc, TimedOut):
        return Fault("timed out waiting for the answer", sent=True)
    if isinstance(cause, httpx.RemoteProtocolError):
        return Fault("connection dropped before the answer", sent=True)
    if isinstance(cause, httpx.HTTPError):
        return Fault(f"network error ({type(cause).__name__})", sent=True)
    return Fault(f"network error ({type(exc).__name__})", sent=True)


def load_json(payload: bytes) -> Any:
    """A Bot API answer, read as PTB reads it (invalid UTF-8 replaced); ValueError when it is not JSON."""
    return json.loads(payload.decode("utf-8", "replace"))


def fault_of_response(code: int, payload: bytes) -> Fault | None:
    """A fault when the answer is a 429, a 5xx or unreadable; None when the server answered, even with a 4xx
    (PTB turns that into the right error)."""
    if code == 429:
        retry_after = 1.0
        with contextlib.suppress(ValueError, KeyError, TypeError):
            retry_after = float(json.loads(payload)["parameters"]["retry_after"])
        return Fault(f"HTTP 429 (retry after {retry_after:g} s)", sent=False, retry_after=retry_after)
    if code >= 500:
        return Fault(f"HTTP {code}", sent=False)
    try:
        load_json(payload)
    except ValueError:
        return Fault(f"malformed JSON (HTTP {code})", sent=code < 300)
    return None


def is_network_fault(error: object) -> bool:
    """An error that is the network's doing, not the bot's: worth one log line, never a traceback."""
    if isinstance(error, TimedOut | RetryAfter):
        return True
    if type(error) is NetworkError:  # BadRequest, Forbidden… are NetworkError subclasses, and the bot's doing
        return True
    return type(error) is TelegramError and isinstance(error.__cause__, ValueError)  # unreadable answer


def describe(error: BaseException) -> str:
    """One line about a network error, without URLs or server payloads."""
    if isinstance(error, TelegramError):
        if isinstance(error, RetryAfter):
            return f"HTTP 429 ({error.message})"
        if isinstance(error.__cause__, httpx.HTTPError) or isinstance(error, TimedOut):
            return fault_of_exception(error).text
        return error.message.split(". ", 1)[0][:100]  # PTB appends the server's payload after ". "
    return type(error).__name__


# PTB loggers that log network faults with a traceback: the polling loop, and the rate limiter when a 429
# outlasts our retries. `Incidents` has already reported those faults in one line.
PTB_FAULT_LOGGERS = ("telegram.ext.Updater", "telegram.ext.AIORateLimiter")


class _OneLineFaults(logging.Filter):
    """Turns a PTB record about an expected network fault into one DEBUG line without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not is_network_fault(error):
            return True
        record.msg, record.args = f"{record.getMessage()} ({describe(error)})", ()
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_one_line = _OneLineFaults()


def quiet_network_tracebacks() -> None:
    """Install the one-line filter on PTB's loggers (once per process)."""
    for name in PTB_FAULT_LOGGERS:
        logger = logging.getLogger(name)
        if _one_line not in logger.filters:
            logger.addFilter(_one_line)


@dataclass
class Incidents:
    """Turns a run of failed Bot API calls into one WARNING line when it starts and one INFO line at its end.

    Shared by every request object of one bot, so an outage seen by polling and sending is one incident.
    """

    quiet: float = 2.0
    started: float | None = None
    last_failure: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    lost: int = 0  # calls given up, or not resent because they may have arrived
    count: int = 0  # incidents so far
    retrying: int = 0  # calls waiting to be tried again: while there are any, the incident goes on

    def failed(self, what: str, fault: Fault, outcome: str | None) -> None:
        """One failed attempt; `outcome` says why the call is not tried again, None while it is."""
        now = time.monotonic()
        self.last_failure = now
        self.failures[fault.text] += 1
        if outcome is not None:
            self.lost += 1
        then = outcome or "retrying with backoff"
        if self.started is None:
            self.started = now
            self.count += 1
            log.warning("Bot API trouble: %s got %s; %s", what, fault.text, then)
        elif outcome is not None:
            log.info("Bot API trouble continues: %s got %s; %s", what, fault.text, then)
        else:
            log.debug("Bot API trouble continues: %s got %s; %s", what, fault.text, then)

    def succeeded(self) -> None:
        if self.started is None or self.retrying:
            return
        now = time.monotonic()
        if now - self.last_failure < self.quiet:
            return
        faults = ", ".join(f"{text} ×{n}" for text, n in self.failures.most_common())
        lost = f"; {self.lost} call(s) given up or not resent" if self.lost else "; nothing lost"
        log.info(
            "Bot API back to normal after %.1f s: %d failed attempts (%s)%s",
            self.last_failure - self.started,
            sum(self.failures.values()),
            faults,
            lost,
        )
        self.started, self.failures, self.lost = None, Counter(), 0


class BotApiRequest(HTTPXRequest):
    """PTB's httpx transport with the retry rules described in this module's docstring."""

    def __init__(
        self,
        policy: NetworkPolicy,
        incidents: Incidents | None,
        *,
        retry: bool,
        connection_pool_size: int,
    ) -> None:
        super().__init__(
            connection_pool_size=connection_pool_size,
            connect_timeout=policy.connect_timeout,
            read_timeout=policy.read_timeout,
            write_timeout=policy.write_timeout,
            pool_timeout=policy.pool_timeout,
        )
        self.policy = policy
        self.incidents = incidents
        self.retry = retry
        # after a 429, no call to that chat (None: to any chat) before this (monotonic) time; Telegram limits
        # each chat on its own, so one noisy chat must not hold another person's reply
        self._resume_at: dict[object, float] = {}

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        first = time.monotonic()
        attempt = 0
        incidents = self.incidents
        waiting = False  # counted in incidents.retrying
        chat = request_data.parameters.get("chat_id") if request_data is not None else None
        try:
            while True:
                wait = self._resume_wait(chat)
                if wait > 0:
                    await asyncio.sleep(wait)
                attempt += 1
                error: TelegramError | None = None
                try:
                    code, payload = await super().do_request(
                        url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
                    )
                except InvalidToken:
                    raise
                except TelegramError as exc:
                    error, fault = exc, fault_of_exception(exc)
                else:
                    found = fault_of_response(code, payload)
                    if found is None:
                        if incidents is not None:
                            if waiting:
                                incidents.retrying -= 1
                                waiting = False
                            incidents.succeeded()
                        return code, payload
                    fault = found
                if fault.retry_after:
                    until = time.monotonic() + fault.retry_after
                    self._resume_at[chat] = max(self._resume_at.get(chat, 0.0), until)
                delay = max(fault.retry_after, self.policy.backoff(attempt, self.policy.max_delay))
                stop = self._why_stop(endpoint, fault, attempt, time.monotonic() + delay - first)
                if incidents is not None:
                    if stop is None and self.retry and not waiting:
                        incidents.retrying += 1
                        waiting = True
                    incidents.failed(f"{endpoint}{_target(request_data)}", fault, stop)
                if stop is not None or not self.retry:
                    if error is not None:
                        raise error
                    return code, payload
                await asyncio.sleep(delay)
        finally:
            if incidents is not None and waiting:
                incidents.retrying -= 1

    def _resume_wait(self, chat: object) -> float:
        """Seconds to wait before a call to `chat`: its own 429 pause, and any pause for every chat."""
        now = time.monotonic()
        for key in [k for k, until in self._resume_at.items() if until <= now]:
            del self._resume_at[key]  # over: forget it, so the map holds only chats still paused
        return max(self._resume_at.get(chat, now), self._resume_at.get(None, now)) - now

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """As PTB's (its documented override point), without logging the payload and a traceback:
        `Incidents` has already reported an unreadable answer in one line."""
        try:
            data: dict[str, Any] = load_json(payload)
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        return data

    def _why_stop(self, endpoint: str, fault: Fault, attempt: int, elapsed: float) -> str | None:
        """None to try again, or why not (for the log)."""
        if not self.retry:
            return None  # getUpdates: PTB's polling loop tries again
        if fault.sent and endpoint not in REPEATABLE:
            return "it may have arrived, so it is not sent again"
        if attempt >= self.policy.attempts or elapsed > self.policy.deadline:
            return f"giving up after {attempt} attempts"
        return None


def _target(request_data: RequestData | None) -> str:
    if request_data is None:
        return ""
    chat_id = request_data.parameters.get("chat_id")
    return f" to chat {chat_id}" if chat_id is not None else ""


@dataclass(frozen=True)
class Transport:
    """The two request objects of one bot (sending, and getUpdates) and their shared incident log."""

    request: BotApiRequest
    updates: BotApiRequest
    incidents: Incidents


def transport(policy: NetworkPolicy | None = None) -> Transport:
    policy = policy or NetworkPolicy()
    incidents = Incidents(policy.quiet)
    return Transport(
        request=BotApiRequest(policy, incidents, retry=True, connection_pool_size=256),
        updates=BotApiRequest(policy, incidents, retry=False, connection_pool_size=1),
        incidents=incidents,
    )


async def wait_for_bot_api(
    policy: NetworkPolicy, attempt_once: Callable[[], Awaitable[T]], base_url: str
) -> T:
    """Call `attempt_once()` until it stops failing with a network error; a refused token is raised at once.

    For start-up: the Bot API (or the network) may come up after the bot. Waits forever, with backoff up to
    `startup_max_delay`, one line per attempt.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await attempt_once()
        except InvalidToken:
            raise
        except TelegramError as exc:
            if not is_network_fault(exc):
                raise
            delay = min(policy.startup_max_delay, policy.startup_first_delay * 2 ** (attempt - 1))
            log.warning(
                "Cannot reach the Telegram Bot API at %s (%s); attempt %d, retrying in %.0f s",
                base_url,
                describe(exc),
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
            continue
        if attempt > 1:
            log.info("Reached the Telegram Bot API at %s after %d attempts", base_url, attempt)
        return result
