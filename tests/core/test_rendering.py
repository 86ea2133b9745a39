"""How text from faq.yaml reads once sent: wrapped lines in the file never break a sentence on screen."""

from __future__ import annotations

import itertools
import re

import pytest
from conftest import knowledge

from bot.content.model import Entry
from bot.core.dialogue import ChatKind, Dialogue
from bot.replies import format_body, plain_body, to_plain

DIALOGUE = Dialogue.from_kb(knowledge())
LIST_LINE = re.compile(r"^(?:• |[0-9]+[.)] )")
ENDS_A_SENTENCE = re.compile(r"[.:!?…)”]$")


def test_a_wrapped_paragraph_reads_as_one() -> None:
    text = "Hold each stretch for **at least 30\nseconds**, without\nbouncing.\n\nA new paragraph."
    shown = "Hold each stretch for <b>at least 30 seconds</b>, without bouncing.\n\nA new paragraph."
    assert format_body(text) == shown


def test_bullets_and_numbered_lines_stay_lines() -> None:
    text = "Good choices:\n- **Planks**\n- Crunches, done\n  slowly\n1. first\n2) second\nThe end,\nwrapped."
    assert format_body(text) == (
        "Good choices:\n• <b>Planks</b>\n• Crunches, done slowly\n1. first\n2) second\nThe end, wrapped."
    )


def test_markup_in_the_text_is_escaped_not_obeyed() -> None:
    assert format_body("a <b>\nb & c") == "a &lt;b&gt; b &amp; c"


@pytest.mark.parametrize("entry", knowledge().entries, ids=lambda e: e.id)
@pytest.mark.parametrize("chat", ["private", "group"])
def test_no_answer_breaks_a_line_inside_a_sentence(entry: Entry, chat: ChatKind) -> None:
    reply = DIALOGUE.entry_reply(entry, chat)
    lines = to_plain(reply.text).split("\n")
    for line, after in itertools.pairwise(lines):
        if not line or not after or LIST_LINE.match(line) or LIST_LINE.match(after):
            continue
        assert ENDS_A_SENTENCE.search(line), f"{entry.id}: a line break inside a sentence after {line!r}"
    assert "**" not in reply.text


@pytest.mark.parametrize("entry", knowledge().entries, ids=lambda e: e.id)
def test_a_preview_is_one_plain_line(entry: Entry) -> None:
    preview = plain_body(entry.answer)
    assert "\n" not in preview and "**" not in preview and "<" not in preview
