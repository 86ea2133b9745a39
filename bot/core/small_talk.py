"""Small talk and menu words: what a message says when it asks nothing about the leg press.

A message is small talk only when it is made entirely of a topic's phrases and filler words, so a question
is never hidden behind a greeting ("hi, why does my back hurt?" is a question). A bare menu word ("help",
"causes") does what its command does.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from bot.content.model import SmallTalk, SmallTalkTopic
from bot.replies import Button, Reply, esc
from bot.text import tokens

# a message that is only one of these words does what the command does
MENU_WORDS = {
    "help": "help",
    "menu": "help",
    "commands": "help",
    "start": "start",
    "causes": "causes",
    "fixes": "fixes",
    "faq": "faq",
    "faqs": "faq",
    "check": "check",
    "about": "about",
}
# the buttons a topic may offer: what the menu commands show
MENU_BUTTONS = {
    "causes": Button("Causes", data="l:cause"),
    "fixes": Button("Fixes", data="l:fix"),
    "faq": Button("FAQ", data="l:faq"),
}
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Cf", "Zs"})


def menu_command(text: str) -> str | None:
    """The command a bare menu word stands for ("Help!" -> help), else None."""
    words = tokens(text)
    if len(words) != 1 or len(text) > 40:
        return None
    return MENU_WORDS.get(words[0])


def emoji_only(text: str) -> bool:
    """Only emoji (and spaces): no letter, digit or punctuation anyone would type to ask something."""
    stripped = text.strip()
    return bool(stripped) and all(unicodedata.category(ch) in _EMOJI_CATEGORIES for ch in stripped)


@dataclass(frozen=True)
class SmallTalkReader:
    """Phrases indexed by their first word, longest first, so reading a message is a few lookups."""

    talk: SmallTalk
    by_first: dict[str, list[tuple[tuple[str, ...], SmallTalkTopic]]]

    @classmethod
    def of(cls, talk: SmallTalk) -> SmallTalkReader:
        by_first: dict[str, list[tuple[tuple[str, ...], SmallTalkTopic]]] = defaultdict(list)
        for topic in talk.topics:
            for phrase in topic.phrases:
                words = tuple(phrase.split())
                by_first[words[0]].append((words, topic))
        for phrases in by_first.values():
            phrases.sort(key=lambda p: -len(p[0]))  # stable: the first topic to list a phrase keeps it
        return cls(talk, dict(by_first))

    def read(self, text: str) -> SmallTalkTopic | None:
        """The topic of a message made only of small-talk phrases and fillers (the last phrase decides)."""
        if len(text) > 200:
            return None
        words = tokens(text)
        if not words:
            return next((t for t in self.talk.topics if t.emoji), None) if emoji_only(text) else None
        last: SmallTalkTopic | None = None
        i = 0
        while i < len(words):
            for phrase, topic in self.by_first.get(words[i], ()):
                if tuple(words[i : i + len(phrase)]) == phrase:
                    last = topic
                    i += len(phrase)
                    break
            else:
                if words[i] not in self.talk.fillers:
                    return None
                i += 1
        return last


def small_talk_reply(topic: SmallTalkTopic, chat: str, has_check: bool) -> Reply:
    """The topic's reply, its buttons on one row (the check moves to a private chat from a group)."""
    buttons: list[Button] = []
    for name in topic.buttons:
        if name != "check":
            buttons.append(MENU_BUTTONS[name])
        elif has_check:
            private = chat == "private"
            buttons.append(
                Button(
                    "Quick check", data="c:-" if private else None, start_payload=None if private else "check"
                )
            )
    return Reply(esc(topic.reply), buttons=(tuple(buttons),) if buttons else ())
