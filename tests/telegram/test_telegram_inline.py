"""Inline mode: `@BotName hamstrings` in any chat lists entries to send."""

from __future__ import annotations

from conftest import Harness
from fakebot import Json

from bot.core.dialogue import Dialogue


async def test_inline_query_lists_the_best_entries_as_articles(
    bot: Harness, alice: Json, dialogue: Dialogue
) -> None:
    calls = await bot.inline(alice, "hamstrings")
    (answer,) = calls
    assert answer.method == "answerInlineQuery"
    results = answer.params["results"]
    expected = dialogue.inline_results("hamstrings")
    assert expected, "the knowledge base should know about hamstrings"
    assert [r["id"] for r in results] == [e.id for e in expected]
    first = results[0]
    assert first["type"] == "article"
    assert first["title"] == expected[0].title
    assert 0 < len(first["description"]) <= 120
    content = first["input_message_content"]
    assert content["message_text"] == dialogue.entry_reply(expected[0], "group").text
    assert content["parse_mode"] == "HTML"
    assert any("hamstring" in r["title"].lower() for r in results)
    assert not any("**" in r["description"] or "<" in r["description"] for r in results)  # plain text


async def test_inline_descriptions_are_plain_text(bot: Harness, alice: Json) -> None:
    (answer,) = await bot.inline(alice, "how long should I hold a hamstring stretch")
    descriptions = [r["description"] for r in answer.params["results"]]
    assert any("at least 30 seconds" in d for d in descriptions), descriptions
    assert not any("**" in d for d in descriptions)


async def test_empty_inline_query_lists_the_causes(bot: Harness, alice: Json, dialogue: Dialogue) -> None:
    (answer,) = await bot.inline(alice, "")
    assert [r["id"] for r in answer.params["results"]] == [e.id for e in dialogue.kb.of_kind("cause")]


async def test_nonsense_inline_query_answers_with_no_results(bot: Harness, alice: Json) -> None:
    (answer,) = await bot.inline(alice, "qwzx vbnm")
    assert answer.params["results"] == []


async def test_a_button_on_a_message_sent_inline_edits_that_message(bot: Harness, alice: Json) -> None:
    calls = await bot.press(alice, None, "e:stretch-hamstrings", inline_message_id="inline-1")
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    edit = calls[1]
    assert edit.params["inline_message_id"] == "inline-1"
    assert edit.text.startswith("<b>Fix: stretch your hamstrings</b>")
