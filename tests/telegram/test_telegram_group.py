"""The bot in groups and supergroups: when it speaks, whom it quotes, and what it does not repeat."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from conftest import Harness
from fakebot import BOT_USERNAME, FakeTelegram, Json, only_message, sticker

from bot.core.dialogue import Dialogue
from bot.telegram.door import ANSWERED_RECENTLY

QUESTION = "do I need a belt for the leg press?"


async def test_plain_chatter_in_a_group_is_ignored(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, QUESTION)
    assert calls == []


async def test_a_mention_is_answered_quoting_the_asker(
    bot: Harness, group: Json, alice: Json, dialogue: Dialogue
) -> None:
    asked, calls = await bot.say(group, alice, f"@{BOT_USERNAME} {QUESTION}")
    answer = only_message(calls)
    m = dialogue.matcher.match(QUESTION)
    assert m.entry is not None
    assert answer.text == dialogue.entry_reply(m.entry, "group").text
    assert answer.quoted == asked["message_id"]


async def test_a_mention_in_any_case_anywhere_in_the_message_counts(
    bot: Harness, group: Json, alice: Json
) -> None:
    _, calls = await bot.say(group, alice, f"hey @{BOT_USERNAME.lower()}, {QUESTION}")
    assert "back support" in only_message(calls).text


async def test_a_mention_of_someone_else_is_ignored(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, f"@bob {QUESTION}")
    assert calls == []


async def test_a_reply_to_the_bot_is_answered(bot: Harness, group: Json, alice: Json, bob: Json) -> None:
    _, calls = await bot.say(group, alice, f"/faq@{BOT_USERNAME}")
    bots_message = bot.message_of(only_message(calls))
    asked, calls = await bot.say(group, bob, QUESTION, reply_to=bots_message)
    answer = only_message(calls)
    assert "back support" in answer.text
    assert answer.quoted == asked["message_id"]


async def test_a_reply_to_a_person_is_ignored(bot: Harness, group: Json, alice: Json, bob: Json) -> None:
    first, _ = await bot.say(group, alice, "leg day today")
    _, calls = await bot.say(group, bob, QUESTION, reply_to=first)
    assert calls == []


async def test_commands_work_with_and_without_the_bot_name(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, "/causes")
    assert only_message(calls).text.startswith("<b>Common causes</b>")
    _, calls = await bot.say(group, alice, f"/fixes@{BOT_USERNAME}")
    assert only_message(calls).text.startswith("<b>Fixes</b>")


async def test_commands_for_another_bot_are_ignored(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, "/causes@SomeOtherBot")
    assert calls == []
    _, calls = await bot.say(group, alice, "/ban spammer")  # not one of ours, not addressed to us
    assert calls == []


async def test_an_unknown_command_addressed_to_the_bot_is_answered(
    bot: Harness, group: Json, alice: Json
) -> None:
    _, calls = await bot.say(group, alice, f"/frobnicate@{BOT_USERNAME}")
    assert "I don't know that command" in only_message(calls).text


async def test_check_in_a_group_links_to_a_private_chat(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, "/check")
    reply = only_message(calls)
    assert "private chat" in reply.text
    (button,) = reply.buttons
    url = urlsplit(button["url"])
    assert (url.netloc, url.path) == ("t.me", f"/{BOT_USERNAME}")
    assert parse_qs(url.query) == {"start": ["check"]}


async def test_a_button_acts_for_whoever_pressed_it(
    bot: Harness, group: Json, alice: Json, bob: Json
) -> None:
    _, calls = await bot.say(group, alice, "/causes")
    listing = bot.message_of(only_message(calls))
    calls = await bot.press(bob, listing, "e:muscle-imbalances")
    (answered,) = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered.params["callback_query_id"]
    assert only_message(calls).text.startswith("<b>Cause: muscle imbalances</b>")
    assert bob["id"] in bot.app.user_data  # the press was handled as bob's, with bob's data


async def test_the_same_question_soon_after_gets_a_pointer_not_a_repost(
    bot: Harness, supergroup: Json, alice: Json, bob: Json
) -> None:
    _, calls = await bot.say(supergroup, alice, f"@{BOT_USERNAME} {QUESTION}")
    first = only_message(calls)
    first_id = bot.message_of(first)["message_id"]
    _, calls = await bot.say(supergroup, bob, f"@{BOT_USERNAME} do i need a belt on the leg press")
    pointer = only_message(calls)
    assert ANSWERED_RECENTLY in pointer.text
    assert pointer.quoted == first_id
    assert f"https://t.me/c/1234567890/{first_id}" in pointer.text
    assert len(pointer.text) < 200

    _, calls = await bot.say(supergroup, bob, "/causes")
    assert only_message(calls).text.startswith("<b>Common causes</b>")
    _, calls = await bot.say(supergroup, alice, "/causes")
    assert ANSWERED_RECENTLY in only_message(calls).text


async def test_the_same_question_in_a_private_chat_is_always_answered_in_full(
    bot: Harness, dm: Json, alice: Json
) -> None:
    for _ in range(2):
        _, calls = await bot.say(dm, alice, QUESTION)
        assert "back support" in only_message(calls).text


async def test_editing_a_question_in_a_group_edits_the_answer(bot: Harness, group: Json, alice: Json) -> None:
    asked, calls = await bot.say(group, alice, f"@{BOT_USERNAME} {QUESTION}")
    answer_id = bot.message_of(only_message(calls))["message_id"]
    calls = await bot.edit(asked, f"@{BOT_USERNAME} how often should I stretch my hamstrings?")
    (edit,) = calls
    assert edit.method == "editMessageText" and edit.params["message_id"] == answer_id
    assert "stretch" in edit.text.lower()


async def test_stickers_in_groups_get_no_reply(bot: Harness, group: Json, alice: Json) -> None:
    _, calls = await bot.say(group, alice, None, sticker=sticker())
    assert calls == []


async def test_a_group_that_becomes_a_supergroup_keeps_its_memory(
    bot: Harness, fake: FakeTelegram, group: Json, supergroup: Json, alice: Json
) -> None:
    await bot.say(group, alice, "/causes")
    remembered = dict(bot.app.chat_data[group["id"]])
    assert remembered
    await bot.say(group, alice, None, migrate_to_chat_id=supergroup["id"])
    moved = dict(bot.app.chat_data[supergroup["id"]])
    assert moved == remembered
    assert group["id"] not in bot.app.chat_data or not bot.app.chat_data[group["id"]]
