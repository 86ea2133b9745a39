"""Odd input through the Telegram handlers, end to end through the fake Bot API server.

Whatever arrives (any text, any kind of update, any button data) the bot either says nothing or sends
well-formed Telegram HTML under 4096 characters, answers every button press, and never reaches its error
handler. `test_robustness.py` holds the same properties for the core alone; here the whole door is in the
loop: JSON decoding, PTB's filters, the handlers, persistence and rendering.
"""

from __future__ import annotations

import itertools

from conftest import Errors, Harness
from fakebot import (
    BOT_ID,
    BOT_USERNAME,
    TOKEN,
    Call,
    FakeTelegram,
    Json,
    group_chat,
    private_chat,
    sent,
    user,
)
from helpers import assert_telegram_html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.replies import MAX_MESSAGE_CHARS
from bot.telegram.door import ONLY_TEXT

# what Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style), as the bot uses it
CALLBACK_NOTICE_CHARS = 200  # answerCallbackQuery's limit
TEXT_METHODS = ("sendMessage", "editMessageText")
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    " ",
    "   \n\t  ",
    "a",
    "?",
    "x" * MAX_MESSAGE_CHARS,
    "<" * MAX_MESSAGE_CHARS,
    ("leg press back pain " * 300)[:MAX_MESSAGE_CHARS],
    "<b>bold</b> <script>alert(1)</script> &amp; &lt; <i>unclosed <a href='javascript:x'>",
    "</b></i></pre> & &amp &#0; &#x110000; <tg-spoiler>x",
    "**bold** _it_ `code` ```pre``` [link](http://example.com) ~~s~~ ||spoiler|| __init__",
    "مرحبا ظهري يؤلمني بعد ضغط الساق \u202eevil\u202c",  # RTL and an override
    "👨‍👩‍👧‍👦🏋🏽‍♀️👍🏿 back pain 🇺🇦",  # ZWJ sequences, skin-tone modifiers, flags
    "e\u0301\u0301\u0301\u0301 lower back Z\u0351\u0352\u0353",  # combining marks
    "\u200b\u200c\u200d\ufeff\u2060",  # zero-width characters only
    "\x01\x07\x1b[31mred\x1b[0m\x7f\x85",  # control characters
    "line\nbreaks\r\nand\ttabs\u2028\u2029",
    "back pain \ud83d\ude00",  # an astral character as a surrogate pair in the JSON
    "back pain \udc80 leg press",  # a lone surrogate, which JSON can carry and UTF-8 cannot
    "/start ../../etc/passwd",
    "/start why-back-hurts/../../etc/passwd",
    "/start %2e%2e%2f%00<b>",
    "/start check-../../x",
    "/start " + "a" * 300,
    "/cat /etc/passwd",
    "/help; rm -rf /",
    "$(reboot) `id` | ls",
    "@" + BOT_USERNAME,
    "/",
]


# ------------------------------------------------------------------------------------------- checks
def assert_well_formed(calls: list[Call]) -> None:
    """Every message the bot sent or edited is valid Telegram HTML; every callback notice is short."""
    for call in calls:
        if call.method in TEXT_METHODS:
            assert call.params.get("parse_mode") == "HTML", call
            assert_telegram_html(call.text)
        if call.method == "answerCallbackQuery":
            assert len(str(call.params.get("text", ""))) <= CALLBACK_NOTICE_CHARS


def no_secrets(calls: list[Call]) -> None:
    secret = TOKEN.split(":", 1)[1]
    for call in calls:
        assert secret not in repr(call.params)


_group_ids = itertools.count(-7000, -1)


def new_group() -> Json:
    return group_chat(next(_group_ids), "Leg day")


# ------------------------------------------------------------------------------------- text, private
async def test_nasty_text_in_private_gets_well_formed_answers(
    bot: Harness, errors: Errors, dm: Json, alice: Json
) -> None:
    for text in NASTY:
        _, calls = await bot.say(dm, alice, text)
        assert_well_formed(calls)
        no_secrets(calls)
        assert sent(calls), f"a private message always gets an answer: {text[:40]!r}"
        errors.assert_none()


async def test_an_empty_text_is_not_an_error(bot: Harness, errors: Errors, dm: Json, alice: Json) -> None:
    """Telegram never sends one; if it did, "I only read text" or silence are both right."""
    _, calls = await bot.say(dm, alice, "")
    assert_well_formed(calls)
    assert [c.text for c in sent(calls)] in ([], [ONLY_TEXT])


async def test_odd_deep_link_payloads_get_the_plain_welcome(
    bot: Harness, errors: Errors, dm: Json, alice: Json
) -> None:
    """An unknown /start payload is answered as if there were none: nothing is looked up on disk."""
    _, plain = await bot.say(dm, alice, "/start")
    for payload in (
        "../../etc/passwd",
        "why-back-hurts/../x",
        "/etc/shadow",
        "e:x",
        "check-%2F",
        "..",
        "\x00",
    ):
        _, odd = await bot.say(dm, alice, f"/start {payload}")
        assert [c.text for c in sent(odd)] == [c.text for c in sent(plain)], payload
        assert "root:" not in sent(odd)[0].text


@EXAMPLES
@given(text=st.text(st.characters(exclude_categories=()), max_size=300))
async def test_any_text_in_private_gets_well_formed_answers(
    bot: Harness, errors: Errors, dm: Json, alice: Json, text: str
) -> None:
    _, calls = await bot.say(dm, alice, text)
    assert_well_formed(calls)
    if text.strip():
        assert sent(calls)
    errors.assert_none()


@EXAMPLES
@given(
    text=st.lists(
        st.sampled_from([*"<>&;/\"'*_`[]()~|#\\ab \n", "&amp;", "<b>", "</b>", "<pre>", "&#", "/start"]),
        max_size=60,
    ).map("".join)
)
async def test_markup_soup_is_never_read_as_markup(
    bot: Harness, errors: Errors, dm: Json, alice: Json, text: str
) -> None:
    _, calls = await bot.say(dm, alice, text)
    assert_well_formed(calls)
    errors.assert_none()


# --------------------------------------------------------------------------------------- text, group
async def test_nasty_text_in_a_group(bot: Harness, errors: Errors, alice: Json) -> None:
    """Not addressed to the bot: silence. Addressed to it: a well-formed answer quoting the asker."""
    for text in NASTY:
        group = new_group()
        _, calls = await bot.say(group, alice, text)
        if not text.startswith("/") and BOT_USERNAME not in text:
            assert not sent(calls), text[:40]
        asked, calls = await bot.say(group, alice, f"@{BOT_USERNAME} {text}")
        assert_well_formed(calls)
        if sent(calls):
            assert sent(calls)[0].quoted == asked["message_id"]


@EXAMPLES
@given(text=st.text(max_size=200))
async def test_any_mention_in_a_group_is_well_formed(
    bot: Harness, errors: Errors, alice: Json, text: str
) -> None:
    # a new group each time: Telegram's (and the rate limiter's) 20 messages a minute are per group
    _, calls = await bot.say(new_group(), alice, f"@{BOT_USERNAME} {text}")
    assert_well_formed(calls)
    errors.assert_none()


# ------------------------------------------------------------------------------------ not text at all
PHOTO = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
MEDIA: dict[str, Json] = {
    "photo": {"photo": PHOTO},
    "photo with caption": {"photo": PHOTO, "caption": "<b>why</b> does my back hurt?"},
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "u2",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    },
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
    "document": {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "../../etc/passwd"}},
    "location": {"location": {"latitude": 51.5, "longitude": -0.1}},
    "contact": {"contact": {"phone_number": "+100", "first_name": "Zed"}},
    "poll": {
        "poll": {
            "id": "poll1",
            "question": "Leg day?",
            "options": [
                {"text": "yes", "voter_count": 0, "persistent_id": "1"},
                {"text": "no", "voter_count": 0, "persistent_id": "2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    },
    "dice": {"dice": {"emoji": "🎲", "value": 3}},
}


async def test_media_in_private_gets_i_only_read_text_and_in_a_group_nothing(
    bot: Harness, errors: Errors, dm: Json, group: Json, alice: Json
) -> None:
    for kind, media in MEDIA.items():
        _, calls = await bot.say(dm, alice, None, **media)
        assert [c.text for c in sent(calls)] == [ONLY_TEXT], kind
        assert_well_formed(calls)
        _, calls = await bot.say(group, alice, None, **media)
        assert not calls, kind


def member(person: Json, status: str) -> Json:
    return {"user": person, "status": status, **({"until_date": 0} if status == "kicked" else {})}


def membership(chat: Json, actor: Json, old: str, new: str, who: Json | None = None) -> Json:
    subject = who or {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Leg Press Helper",
        "username": BOT_USERNAME,
    }
    return {
        "chat": chat,
        "from": actor,
        "date": 0,
        "old_chat_member": member(subject, old),
        "new_chat_member": member(subject, new),
    }


def channel() -> Json:
    return {"id": -1009999, "type": "channel", "title": "Leg day news"}


async def test_updates_that_are_not_messages_to_answer_get_nothing(
    bot: Harness, errors: Errors, fake: FakeTelegram, group: Json, alice: Json, bob: Json, dm: Json
) -> None:
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Leg Press Helper", "username": BOT_USERNAME}
    news = channel()
    post = {"message_id": 1, "date": 0, "chat": news, "text": "why does my back hurt on the leg press?"}
    service = {"message_id": 99, "date": 0, "chat": group, "from": alice}
    quiet: list[Json] = [
        {"my_chat_member": membership(group, alice, "left", "member")},  # the bot added to a group
        {"my_chat_member": membership(group, alice, "member", "left")},  # ... and removed
        {"my_chat_member": membership(private_chat(alice), alice, "member", "kicked")},  # blocked
        {"chat_member": membership(group, alice, "left", "member", who=bob)},
        {"message": {**service, "new_chat_members": [bob, bot_user]}},
        {"message": {**service, "message_id": 100, "left_chat_member": bob}},
        {"message": {**service, "message_id": 101, "left_chat_member": bot_user}},
        {"message": {**service, "message_id": 102, "new_chat_title": "<b>Leg</b> day"}},
        {"message": {**service, "message_id": 103, "pinned_message": {**service, "message_id": 7}}},
        {"channel_post": post},
        {"edited_channel_post": {**post, "text": "/causes", "edit_date": 1}},
        {"edited_message": fake.edited(fake.message(dm, alice, "hello"), "never answered")},
        {"edited_message": {**fake.message(dm, alice, None, photo=PHOTO), "edit_date": 1, "caption": "x"}},
        {"poll": MEDIA["poll"]["poll"]},
        {
            "poll_answer": {
                "poll_id": "poll1",
                "user": alice,
                "option_ids": [0],
                "option_persistent_ids": ["1"],
            }
        },
        {
            "chat_join_request": {"chat": group, "from": bob, "user_chat_id": bob["id"], "date": 0},
        },
        {"message": {"message_id": 104, "date": 0, "chat": group, "sender_chat": news, "text": "hi"}},
    ]
    for update in quiet:
        calls = await bot.push(**update)
        assert not sent(calls), update
    # and the bot still answers afterwards
    _, calls = await bot.say(dm, alice, "/help")
    assert len(sent(calls)) == 1


async def test_an_anonymous_admin_mentioning_the_bot_is_answered(
    bot: Harness, errors: Errors, fake: FakeTelegram, group: Json
) -> None:
    """Sent on behalf of the group (no person to keep state for): an answer, no error."""
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    _, calls = await bot.say(
        group, anonymous, f"@{BOT_USERNAME} why does my back hurt on the leg press?", sender_chat=group
    )
    assert_well_formed(calls)
    assert sent(calls)
    news = channel()
    _, calls = await bot.say(group, anonymous, f"@{BOT_USERNAME} /causes", sender_chat=news)
    assert_well_formed(calls)


# ------------------------------------------------------------------------------------------- buttons
def answered_once(calls: list[Call]) -> Call:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1, [c.method for c in calls]
    return answers[0]


@EXAMPLES
@given(
    data=st.one_of(
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        st.text(max_size=64),
        st.from_regex(r"[eclq]:[^\n]{0,60}", fullmatch=True),
    )
)
async def test_any_button_data_is_answered(
    bot: Harness, errors: Errors, fake: FakeTelegram, dm: Json, alice: Json, data: str
) -> None:
    shown = fake.message(dm, {**fake.bot_user}, "<b>Common causes</b>")
    calls = await bot.press(alice, shown, data)
    answered_once(calls)
    assert_well_formed(calls)
    errors.assert_none()


STALE = [
    "",
    "e:no-such-entry",
    "e:../../etc/passwd",
    "e:why-back-hurts/../../x",
    "c:../x",
    "l:nothing",
    "q:",
    "q:::",
    "q:abcdef:1:yes",
    "q:abcdef:cancel",
    "q:" + "z" * 62,
    "entry:tight-hamstrings",  # an older, unprefixed style
    "tight-hamstrings",
    "v0|e|tight-hamstrings",
    '{"e": "x"}',
    "\x00\x01",
]


async def test_stale_forged_and_old_buttons_are_answered(
    bot: Harness, errors: Errors, fake: FakeTelegram, dm: Json, alice: Json
) -> None:
    shown = fake.message(dm, {**fake.bot_user}, "<b>Common causes</b>")
    for data in STALE:
        calls = await bot.press(alice, shown, data)
        answered_once(calls)
        assert_well_formed(calls)


async def test_a_press_without_data_is_answered(
    bot: Harness, errors: Errors, fake: FakeTelegram, dm: Json, alice: Json
) -> None:
    """A game button carries no data at all."""
    shown = fake.message(dm, {**fake.bot_user}, "<b>Common causes</b>")
    query = fake.callback_query(alice, shown, "")
    del query["data"]
    query["game_short_name"] = "legday"
    answered_once(await bot.push(callback_query=query))


async def test_another_checks_steps_and_other_peoples_buttons_are_answered(
    bot: Harness, errors: Errors, fake: FakeTelegram, dm: Json, alice: Json, bob: Json, group: Json
) -> None:
    _, calls = await bot.say(dm, alice, "/check")
    question = sent(calls)[-1]
    steps = [b["callback_data"] for b in question.buttons if "callback_data" in b]
    assert steps, "the check asks with buttons"
    shown = bot.message_of(question)
    # the same step with another run's id, and another question's number
    run = steps[0].split(":")[1]
    for data in (steps[0].replace(run, "zzzzzz"), steps[0].replace(":1:", ":9:"), steps[0] + ":extra"):
        calls = await bot.press(alice, shown, data)
        answered_once(calls)
        assert_well_formed(calls)
    # Alice's check buttons pressed by Bob, in his own chat and in a group
    bobs_dm = private_chat(bob)
    elsewhere = fake.message(bobs_dm, {**fake.bot_user}, "<b>Question 1</b>")
    for data in steps:
        answered_once(await bot.press(bob, elsewhere, data))
    _, calls = await bot.say(group, alice, "/causes")
    listed = bot.message_of(sent(calls)[0])
    for data in [*steps, *(b["callback_data"] for b in sent(calls)[0].buttons)]:
        calls = await bot.press(bob, listed, data)
        answered_once(calls)
        assert_well_formed(calls)
    # and Alice's own check is still where she left it
    calls = await bot.press(alice, shown, steps[0])
    answered_once(calls)
    assert "ended" not in str(answered_once(calls).params.get("text", "")).lower()


async def test_a_button_in_a_supergroup_from_a_stranger_with_no_username(
    bot: Harness, errors: Errors, fake: FakeTelegram
) -> None:
    chat = group_chat(-1001111111111, "\u202eevil ‮ title <b>", "supergroup")
    stranger = user(5005, "\u0000<i>")
    _, calls = await bot.say(chat, stranger, f"@{BOT_USERNAME} what is a good foot position?")
    assert_well_formed(calls)
    for message in sent(calls):
        for button in message.buttons:
            if "callback_data" in button:
                calls = await bot.press(stranger, bot.message_of(message), button["callback_data"])
                answered_once(calls)
                assert_well_formed(calls)


# -------------------------------------------------------------------------------------------- inline
async def test_odd_inline_queries_are_answered(bot: Harness, errors: Errors, alice: Json) -> None:
    for query in ("", " ", "<b>", "&amp;", "x" * 256, "\u202e", "👍🏿" * 20, "../../etc", "\udc80"):
        calls = await bot.inline(alice, query)
        (answer,) = [c for c in calls if c.method == "answerInlineQuery"]
        for result in answer.params["results"]:
            assert_telegram_html(result["input_message_content"]["message_text"])
