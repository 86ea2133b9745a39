"""The `small_talk` section of faq.yaml: greetings, thanks and the like, validated.

Each topic lists the phrases that say it and the short reply to them; `fillers` are the words that may stand
around a phrase ("thanks **so much** **mate**") without making the message a question. See
`bot.core.small_talk` for how a message is recognised.
"""

from __future__ import annotations

from typing import Any

from bot.content.model import SmallTalk, SmallTalkTopic
from bot.content.problems import Bad, Counting, Report, each_item, report_unknown_keys
from bot.text import tokens

SECTION_KEYS = {"fillers", "topics", "about_what", "partial"}
TOPIC_KEYS = {"id", "phrases", "reply", "buttons", "emoji"}
MENU_BUTTONS = ("causes", "fixes", "faq", "check")
MAX_REPLY_CHARS = 1000  # small talk stays small


def parse_small_talk(raw: Any, report: Report) -> SmallTalk | None:
    """Validate the `small_talk` section; every problem goes to `report` (entry = the topic's id)."""
    if not isinstance(raw, dict):
        report(None, "small_talk", "must be a mapping with topics (and optionally fillers)")
        return None
    bad = Counting(report)

    report_unknown_keys(raw, SECTION_KEYS, "small_talk", bad)
    fillers = raw.get("fillers", [])
    if not isinstance(fillers, list) or not all(isinstance(f, str) for f in fillers):
        bad(None, "small_talk.fillers", "must be a list of words")
        fillers = []
    texts: dict[str, str] = {}
    for key in ("about_what", "partial"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            bad(None, f"small_talk.{key}", "must be text")
        elif isinstance(value, str):
            texts[key] = value.strip()
    topics = _parse_topics(raw.get("topics"), bad)
    if bad.count:
        return None
    defaults = SmallTalk(())
    return SmallTalk(
        topics=tuple(topics),
        fillers=frozenset(w for f in fillers for w in tokens(f)),
        about_what=texts.get("about_what", defaults.about_what),
        partial=texts.get("partial", defaults.partial),
    )


def _parse_topics(raw: Any, bad: Bad) -> list[SmallTalkTopic]:
    topics: list[SmallTalkTopic] = []
    hint = " (use lowercase letters, digits and dashes)"
    for entry in each_item(raw, "small_talk.topics", "topic", TOPIC_KEYS, bad, "id, phrases and reply", hint):
        item, fail = entry.raw, entry.fail
        emoji = item.get("emoji", False)
        if not isinstance(emoji, bool):
            fail("emoji", "must be true or false")
            emoji = False
        phrases = item.get("phrases", [])
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            fail("phrases", "must be a list of phrases")
            phrases = []
        elif not phrases and not emoji:
            fail("phrases", "needs at least one phrase (or emoji: true)")
        for p in phrases:
            if not tokens(p):
                fail("phrases", f"{p!r} has no words in it")
        reply = item.get("reply")
        if not isinstance(reply, str) or not reply.strip():
            fail("reply", "missing or empty")
        elif len(reply) > MAX_REPLY_CHARS:
            fail("reply", f"too long ({len(reply)} characters; keep small talk under {MAX_REPLY_CHARS})")
        buttons = item.get("buttons", [])
        if not isinstance(buttons, list) or any(b not in MENU_BUTTONS for b in buttons):
            fail("buttons", f"a list of: {', '.join(MENU_BUTTONS)}")
            buttons = []
        if entry.ok and entry.id is not None and isinstance(reply, str):
            topics.append(
                SmallTalkTopic(
                    id=entry.id,
                    phrases=tuple(" ".join(tokens(p)) for p in phrases),
                    reply=reply.strip(),
                    buttons=tuple(str(b) for b in buttons),
                    emoji=emoji,
                )
            )
    return topics
