"""A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests and the benchmark.

It speaks the Bot API over real HTTP, as PTB's `base_url` expects (`/bot<token>/<method>`), keeps the
messages of each chat, hands out updates that a test pushes (long polling included) and records every call
the bot makes, so that tests can assert what a person would have seen.

Several bot processes can share one server: each given `base_url_for(name)` (`/as/<name>/bot<token>/…`),
its calls carry that name in `Call.client`. Every getUpdates is kept in `polls` (who, from when to when);
with `one_consumer` set, a getUpdates that arrives while another is waiting ends the waiting one with
Telegram's 409 Conflict, as Telegram allows one consumer per token.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmnopq"
BOT_ID = 123456789
BOT_USERNAME = "LegPressTestBot"

Json = dict[str, Any]

# parameters PTB sends JSON-encoded; everything else stays text, except these integers
JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "commands",
    "scope",
    "results",
    "link_preview_options",
    "entities",
    "allowed_updates",
    "button",
}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time"}


@dataclass(frozen=True)
class Call:
    """One Bot API request the bot made."""

    method: str
    params: Json
    content_type: str = "application/x-www-form-urlencoded"  # how the request body was encoded
    client: str = ""  # the name in the address the call came to (`FakeTelegram.base_url_for`)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[Json]:
        """The inline keyboard's buttons, row after row."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def button_labels(self) -> list[str]:
        return [b["text"] for b in self.buttons]

    @property
    def quoted(self) -> int | None:
        """The message this one replies to, if any."""
        parameters = self.params.get("reply_parameters") or {}
        value = parameters.get("message_id")
        return int(value) if value is not None else None


CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


@dataclass
class Poll:
    """One getUpdates request: who made it, from when until when (time.monotonic()), and how it ended."""

    client: str
    started: float
    ended: float | None = None
    conflict: bool = False  # ended by a newer getUpdates (`one_consumer`)
    request: web.Request | None = None

    @property
    def open(self) -> bool:
        """Still waiting, from a client still connected (a killed process's poll is not open)."""
        transport = self.request.transport if self.request is not None else None
        return self.ended is None and transport is not None and not transport.is_closing()


_current_poll: contextvars.ContextVar[Poll | None] = contextvars.ContextVar("current_poll", default=None)


FaultKind = Literal["429", "500", "502", "503", "hang", "drop", "malformed"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "502", "503", "hang", "drop", "malformed")


def sticker() -> Json:
    """A sticker as the Bot API describes one: a message with no text."""
    return {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }


def sent(calls: list[Call]) -> list[Call]:
    """The messages the bot sent, in order."""
    return [c for c in calls if c.method == "sendMessage"]


def edits(calls: list[Call]) -> list[Call]:
    """The messages the bot edited, in order."""
    return [c for c in calls if c.method == "editMessageText"]


def only_message(calls: list[Call]) -> Call:
    """The one message the bot sent (it sent exactly one)."""
    messages = sent(calls)
    assert len(messages) == 1, [c.method for c in calls]
    return messages[0]


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering a call; armed with `FakeTelegram.inject`.

    `processed` (hang, drop, malformed): the call takes effect before the answer goes wrong, as when a
    real server sent the message but the response was lost on the way back.
    """

    kind: FaultKind
    method: str | None = None  # None: every method, getUpdates included
    times: int | None = 1  # how many matching calls; None: every call until `seconds` have passed
    seconds: float | None = None
    retry_after: int = 1  # for 429
    processed: bool = False
    hang: float = 30.0  # seconds a hanging call waits before answering (or until the server stops)


@dataclass(frozen=True)
class Faulted:
    """A call that met a fault."""

    call: Call
    kind: FaultKind
    processed: bool


class _Armed:
    """A fault and how much of it is left."""

    def __init__(self, fault: Fault, until: float | None) -> None:
        self.fault = fault
        self.remaining = fault.times
        self.until = until

    def take(self, method: str, now: float) -> bool:
        if self.fault.method is not None and self.fault.method != method:
            return False
        if self.until is not None and now >= self.until:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        return True

    def spent(self, now: float) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (
            self.until is not None and now >= self.until
        )


def user(uid: int, first_name: str = "Alex", username: str | None = None) -> Json:
    data: Json = {"id": uid, "is_bot": False, "first_name": first_name}
    if username:
        data["username"] = username
    return data


def private_chat(person: Json) -> Json:
    return {"id": person["id"], "type": "private", "first_name": person["first_name"]}


def group_chat(chat_id: int, title: str = "Leg day", kind: str = "group") -> Json:
    return {"id": chat_id, "type": kind, "title": title}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # lone surrogates count as one unit


def entities_of(text: str) -> list[Json]:
    """What Telegram would mark: a leading /command and @mentions."""
    found: list[Json] = []
    words = text.split(" ")
    position = 0
    for i, word in enumerate(words):
        if i == 0 and word.startswith("/") and len(word) > 1:
            found.append({"type": "bot_command", "offset": 0, "length": _utf16_len(word)})
        elif word.startswith("@") and len(word) > 1:
            offset = _utf16_len(text[:position])
            found.append({"type": "mention", "offset": offset, "length": _utf16_len(word.rstrip(",.!?"))})
        position += len(word) + 1
    return found


class FakeTelegram:
    """The server. Start it with `await start()`; push updates; read `calls`."""

    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME, bot_id: int = BOT_ID) -> None:
        self.token = token
        self.bot_user: Json = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Leg Press Helper",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.updates: list[Json] = []
        self.messages: dict[tuple[int, int], Json] = {}
        self.chats: dict[int, Json] = {}
        self.commands: dict[str, list[Json]] = {}
        self.descriptions: dict[str, str] = {}  # the profile: description and short_description
        self.webhook: Json = {}
        self.failures: dict[str, tuple[int, str]] = {}
        self.faulted: list[
            Faulted
        ] = []  # calls that met an injected fault (unprocessed ones are not in calls)
        self._armed: list[_Armed] = []
        self.listeners: list[Callable[[Call], None]] = []  # told of every recorded call, as it is recorded
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._query_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0
        self.latency = 0.0  # seconds added to every call but getUpdates, as a real network would
        self.polls: list[Poll] = []  # every getUpdates, in the order they arrived
        self.one_consumer = False  # a newer getUpdates ends a waiting one with 409, as Telegram does

    # ------------------------------------------------------------------------------------- server
    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 at `port` (0: any free port), e.g. the port a bot already waits for."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        async with self._changed:  # end pending long polls now rather than at their timeout
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def base_url_for(self, client: str) -> str:
        """The Bot API address for one of several bot processes: its calls are recorded with its name."""
        return f"http://127.0.0.1:{self.port}/as/{client}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        client = ""
        if path.startswith("as/") and path.count("/") >= 2:
            _, client, path = path.split("/", 2)
        token, _, method = path.removeprefix("bot").partition("/")
        if not path.startswith("bot") or token != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = self._decode(dict(await request.post()) if request.can_read_body else {})
        if request.content_type == "application/json":
            params = await request.json()
        call = Call(method, params, request.content_type, client)
        if method == "getUpdates":
            _current_poll.set(self._poll_started(client, request))
        if self.latency and method != "getUpdates":
            await asyncio.sleep(self.latency)
        fault = self._take_fault(method)
        if fault is not None:
            return await self._fault(fault, call, request)
        if method in self.failures:
            code, description = self.failures.pop(method)
            await self._record(call)
            return web.json_response(
                {"ok": False, "error_code": code, "description": description}, status=code
            )
        handler = getattr(self, f"api_{method}", None)
        result = await handler(params) if handler else True
        if isinstance(result, tuple):  # an error: (code, description)
            await self._record(call)
            code, description = result
            return web.json_response(
                {"ok": False, "error_code": code, "description": description}, status=code
            )
        if method != "getUpdates":
            await self._record(call)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _decode(raw: dict[str, Any]) -> Json:
        params: Json = {}
        for key, value in raw.items():
            if key in JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
            elif key in INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
                params[key] = int(value)
            else:
                params[key] = value
        return params

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        for listener in self.listeners:
            listener(call)

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0) -> Call:
        """The first recorded call (past or future) that matches; for bots running in another process."""

        async def found() -> Call:
            async with self._changed:
                while True:
                    for call in self.calls:
                        if predicate(call):
                            return call
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def fail_next(self, method: str, code: int = 400, description: str = "Bad Request: test failure") -> None:
        self.failures[method] = (code, description)

    # ------------------------------------------------------------------------------------- faults
    def inject(
        self,
        kind: FaultKind,
        method: str | None = None,
        *,
        times: int | None = 1,
        seconds: float | None = None,
        retry_after: int = 1,
        processed: bool = False,
        hang: float = 30.0,
    ) -> Fault:
        """Make the next `times` calls (to `method`, or any), or every call for `seconds`, meet a fault.

        Faults are applied in the order they were injected; a call meets at most one.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(
            kind, method, None if seconds is not None else times, seconds, retry_after, processed, hang
        )
        until = None if seconds is None else time.monotonic() + seconds
        self._armed.append(_Armed(fault, until))
        return fault

    def clear_faults(self) -> None:
        self._armed.clear()

    @property
    def faults_pending(self) -> bool:
        now = time.monotonic()
        return any(not armed.spent(now) for armed in self._armed)

    def _take_fault(self, method: str) -> Fault | None:
        if not self._armed:
            return None
        now = time.monotonic()
        self._armed = [armed for armed in self._armed if not armed.spent(now)]
        for armed in self._armed:
            if armed.take(method, now):
                return armed.fault
        return None

    async def _fault(self, fault: Fault, call: Call, request: web.Request) -> web.StreamResponse:
        processed = fault.processed and fault.kind in ("hang", "drop", "malformed")
        self.faulted.append(Faulted(call, fault.kind, processed))
        if processed:
            handler = getattr(self, f"api_{call.method}", None)
            if handler is not None:
                await handler(call.params)
            await self._record(call)
        if fault.kind == "429":
            body: Json = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return web.json_response(body, status=429)
        if fault.kind in ("500", "502", "503"):
            code = int(fault.kind)
            return web.Response(
                status=code, text=f"<html><body>{code}</body></html>", content_type="text/html"
            )
        if fault.kind == "malformed":
            return web.Response(
                status=200, body=b'{"ok": true, "result": {"message_id": ', content_type="application/json"
            )
        if fault.kind == "hang":
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: self._closing), fault.hang)
            return web.json_response(
                {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504
            )
        # drop: close the connection without an answer
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)  # never reaches the client

    # ------------------------------------------------------------------------------------ updates
    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    async def push(self, **update: Any) -> int:
        """Queue an update (e.g. `message=...`) for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        async with self._changed:
            self.updates.append({"update_id": update_id, **update})
            self._changed.notify_all()
        return update_id

    def message(
        self, chat: Json, sender: Json, text: str | None, reply_to: Json | None = None, **extra: Any
    ) -> Json:
        """A new message from a person, as Telegram would deliver it (not yet pushed)."""
        self.chats[chat["id"]] = chat
        msg: Json = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **extra,
        }
        if text is not None:
            msg["text"] = text
            entities = entities_of(text)
            if entities:
                msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def edited(self, original: Json, text: str) -> Json:
        msg = {**original, "text": text, "edit_date": int(time.time())}
        msg.pop("entities", None)
        entities = entities_of(text)
        if entities:
            msg["entities"] = entities
        self.messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def callback_query(
        self, sender: Json, message: Json | None, data: str, inline_message_id: str = ""
    ) -> Json:
        query: Json = {
            "id": str(next(self._query_ids)),
            "from": sender,
            "chat_instance": "42",
            "data": data,
        }
        if message is not None:
            query["message"] = message
        if inline_message_id:
            query["inline_message_id"] = inline_message_id
        return query

    def inline_query(self, sender: Json, query: str) -> Json:
        return {"id": str(next(self._query_ids)), "from": sender, "query": query, "offset": ""}

    def bot_message(self, chat_id: int, message_id: int) -> Json:
        return self.messages[(chat_id, message_id)]

    # ---------------------------------------------------------------------------------- Bot API
    async def api_getMe(self, params: Json) -> Json:
        return self.bot_user

    def _poll_started(self, client: str, request: web.Request) -> Poll:
        poll = Poll(client, time.monotonic(), request=request)
        if self.one_consumer:
            for other in self.polls:
                if other.open:
                    other.conflict = True  # told in its own wait loop, woken by the notify below
        self.polls.append(poll)
        return poll

    async def api_getUpdates(self, params: Json) -> list[Json] | tuple[int, str]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = asyncio.get_running_loop().time() + timeout
        poll = _current_poll.get() or Poll("", time.monotonic())
        try:
            async with self._changed:
                self._changed.notify_all()  # a waiting poll this one ended learns it now
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                while not self.updates and not self._closing and not poll.conflict:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        break
                    try:
                        await asyncio.wait_for(self._changed.wait(), remaining)
                    except TimeoutError:
                        break
                if poll.conflict:
                    return 409, CONFLICT
                return self.updates[:limit]
        finally:
            poll.ended = time.monotonic()

    async def api_deleteWebhook(self, params: Json) -> bool:
        self.webhook = {}
        return True

    async def api_setWebhook(self, params: Json) -> bool:
        self.webhook = dict(params)
        return True

    async def api_setMyCommands(self, params: Json) -> bool:
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands[scope] = list(params.get("commands") or [])
        return True

    async def api_setMyDescription(self, params: Json) -> bool:
        self.descriptions["description"] = str(params.get("description") or "")
        return True

    async def api_getMyDescription(self, params: Json) -> Json:
        return {"description": self.descriptions.get("description", "")}

    async def api_setMyShortDescription(self, params: Json) -> bool:
        self.descriptions["short_description"] = str(params.get("short_description") or "")
        return True

    async def api_getMyShortDescription(self, params: Json) -> Json:
        return {"short_description": self.descriptions.get("short_description", "")}

    async def api_getMyCommands(self, params: Json) -> list[Json]:
        scope = (params.get("scope") or {}).get("type", "default")
        return self.commands.get(scope, [])

    async def api_sendMessage(self, params: Json) -> Json:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "?"})
        msg: Json = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": params.get("text", ""),
        }
        if (params.get("reply_markup") or {}).get("inline_keyboard"):  # a message keeps inline keyboards only
            msg["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    async def _edit(self, params: Json, changes: Json) -> Json | bool | tuple[int, str]:
        if params.get("inline_message_id"):
            return True
        key = (int(params["chat_id"]), int(params["message_id"]))
        msg = self.messages.get(key)
        if msg is None:
            return 400, "Bad Request: message to edit not found"
        new = {**msg, **changes}
        if new == msg:
            return 400, "Bad Request: message is not modified"
        self.messages[key] = new
        return new

    async def api_editMessageText(self, params: Json) -> Json | bool | tuple[int, str]:
        changes: Json = {"text": params.get("text", "")}
        changes["reply_markup"] = params.get("reply_markup")
        return await self._edit(params, changes)

    async def api_editMessageReplyMarkup(self, params: Json) -> Json | bool | tuple[int, str]:
        return await self._edit(params, {"reply_markup": params.get("reply_markup")})
