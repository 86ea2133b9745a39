"""The webhook server: each update stored before Telegram gets its 200; a stranger's request costs nothing.

PTB's documented pattern for a custom webhook (examples/customwebhookbot): the application runs without an
Updater, and a small web server of our own puts each update into `application.update_queue`. Ours, on
tornado (which PTB's webhooks extra brings):

- checks the secret header (`X-Telegram-Bot-Api-Secret-Token`) before reading a byte of the body, and
  refuses bodies over 1 MB (Telegram's updates are a few KB), so wrong-secret posts cannot fill memory;
- stores the update in the `Inbox` (bot.storage.intake) and only then answers 200; when it cannot store
  it, it answers 500 and Telegram sends it again;
- serves `GET /healthz` (200 while serving) for load balancers and service managers.

The port is bound before setWebhook is called, so a busy port or a bad address is one line at start-up.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler, stream_request_body

from bot.storage.database import first_line
from bot.telegram.inbox import Inbox

log = logging.getLogger("bot.telegram.webhook")

MAX_BODY_BYTES = 1 << 20
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Route:
    """What the update handler needs: where updates are stored, and the secret to expect."""

    inbox: Inbox
    secret: str


@stream_request_body
class UpdateHandler(RequestHandler):  # type: ignore[misc]
    """POST an update: secret first, then at most 1 MB of body, stored, then 200."""

    route: Route
    body: bytearray
    too_large: bool

    def initialize(self, route: Route) -> None:
        self.route = route
        self.body = bytearray()
        self.too_large = False

    def prepare(self) -> None:
        if self.request.method != "POST":
            return
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.route.secret.encode()):
            self._refuse(403, "wrong or missing secret")
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and not (
            length.isascii() and length.isdecimal() and int(length) <= MAX_BODY_BYTES
        ):
            self._refuse(413, "body over 1 MB")

    def _refuse(self, status: int, why: str) -> None:
        log.info("Webhook request refused (%d, %s) from %s", status, why, self.request.remote_ip)
        self.set_status(status)
        self.finish()

    def data_received(self, chunk: bytes) -> None:
        if len(self.body) + len(chunk) > MAX_BODY_BYTES:
            self.too_large = True
        elif not self.too_large:
            self.body.extend(chunk)

    def post(self) -> None:
        if self.too_large:
            self._refuse(413, "body over 1 MB")
            return
        try:
            data = json.loads(bytes(self.body).decode("utf-8", "replace"))
        except ValueError:
            self._refuse(400, "not JSON")
            return
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            self._refuse(400, "not an update")
            return
        try:
            self.route.inbox.receive([data])  # stored, and queued here when this replica holds the chat
        except Exception as exc:
            log.error(
                "Could not store update %s (%s); Telegram will send it again",
                data.get("update_id"),
                first_line(exc),
            )
            self.set_status(500)
            self.finish()
            return
        self.set_status(200)
        self.finish()  # stored: now Telegram may forget it

    def get(self) -> None:
        self.set_status(405)
        self.finish()


class HealthHandler(RequestHandler):  # type: ignore[misc]
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.finish("ok\n")


def listen(route: Route, path: str, address: str, port: int) -> HTTPServer:
    """Bind the webhook server now (OSError when the port is busy or the address unusable)."""
    path = "/" + path.strip("/")
    app = Application([(HEALTH_PATH, HealthHandler), (path, UpdateHandler, {"route": route})])
    server = HTTPServer(app, max_body_size=MAX_BODY_BYTES, idle_connection_timeout=60)
    try:
        server.listen(port, address=address)
    except BaseException:
        server.stop()
        raise
    return server


async def close(server: HTTPServer) -> None:
    server.stop()
    await server.close_all_connections()
