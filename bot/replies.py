"""Replies as plain data: what the core decided, before any adapter renders it.

Text is the small HTML subset Telegram accepts (<b>, <i>, <a>); every piece of dynamic text goes through
`esc` so that nothing a person typed is ever read as markup. The terminal adapter strips the tags.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

MAX_MESSAGE_CHARS = 4096
MAX_CALLBACK_BYTES = 64


def esc(text: str) -> str:
    """Escape dynamic text for Telegram HTML (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def italic(text: str) -> str:
    return f"<i>{esc(text)}</i>"


def link(label: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{esc(label)}</a>'


_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)


def to_plain(text: str) -> str:
    """Telegram HTML -> plain text, for the terminal and for inline-mode descriptions; a link keeps its
    address beside its label, since plain text cannot be clicked."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return html.unescape(_TAG.sub("", text))


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cut HTML text to Telegram's limit without splitting a tag or an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # never leave half a tag or half an entity at the end
    last_lt, last_gt = cut.rfind("<"), cut.rfind(">")
    if last_lt > last_gt:
        cut = cut[:last_lt]
    last_amp, last_semi = cut.rfind("&"), cut.rfind(";")
    if last_amp > last_semi:
        cut = cut[:last_amp]
    # close any tag left open
    open_tags: list[str] = []
    for m in re.finditer(r"<(/?)([a-z]+)[^>]*>", cut):
        if m.group(1):
            if open_tags and open_tags[-1] == m.group(2):
                open_tags.pop()
        else:
            open_tags.append(m.group(2))
    closing = "".join(f"</{t}>" for t in reversed(open_tags))
    return cut[: limit - 1 - len(closing)] + "…" + closing


@dataclass(frozen=True)
class Button:
    """One inline button: callback data, a deep link into a private chat, or a plain URL."""

    label: str
    data: str | None = None
    start_payload: str | None = None  # adapter turns it into t.me/<bot>?start=<payload>
    url: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.data, self.start_payload, self.url)) != 1:
            raise ValueError("a button needs exactly one of data, start_payload, url")
        if self.data is not None and len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One message the bot sends (or, with `edit`, the new content of the message a button was on)."""

    text: str
    buttons: Keyboard = ()
    edit: bool = False
    urgent: bool = False
    entry_id: str | None = None  # the entry this reply answers, if any
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clip(self.text))


def rows(buttons: list[Button], per_row: int = 1) -> Keyboard:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_LIST_ITEM = re.compile(r"^(?:- |[0-9]+[.)] )")


def paragraphs(text: str) -> list[list[str]]:
    """Text as written in faq.yaml -> paragraphs, each a list of lines as they should be shown.

    One rule, the one people expect from Markdown: a single line break inside a paragraph is a space; a
    blank line starts a paragraph; `- ` bullets and numbered lines (`1. `, `2) `) stay lines of their own,
    and an indented line continues the item above it. So a YAML `|` block can be wrapped at any width."""
    out: list[list[str]] = []
    lines: list[str] = []
    in_item = False
    for raw in text.strip().splitlines():
        stripped = raw.strip()
        if not stripped:
            if lines:
                out.append(lines)
            lines, in_item = [], False
        elif _LIST_ITEM.match(stripped):
            lines.append(stripped)
            in_item = True
        elif lines and (not in_item or raw[:1].isspace()):
            lines[-1] += " " + stripped  # the same sentence, wrapped in the file
        else:
            lines.append(stripped)  # the text after a list starts a line of its own
            in_item = False
    if lines:
        out.append(lines)
    return out


def format_body(text: str) -> str:
    """An answer as written in faq.yaml -> Telegram HTML: reflowed (see `paragraphs`), `**bold**` and
    `- ` bullets understood, the rest escaped."""
    shown = []
    for paragraph in paragraphs(text):
        lines = ["• " + line[2:] if line.startswith("- ") else line for line in paragraph]
        shown.append(_BOLD.sub(lambda m: f"<b>{m.group(1)}</b>", esc("\n".join(lines))))
    return "\n\n".join(shown)


def plain_body(text: str) -> str:
    """An answer as one line of plain text, `**` marks removed: for previews such as inline results."""
    return " ".join(to_plain(format_body(text)).split())


def entry_html(title: str, answer: str) -> str:
    return f"{bold(title)}\n\n{format_body(answer)}"
