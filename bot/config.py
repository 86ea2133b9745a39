"""Settings from the environment, or from a `.env` file in the working directory.

The environment wins over `.env`, so a deployment can override one value without editing the file. Every
setting and its default is documented in `.env.example`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_BASE_FILE_URL = "https://api.telegram.org/file/bot"
# <bot id>:<secret> as issued by @BotFather; the secret is 35 characters today, allow some slack
TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{30,64}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DEFAULT_FAQ = "faq.yaml"
PACKAGED_FAQ = Path(__file__).resolve().parent / DEFAULT_FAQ  # the content that ships with the package


def faq_path(arg: str | None = None) -> Path:
    """The faq.yaml to use: an explicit path, FAQ_PATH, ./faq.yaml, or the one beside the package."""
    if arg:
        return Path(arg)
    env = os.environ.get("FAQ_PATH")
    if env:
        return Path(env)
    here = Path(DEFAULT_FAQ)
    if here.exists():
        return here
    return PACKAGED_FAQ


class ConfigError(ValueError):
    """A setting that cannot be used; its message is one line that says how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Every setting, read once at start-up; `.env.example` documents each one."""

    token: str = ""
    base_url: str = TELEGRAM_BASE_URL
    base_file_url: str = TELEGRAM_BASE_FILE_URL
    faq_path: Path | None = None  # None: FAQ_PATH unset, let the command line pick ./faq.yaml
    data_dir: Path = Path("data")
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line, for log collectors
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    retention_days: int = 90  # questions, feedback and check outcomes older than this are removed
    log_content: bool = False  # message texts and names in the DEBUG log (LOG_CONTENT=1)
    database_url: str = ""  # postgresql://…: the state and the intake on PostgreSQL instead of DATA_DIR
    # replicas on one database: how long a dead replica's chats, and its polling, wait to be taken over
    intake_lease_seconds: float = 10.0
    poller_lease_seconds: float = 6.0

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line."""
        password = urlsplit(self.database_url).password if self.database_url else None
        return tuple(s for s in (self.token, self.webhook_secret, password) if s)

    def check_token(self) -> None:
        if not self.token:
            raise ConfigError(
                "no Telegram token: set TELEGRAM_BOT_TOKEN in the environment or in .env "
                "(see .env.example), or run `legpress-bot chat` to talk in this terminal"
            )
        if not TOKEN_RE.fullmatch(self.token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is malformed: it should look like 123456789:AAH… as given by "
                "@BotFather; fix it in the environment or in .env"
            )


def check_base_url(name: str, value: str) -> str:
    """A Bot API address as python-telegram-bot's `base_url` takes it, or ConfigError: a typo there is a
    misconfiguration to report at start-up, not a network fault to retry forever."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked for it
    except ValueError:
        raise ConfigError(f"{name} has an invalid port number: {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} must be an http:// or https:// address like {TELEGRAM_BASE_URL}, not {value!r}"
        )
    return value


def check_database_url(url: str) -> str:
    """A PostgreSQL address as libpq takes it (postgresql://user:password@host:port/database), or
    ConfigError; the address itself is never repeated, it may carry a password."""
    if not url:
        return url
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked for it
    except ValueError:
        raise ConfigError("DATABASE_URL has an invalid port number") from None
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ConfigError(
            "DATABASE_URL must be a postgresql:// address with a host, like "
            "postgresql://bot:PASSWORD@db.example.org:5432/legpress (or unset, for SQLite in DATA_DIR)"
        )
    return url


def parse_dotenv(text: str) -> dict[str, str]:
    """KEY=value lines; `#` comments, blank lines, `export ` and matching quotes are allowed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def check_webhook_url(url: str) -> None:
    """Telegram delivers updates only to an https:// address with a host name (or IP address)."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        got = f"{parts.scheme}:// without a host" if parts.scheme else "no https://"
        if parts.scheme and parts.hostname:
            got = f"{parts.scheme}://"
        # the address itself is not repeated: it may carry a secret path
        raise ConfigError(
            f"WEBHOOK_URL must be a public https:// address with a host, e.g. https://bot.example.org/hook "
            f"(it has {got})"
        )


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Read every setting once; raise ConfigError with a one-line message for a value that is unusable."""
    env: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        env.update(parse_dotenv(env_file.read_text(encoding="utf-8")))
    env.update(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, "").strip() or default

    port_raw = get("WEBHOOK_PORT", "8443")
    if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
        raise ConfigError(f"WEBHOOK_PORT must be a port number, not {port_raw!r}")
    level = get("LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    log_format = get("LOG_FORMAT", "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    check_webhook_url(get("WEBHOOK_URL"))
    admins_raw = [a for a in re.split(r"[,\s]+", get("ADMIN_IDS")) if a]
    if not all(re.fullmatch(r"-?[0-9]+", a) for a in admins_raw):
        raise ConfigError("ADMIN_IDS must be Telegram user ids separated by commas")
    retention_raw = get("RETENTION_DAYS", "90")
    if not retention_raw.isdigit() or int(retention_raw) < 1:
        raise ConfigError(f"RETENTION_DAYS must be a whole number of days, at least 1, not {retention_raw!r}")
    faq = get("FAQ_PATH")
    leases = {name: seconds(name, get(name, default)) for name, default in LEASES.items()}
    return Settings(
        token=get("TELEGRAM_BOT_TOKEN"),
        base_url=check_base_url("TELEGRAM_BASE_URL", get("TELEGRAM_BASE_URL", TELEGRAM_BASE_URL)),
        base_file_url=check_base_url(
            "TELEGRAM_BASE_FILE_URL", get("TELEGRAM_BASE_FILE_URL", TELEGRAM_BASE_FILE_URL)
        ),
        faq_path=Path(faq) if faq else None,
        data_dir=Path(get("DATA_DIR", "data")),
        webhook_url=get("WEBHOOK_URL"),
        webhook_listen=get("WEBHOOK_LISTEN", "127.0.0.1"),
        webhook_port=int(port_raw),
        webhook_secret=get("WEBHOOK_SECRET"),
        log_level=level,
        log_format=log_format,
        admin_ids=frozenset(int(a) for a in admins_raw),
        retention_days=int(retention_raw),
        log_content=get("LOG_CONTENT", "0").lower() in ("1", "true", "yes", "on"),
        database_url=check_database_url(get("DATABASE_URL")),
        intake_lease_seconds=leases["INTAKE_LEASE_SECONDS"],
        poller_lease_seconds=leases["POLLER_LEASE_SECONDS"],
    )


LEASES = {"INTAKE_LEASE_SECONDS": "10", "POLLER_LEASE_SECONDS": "6"}


def seconds(name: str, raw: str) -> float:
    """A lease length: a number of seconds from 1 to 300 (shorter would lapse between renewals)."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 300:
        raise ConfigError(f"{name} must be a number of seconds from 1 to 300, not {raw!r}")
    return value
