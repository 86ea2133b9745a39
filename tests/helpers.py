"""Shared by the tests: what valid Telegram HTML is, and the answers that lead the check to each cause."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.replies import MAX_MESSAGE_CHARS

ALLOWED_TAGS = {"b", "i", "a", "u", "s", "code", "pre"}
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class _TelegramHTML(HTMLParser):
    """Collects what Telegram would reject: unknown tags, unbalanced tags, attributes it ignores."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.bad.append(f"<{tag}>")
        if any(name != "href" or tag != "a" for name, _ in attrs):
            self.bad.append(f"<{tag} {attrs}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.bad.append(f"</{tag}>")


def assert_telegram_html(text: str) -> None:
    assert text.strip(), "an empty message"
    assert len(text) <= MAX_MESSAGE_CHARS
    text.encode("utf-8")  # a lone surrogate would make the request itself fail
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    assert not parser.bad and not parser.stack, (parser.bad, parser.stack, text[:300])
    for i in (m.start() for m in re.finditer("&", text)):
        assert ENTITY.match(text, i), f"a bare & at {i}: {text[max(0, i - 20) : i + 20]!r}"
    assert "<script" not in text.lower()


NONE = "None of these"

# How the urgent message opens, by how soon the sign needs care (faq.yaml: red_flags.levels).
URGENT_HEADINGS = {
    "emergency": "🚨 Go to A&E or call an emergency number now",
    "today": "⚠️ Please get medical help today",
    "soon": "⚠️ Please see a doctor within the next few days",
}

# The taps that bring the check to each cause (the two warning-sign screens first).
CAUSE_PATHS = {
    "Incorrect form": [
        NONE,
        NONE,
        "During the set",
        "Arches away from the seat",
        "Twice a week or more",
        "Neither, or never checked",
        "No, it stays in my back",
    ],
    "Muscle imbalances": [
        NONE,
        NONE,
        "The next day",
        "Stays flat on the seat",
        "Hardly ever",
        "Neither, or never checked",
        "No, it stays in my back",
    ],
    "Tight hamstrings": [
        NONE,
        NONE,
        "During the set",
        "Lifts or rounds off the seat",
        "Twice a week or more",
        "Neither, or never checked",
        "No, it stays in my back",
    ],
    "Spinal stenosis": [
        NONE,
        NONE,
        "After standing or walking a while",
        "Stays flat on the seat",
        "Twice a week or more",
        "Spinal stenosis",
        "Into both legs when I stand or walk",
    ],
    "Herniated disc": [
        NONE,
        NONE,
        "During the set",
        "Stays flat on the seat",
        "Twice a week or more",
        "A herniated, bulging or slipped disc",
        "Yes, down one leg, often below the knee",
    ],
}
