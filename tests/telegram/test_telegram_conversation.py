"""Small talk, menu words and follow-ups as people meet them, end to end through the fake Bot API:
in a private chat, in a group (addressed and not), after a restart, after 30 minutes of silence, and in
the terminal chat."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import Clock, Harness, settings_for, start_bot, stop_bot
from fakebot import BOT_USERNAME, FakeTelegram, Json, only_message

from bot.core.dialogue import Dialogue
from bot.terminal import TerminalChat

MINUTE = 60.0
HAMSTRINGS = "/start tight-hamstrings"  # the deep link that opens the tight-hamstrings answer


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock) -> AsyncIterator[Harness]:
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue, clock)
    yield harness
    await stop_bot(harness)


async def ask(bot: Harness, chat: Json, person: Json, text: str) -> str:
    _, calls = await bot.say(chat, person, text)
    return only_message(calls).text


# ------------------------------------------------------------------------------------------ small talk
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hi", "I answer questions about lower-back pain on the leg press"),
        ("Hello!", "I answer questions about lower-back pain on the leg press"),
        ("thanks", "You're welcome"),
        ("thank you so much!", "You're welcome"),
        ("👍", "Anything else"),
        ("are you a bot?", "I'm a bot"),
        ("ok", "Anything else"),
        ("great bot!", "Thank you"),
        ("you're useless", "Sorry about that"),
        ("bye", "Take care"),
    ],
)
async def test_small_talk_gets_a_short_friendly_reply(
    bot: Harness, dm: Json, alice: Json, text: str, says: str
) -> None:
    reply = await ask(bot, dm, alice, text)
    assert says in reply
    assert "Sorry, I can't answer that one" not in reply


async def test_a_greeting_offers_the_menu_and_the_check(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, "hey there")
    reply = only_message(calls)
    assert reply.button_labels == ["Causes", "Fixes", "FAQ", "Quick check"]
    assert [b["callback_data"] for b in reply.buttons] == ["l:cause", "l:fix", "l:faq", "c:-"]


async def test_a_greeting_never_hides_a_question(bot: Harness, dm: Json, alice: Json) -> None:
    reply = await ask(bot, dm, alice, "hi, why does my back hurt after leg press?")
    assert reply.startswith("<b>Why does my lower back hurt after leg presses?</b>")


@pytest.mark.parametrize(
    ("word", "command", "starts"),
    [
        ("help", "/help", "Ask me anything about lower-back pain"),
        ("Menu", "/help", "Ask me anything about lower-back pain"),
        ("causes", "/causes", "<b>Common causes</b>"),
        ("fixes", "/fixes", "<b>Fixes</b>"),
        ("FAQ", "/faq", "<b>Frequently asked questions</b>"),
        ("check", "/check", "<b>Quick check"),
    ],
)
async def test_a_bare_menu_word_does_what_its_command_does(
    bot: Harness, dm: Json, alice: Json, word: str, command: str, starts: str
) -> None:
    by_word = await ask(bot, dm, alice, word)
    assert by_word.startswith(starts)
    assert by_word == await ask(bot, dm, alice, command)


async def test_small_talk_in_a_group_only_when_addressed(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, "thanks")
    assert calls == []
    _, calls = await bot.say(group, alice, "help")
    assert calls == []
    asked, calls = await bot.say(group, alice, f"@{BOT_USERNAME} thanks!")
    reply = only_message(calls)
    assert "You're welcome" in reply.text and reply.quoted == asked["message_id"]
    # the check moves to a private chat from a group
    assert any(b.get("url", "").endswith("?start=check") for b in reply.buttons)


# ------------------------------------------------------------------------------------------ follow-ups
async def test_follow_ups_refer_to_the_answer_just_shown(bot: Harness, dm: Json, alice: Json) -> None:
    assert (await ask(bot, dm, alice, HAMSTRINGS)).startswith("<b>Cause: tight hamstrings</b>")
    fix = await ask(bot, dm, alice, "ok so how do I fix that?")
    assert fix.startswith("<i>About tight hamstrings:</i>")
    assert "<b>Fix: stretch your hamstrings</b>" in fix


async def test_fixing_the_overview_of_causes_gives_the_fix_of_the_first_cause(
    bot: Harness, dm: Json, alice: Json
) -> None:
    first = await ask(bot, dm, alice, "my lower back hurts after leg press")
    assert "<b>Why does my lower back hurt" in first
    fix = await ask(bot, dm, alice, "ok so how do I fix that?")
    assert fix.startswith("<i>About “Why it hurts”:</i>") and "<b>Fix: improve your form</b>" in fix


@pytest.mark.parametrize(
    ("follow_up", "answer"),
    [
        ("tell me more", "<b>Fix: stretch your hamstrings</b>"),
        ("why?", "<b>Cause: tight hamstrings</b>"),
        ("and what about stretching?", "<b>Fix: stretch your hamstrings</b>"),
        ("what if it still hurts after all that", "<b>Fix: get professional help</b>"),
        ("how often?", "<b>How often should I stretch my hamstrings?</b>"),
    ],
)
async def test_each_kind_of_follow_up_is_understood(
    bot: Harness, dm: Json, alice: Json, follow_up: str, answer: str
) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    reply = await ask(bot, dm, alice, follow_up)
    assert reply.startswith("<i>About tight hamstrings:</i>") and answer in reply


async def test_a_reply_to_the_overview_is_read_with_it(bot: Harness, dm: Json, alice: Json) -> None:
    await ask(bot, dm, alice, "my lower back hurts after leg press")
    reply = await ask(bot, dm, alice, "no i dont stretch")
    assert reply.startswith("<i>About “Why it hurts”:</i>") and "<b>Fix: stretch your hamstrings</b>" in reply


@pytest.mark.parametrize("text", ["so my knee hurts too, why?", "no, how much protein should i eat"])
async def test_a_follow_up_about_something_else_is_not_read_with_the_last_answer(
    bot: Harness, dm: Json, alice: Json, text: str
) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    reply = await ask(bot, dm, alice, text)
    assert "About tight hamstrings" not in reply and "<b>" not in reply


async def test_didnt_help_after_an_answer_is_about_what_it_suggested(
    bot: Harness, dm: Json, alice: Json
) -> None:
    await ask(bot, dm, alice, "where should my feet go on the leg press")
    reply = await ask(bot, dm, alice, "didn't help")
    assert (
        reply.startswith("<i>About “Improve your form”:</i>") and "<b>Fix: get professional help</b>" in reply
    )


async def test_what_was_tried_already_is_not_offered_again(bot: Harness, dm: Json, alice: Json) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    reply = await ask(bot, dm, alice, "tried stretching already")
    assert reply.startswith("<i>About tight hamstrings:</i>") and "Fix: stretch your hamstrings" not in reply


async def test_didnt_help_with_nothing_before_is_a_complaint_about_the_bot(
    bot: Harness, dm: Json, alice: Json
) -> None:
    assert (await ask(bot, dm, alice, "didn't help")).startswith("Sorry about that.")


async def test_the_second_one_is_the_second_button(bot: Harness, dm: Json, alice: Json) -> None:
    await ask(bot, dm, alice, "/causes")
    reply = await ask(bot, dm, alice, "the second one")
    assert reply.startswith("<b>Cause: muscle imbalances</b>")


async def test_a_follow_up_with_nothing_before_asks_about_what(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, "tell me more")
    reply = only_message(calls)
    assert reply.text.startswith("About what?")
    assert reply.button_labels == ["Causes", "Fixes", "FAQ"]


async def test_start_forgets_what_was_shown(bot: Harness, dm: Json, alice: Json) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    await ask(bot, dm, alice, "/start")
    assert (await ask(bot, dm, alice, "how do I fix that?")).startswith("About what?")


async def test_thirty_minutes_of_silence_forget_what_was_shown(
    bot: Harness, dm: Json, alice: Json, clock: Clock
) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    clock.advance(20)
    assert "About tight hamstrings" in await ask(bot, dm, alice, "why?")  # 20 minutes: still remembered
    clock.advance(31)
    assert (await ask(bot, dm, alice, "tell me more")).startswith("About what?")


async def test_context_is_per_person_and_per_chat(
    bot: Harness, dm: Json, alice: Json, bob: Json, group: Json
) -> None:
    await ask(bot, dm, alice, HAMSTRINGS)
    assert "About tight hamstrings" in await ask(bot, dm, alice, "why?")
    # in the group, neither Alice nor Bob has been shown anything yet
    assert (await ask(bot, group, alice, f"@{BOT_USERNAME} tell me more")).startswith("About what?")
    await ask(bot, group, bob, f"@{BOT_USERNAME} do I need a belt for the leg press?")
    reply = await ask(bot, group, bob, f"@{BOT_USERNAME} why?")
    assert reply.startswith("<i>About “Use a back support”:</i>")
    _, calls = await bot.say(group, alice, "why?")  # not addressed: ignored, whatever the context
    assert calls == []


async def test_context_survives_a_restart(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock, alice: Json, dm: Json
) -> None:
    settings = settings_for(fake, tmp_path / "data")
    first = await start_bot(fake, settings, dialogue, clock)
    try:
        await ask(first, dm, alice, HAMSTRINGS)
    finally:
        await stop_bot(first)
    clock.advance(2)
    second = await start_bot(fake, settings, dialogue, clock)
    try:
        reply = await ask(second, dm, alice, "how do I fix that?")
        assert reply.startswith("<i>About tight hamstrings:</i>")
    finally:
        await stop_bot(second)


async def test_a_button_press_becomes_the_context(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, "/fixes")
    await bot.press(alice, bot.message_of(only_message(calls)), "e:strengthen-core")
    reply = await ask(bot, dm, alice, "why?")
    assert reply.startswith("<i>About “Strengthen your core”:</i>")
    assert "<b>Cause: muscle imbalances</b>" in reply


# ------------------------------------------------------------------------------------------ terminal
def test_the_terminal_chat_has_small_talk_menu_words_and_follow_ups(dialogue: Dialogue) -> None:
    out = io.StringIO()
    now = [1000.0]
    chat = TerminalChat(dialogue, out, clock=lambda: now[0])
    for line in ("hi", "causes", "3", "how do I fix that?"):
        chat.handle(line)
    text = out.getvalue()
    assert "I answer questions about lower-back pain on the leg press" in text
    assert "Common causes" in text
    assert "About tight hamstrings:\n\nFix: stretch your hamstrings" in text
    now[0] += 31 * MINUTE
    chat.handle("tell me more")
    assert out.getvalue().rstrip().splitlines()[-4].startswith("About what?")
