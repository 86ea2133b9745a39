"""The small_talk section of faq.yaml: validated like the rest, every problem with file, line, topic and
field; and read so that a question is never taken for small talk."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from bot.content.load import load_knowledge, parse_knowledge
from bot.content.model import SmallTalk
from bot.content.problems import KnowledgeError
from bot.core.small_talk import SmallTalkReader, emoji_only, menu_command

ROOT = Path(__file__).resolve().parents[2]

BASE = textwrap.dedent(
    """\
    meta:
      bot_name: Test bot
      source_title: A title
      disclaimer: Not medical advice.
    entries:
      - id: only-entry
        kind: cause
        title: Only
        questions: [why does it hurt]
        answer: Because.
        related: []
    """
)


def with_small_talk(section: str) -> str:
    return BASE + textwrap.dedent(section)


def problems_of(text: str) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge(text, "faq.yaml")
    return [str(p) for p in info.value.problems]


@pytest.fixture(scope="module")
def reader() -> SmallTalkReader:
    talk = load_knowledge(ROOT / "bot" / "faq.yaml").small_talk
    assert talk is not None
    return SmallTalkReader.of(talk)


def test_a_valid_section_is_parsed_into_frozen_topics() -> None:
    kb = parse_knowledge(
        with_small_talk(
            """\
            small_talk:
              fillers: [so, much]
              topics:
                - id: thanks
                  phrases: [Thank you, thanks]
                  reply: You're welcome!
                  buttons: [causes, check]
            """
        )
    )
    assert kb.small_talk is not None
    (topic,) = kb.small_talk.topics
    assert (topic.id, topic.phrases, topic.buttons) == (
        "thanks",
        ("thank you", "thanks"),
        ("causes", "check"),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        topic.reply = "changed"  # type: ignore[misc]


def test_every_mistake_is_reported_with_line_topic_and_field() -> None:
    found = problems_of(
        with_small_talk(
            """\
            small_talk:
              greeting: hello
              topics:
                - id: Thanks!
                  phrases: thanks
                  reply: ""
                  buttons: [shop]
                  colour: blue
                - id: ok
                  phrases: []
                  reply: fine
                  emoji: maybe
            """
        )
    )
    joined = "\n".join(found)
    assert "faq.yaml:" in joined and "small_talk.greeting" in joined
    assert "entry 'Thanks!'" in joined and "small_talk.topics[Thanks!].id" in joined
    assert "small_talk.topics[Thanks!].phrases" in joined
    assert "small_talk.topics[Thanks!].reply" in joined and "missing or empty" in joined
    assert "small_talk.topics[Thanks!].buttons" in joined
    assert "small_talk.topics[Thanks!].colour" in joined
    assert "small_talk.topics[ok].emoji" in joined
    assert all(p.startswith("faq.yaml:") and p.split(":")[1].split(",")[0].isdigit() for p in found)


def test_the_real_file_has_every_kind_of_small_talk(reader: SmallTalkReader) -> None:
    ids = {t.id for t in reader.talk.topics}
    assert {"greeting", "thanks", "goodbye", "who", "ok", "praise", "complaint"} <= ids
    assert any(t.emoji for t in reader.talk.topics)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("hi", "greeting"),
        ("Hello there!!", "greeting"),
        ("good morning mate", "greeting"),
        ("thanks so much!", "thanks"),
        ("Thank you 🙏", "thanks"),
        ("ok thanks", "thanks"),
        ("see ya", "goodbye"),
        ("who are you?", "who"),
        ("are you a real person", "who"),
        ("ok", "ok"),
        ("👍👍", "ok"),
        ("good bot", "praise"),
        ("this is useless", "complaint"),
    ],
)
def test_small_talk_is_recognised(reader: SmallTalkReader, text: str, topic: str) -> None:
    found = reader.read(text)
    assert found is not None and found.id == topic


@pytest.mark.parametrize(
    "text",
    [
        "hi, why does my back hurt?",
        "thanks, and where do my feet go?",
        "hello my lower back hurts on the leg press",
        "ok so how do I fix that?",
        "what can you do for tight hamstrings",
        "?",
        "",
        "thanks " * 100,
    ],
)
def test_a_question_is_never_taken_for_small_talk(reader: SmallTalkReader, text: str) -> None:
    assert reader.read(text) is None


def test_menu_words_and_emoji() -> None:
    assert menu_command("Help!") == "help" and menu_command("menu") == "help"
    assert menu_command("causes") == "causes" and menu_command("check?") == "check"
    assert menu_command("help me with my back") is None and menu_command("") is None
    assert emoji_only("👍 🙏") and not emoji_only("?") and not emoji_only("ok 👍") and not emoji_only("")


def test_without_the_section_small_talk_defaults_apply() -> None:
    kb = parse_knowledge(BASE)
    assert kb.small_talk is None
    assert SmallTalk(()).about_what.startswith("About what?")
