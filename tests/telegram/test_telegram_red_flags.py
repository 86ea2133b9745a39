"""Every warning sign, end to end through the fake Bot API: a private chat, a group, inline mode."""

from __future__ import annotations

import pytest
from conftest import Harness, knowledge
from fakebot import BOT_USERNAME, Json, sent
from helpers import URGENT_HEADINGS, assert_telegram_html

from bot.replies import to_plain

KB = knowledge()

# One message per sign, each with an ordinary leg-press question in it that the FAQ could answer.
MESSAGES = {
    "saddle-numbness": "my bum and groin have gone numb since leg day, should my feet go higher?",
    "numbness": "pins and needles in my right foot since my back went, how many sets should I do?",
    "bladder-bowel": "cant hold my pee since the back injury, do I need a belt for the leg press?",
    "sexual-dysfunction": "cant get an erection since I hurt my back, is leg press bad for discs?",
    "leg-weakness": "my left foot drags when I walk since my back went, how do I fix my form?",
    "fall-accident": "got knocked off my bike and my back hurts, when can I leg press again?",
    "cancer-history": "had lymphoma, finished chemo last year, now lower back pain on the leg press",
    "fever-weight-loss": "feverish with an aching lower back, can I still train legs?",
    "night-rest-pain": "my back pain wakes me every night, which stretches help?",
}


def test_the_messages_cover_every_sign() -> None:
    assert set(MESSAGES) == {f.id for f in KB.red_flags.flags}


def _assert_urgent_for(sign: str, text: str) -> None:
    flag = KB.red_flags.get(sign)
    assert flag is not None
    plain = to_plain(text)
    assert plain.startswith(URGENT_HEADINGS[flag.urgency])
    assert f"You mentioned: {flag.label}." in plain
    assert f"Tell the doctor: {flag.tell}" in plain
    assert_telegram_html(text)


@pytest.mark.parametrize("sign", sorted(MESSAGES))
async def test_every_sign_in_a_private_chat_gets_the_urgent_message_and_no_faq_answer(
    bot: Harness, dm: Json, alice: Json, sign: str
) -> None:
    _, calls = await bot.say(dm, alice, MESSAGES[sign])
    messages = sent(calls)
    assert len(messages) == 1, "the urgent message alone: no FAQ answer competes with it"
    _assert_urgent_for(sign, messages[0].text)


@pytest.mark.parametrize("sign", sorted(MESSAGES))
async def test_every_sign_in_a_group_gets_the_urgent_message_when_the_bot_is_addressed(
    bot: Harness, supergroup: Json, alice: Json, sign: str
) -> None:
    _, calls = await bot.say(supergroup, alice, MESSAGES[sign])
    assert sent(calls) == [], "in a group the bot speaks only when addressed"
    asked, calls = await bot.say(supergroup, alice, f"@{BOT_USERNAME} {MESSAGES[sign]}")
    first, *rest = sent(calls)
    assert not rest
    _assert_urgent_for(sign, first.text)
    assert first.quoted == asked["message_id"]


@pytest.mark.parametrize("sign", sorted(MESSAGES))
async def test_every_sign_in_inline_mode_puts_the_urgent_message_first(
    bot: Harness, alice: Json, sign: str
) -> None:
    flag = KB.red_flags.get(sign)
    assert flag is not None
    (answer,) = await bot.inline(alice, MESSAGES[sign])
    first = answer.params["results"][0]
    assert first["id"] == "red-flag"
    assert first["title"] == URGENT_HEADINGS[flag.urgency]
    assert flag.label in first["description"]
    _assert_urgent_for(sign, first["input_message_content"]["message_text"])


async def test_an_ordinary_inline_query_has_no_urgent_result(bot: Harness, alice: Json) -> None:
    (answer,) = await bot.inline(alice, "pins for the leg press seat")
    assert all(r["id"] != "red-flag" for r in answer.params["results"])


@pytest.mark.parametrize(
    "text",
    [
        "cant feel my legs after that leg day, not literally lol, how many sets next time?",
        "had a fever last week, gone now, when can I go back to leg press?",
        "pre-workout makes my face tingle, where should my feet go?",
        "leg press is mind-numbingly boring, how do I make it fun?",
    ],
)
async def test_a_look_alike_in_a_private_chat_gets_an_ordinary_answer(
    bot: Harness, dm: Json, alice: Json, text: str
) -> None:
    _, calls = await bot.say(dm, alice, text)
    assert sent(calls)
    for message in sent(calls):
        plain = to_plain(message.text)
        assert not any(plain.startswith(h) for h in URGENT_HEADINGS.values())
