"""A person in a private chat with the bot, end to end through the fake Bot API."""

from __future__ import annotations

import pytest
from conftest import Harness
from fakebot import BOT_USERNAME, FakeTelegram, Json, only_message, sent, sticker

from bot.content.model import KnowledgeBase
from bot.core.dialogue import Dialogue
from bot.core.matching import Match, Matcher
from bot.core.ranking import Candidate
from bot.core.safety import detector_for
from bot.core.wording import COMMAND_MENU
from bot.replies import MAX_CALLBACK_BYTES, MAX_MESSAGE_CHARS, Reply
from bot.telegram.checks import load_state

EXPIRED = "This button has expired"


def labels(reply: Reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row]


def confident(dialogue: Dialogue, question: str) -> Match:
    m = dialogue.matcher.match(question)
    assert m.band == "confident" and m.entry is not None, (
        f"{question!r} is no longer answered with confidence"
    )
    return m


async def test_start_registers_command_menu_for_private_chats_and_groups(
    bot: Harness, fake: FakeTelegram
) -> None:
    menu = [{"command": c, "description": d} for c, d in COMMAND_MENU]
    assert fake.commands["all_private_chats"] == menu
    assert fake.commands["all_group_chats"] == menu


async def test_confident_question_gets_the_answer_with_related_buttons(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    question = "Do I need a belt for the leg press?"
    m = confident(dialogue, question)
    _, calls = await bot.say(dm, alice, question)
    answer = only_message(calls)
    expected = dialogue.entry_reply(m.entry)  # type: ignore[arg-type]
    assert answer.text == expected.text
    assert answer.text.startswith(f"<b>{m.entry.title}</b>")  # type: ignore[union-attr]
    assert answer.params["parse_mode"] == "HTML"
    assert answer.button_labels == labels(expected)
    related = [f"e:{r}" for r in m.entry.related]  # type: ignore[union-attr]
    assert [b.get("callback_data") for b in answer.buttons][: len(related)] == related
    assert answer.quoted is None  # private chats need no quoting


async def test_html_in_a_question_is_never_rendered(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, "<b>hi</b> & <script>")
    assert "<script>" not in only_message(calls).text


async def test_off_topic_question_gets_a_friendly_reply_with_the_menu(
    bot: Harness, dm: Json, alice: Json
) -> None:
    _, calls = await bot.say(dm, alice, "what's the weather like in Paris tomorrow?")
    reply = only_message(calls)
    assert "/causes" in reply.text and "/fixes" in reply.text and "/faq" in reply.text
    assert reply.button_labels == ["Causes", "Fixes", "FAQ"]


class _UnsureAbout(Matcher):
    """The real matcher, except that one question is ambiguous between two entries."""

    def __init__(self, kb: KnowledgeBase, question: str, first: str, second: str) -> None:
        super().__init__(kb)
        self.question, self.first, self.second = question, kb.get(first), kb.get(second)

    def match(self, text: str) -> Match:
        if text != self.question or self.first is None or self.second is None:
            return super().match(text)
        return Match("unsure", self.first, 42.0, (Candidate(self.second, 40.0),))


@pytest.fixture
def dialogue(kb: KnowledgeBase) -> Dialogue:
    return Dialogue(
        kb, _UnsureAbout(kb, "hamstrings or form?", "tight-hamstrings", "improve-form"), detector_for(kb)
    )


async def test_unsure_question_offers_did_you_mean_buttons_that_open_the_entry(
    bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase, dialogue: Dialogue
) -> None:
    _, calls = await bot.say(dm, alice, "hamstrings or form?")
    reply = only_message(calls)
    assert reply.text.startswith("I'm not sure I understood. Did you mean")
    assert [b["callback_data"] for b in reply.buttons] == ["e:tight-hamstrings", "e:improve-form"]

    calls = await bot.press(alice, bot.message_of(reply), "e:improve-form")
    entry = kb.get("improve-form")
    assert entry is not None
    assert only_message(calls).text == dialogue.entry_reply(entry).text
    assert [c.method for c in calls].count("answerCallbackQuery") == 1


@pytest.mark.parametrize(
    ("command", "kind", "count"), [("/causes", "cause", 5), ("/fixes", "fix", 6), ("/faq", "faq", 5)]
)
async def test_list_commands_show_every_entry_of_their_kind_as_buttons(
    bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase, command: str, kind: str, count: int
) -> None:
    _, calls = await bot.say(dm, alice, command)
    reply = only_message(calls)
    assert len(reply.buttons) == count
    assert [b["callback_data"] for b in reply.buttons] == [f"e:{e.id}" for e in kb.of_kind(kind)]


async def test_tapping_a_cause_shows_it_with_its_fixes(
    bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase
) -> None:
    _, calls = await bot.say(dm, alice, "/causes")
    listing = bot.message_of(only_message(calls))
    calls = await bot.press(alice, listing, "e:tight-hamstrings")
    answer = only_message(calls)
    assert answer.text.startswith("<b>Cause: tight hamstrings</b>")
    assert "Fix: Stretch your hamstrings" in answer.button_labels
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answered) == 1

    calls = await bot.press(alice, bot.message_of(answer), "e:stretch-hamstrings")
    assert only_message(calls).text.startswith("<b>Fix: stretch your hamstrings</b>")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/start", "Hi! I'm <b>Leg Press Back Helper</b>"),
        ("/help", "Ask me anything about lower-back pain on the leg press"),
        ("/about", 'Source: <a href="https://danieldigitaldiary.com/why-leg-press-hurts-lower-back">'),
        ("/cancel", "Nothing to cancel"),
        ("/frobnicate", "I don't know that command"),
        (f"/help@{BOT_USERNAME}", "Ask me anything about lower-back pain on the leg press"),
    ],
)
async def test_commands(bot: Harness, dm: Json, alice: Json, command: str, expected: str) -> None:
    _, calls = await bot.say(dm, alice, command)
    assert expected in only_message(calls).text


async def test_check_in_private_answers_with_the_check(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    _, calls = await bot.say(dm, alice, "/check")
    expected = dialogue.on_command("check", "", None, "private", 0.0, "run")
    assert only_message(calls).text == expected.replies[0].text


async def test_start_with_an_entry_payload_opens_that_entry(
    bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase
) -> None:
    _, calls = await bot.say(dm, alice, "/start herniated-disc")
    assert only_message(calls).text.startswith("<b>Cause: herniated disc</b>")


async def test_start_with_an_unknown_payload_falls_back_to_the_welcome(
    bot: Harness, dm: Json, alice: Json
) -> None:
    _, calls = await bot.say(dm, alice, "/start no-such-entry")
    assert "Hi! I'm" in only_message(calls).text


async def test_start_check_payload_starts_the_check(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    _, calls = await bot.say(dm, alice, "/start check-tight-hamstrings")
    expected = dialogue.on_command("start", "check-tight-hamstrings", None, "private", 0.0, "run")
    assert only_message(calls).text == expected.replies[0].text


@pytest.mark.parametrize("data", ["e:no-such-entry", "zz:whatever", "", "q:old-run:3:1", "c:gone"])
async def test_stale_or_unknown_buttons_are_answered_as_expired(
    bot: Harness, dm: Json, alice: Json, data: str
) -> None:
    _, calls = await bot.say(dm, alice, "/causes")
    calls = await bot.press(alice, bot.message_of(only_message(calls)), data)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1
    assert answers[0].params["text"].startswith(EXPIRED) or data.startswith("q:")
    assert not sent(calls)


async def test_button_on_a_message_too_old_to_read_still_gets_an_answer(
    bot: Harness, dm: Json, alice: Json
) -> None:
    inaccessible = {"chat": dm, "message_id": 1, "date": 0}
    calls = await bot.press(alice, inaccessible, "e:incorrect-form")
    assert [c.method for c in calls].count("answerCallbackQuery") == 1
    assert only_message(calls).text.startswith("<b>Cause: incorrect form</b>")


async def test_menu_buttons_list_entries(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, "/start")
    calls = await bot.press(alice, bot.message_of(only_message(calls)), "l:fix")
    assert only_message(calls).text.startswith("<b>Fixes</b>")


async def test_non_text_messages_get_a_short_reply(bot: Harness, dm: Json, alice: Json) -> None:
    _, calls = await bot.say(dm, alice, None, sticker=sticker())
    assert "only read text" in only_message(calls).text


async def test_editing_a_question_edits_the_answer(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    question, _ = await bot.say(dm, alice, "what is the weather like?")
    answer_id = max(k[1] for k in bot.fake.messages if k[0] == dm["id"])
    m = confident(dialogue, "how often should I stretch my hamstrings?")
    calls = await bot.edit(question, "how often should I stretch my hamstrings?")
    assert not sent(calls)
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == answer_id
    assert edit.text == dialogue.entry_reply(m.entry).text  # type: ignore[arg-type]
    assert bot.fake.bot_message(dm["id"], answer_id)["text"] == edit.text


async def test_editing_a_message_without_changing_the_answer_is_quietly_fine(
    bot: Harness, dm: Json, alice: Json
) -> None:
    question, _ = await bot.say(dm, alice, "/causes")
    calls = await bot.edit(question, "/causes")
    assert [c.method for c in calls] == ["editMessageText"]  # "not modified": no error, nothing else
    _, calls = await bot.say(dm, alice, "/faq")
    assert len(sent(calls)) == 1


async def test_a_red_flag_is_answered_urgently(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    question = "since the leg press I can't control my bladder and my legs are numb"
    outcome = dialogue.on_text(question, None)
    if not outcome.urgent:
        pytest.skip("no red flag detector in this knowledge base")
    _, calls = await bot.say(dm, alice, question)
    assert [c.text for c in sent(calls)] == [r.text for r in outcome.replies]


async def test_a_failed_send_is_logged_and_the_bot_keeps_answering(
    bot: Harness, dm: Json, alice: Json, caplog: pytest.LogCaptureFixture
) -> None:
    bot.fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await bot.say(dm, alice, "/help")
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name == "bot.telegram"]
    assert errors and errors[0].getMessage() == f"Error while handling message in chat {dm['id']}"
    _, calls = await bot.say(dm, alice, "/help")
    assert "Ask me anything" in only_message(calls).text


def test_every_reply_fits_telegram_limits(dialogue: Dialogue, kb: KnowledgeBase) -> None:
    replies = [dialogue.entry_reply(e, chat) for e in kb.entries for chat in ("private", "group")]  # type: ignore[arg-type]
    for name, _ in COMMAND_MENU:
        replies += dialogue.on_command(name, "", None, "private", 0.0, "abcdef").replies
    replies.append(Reply("x" * 10_000))
    for reply in replies:
        assert len(reply.text) <= MAX_MESSAGE_CHARS
        for row in reply.buttons:
            for b in row:
                assert b.data is None or len(b.data.encode()) <= MAX_CALLBACK_BYTES


def check_options(message: Json) -> list[str]:
    """The answers a person can tap in a check step, "none of these" first (the safe path through)."""
    data = [
        b.get("callback_data", "")
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]
    answers = [d for d in data if d.startswith("q:") and not d.endswith(("back", "cancel"))]
    return sorted(answers, key=lambda d: not d.endswith("none"))


async def test_the_check_runs_on_buttons_and_edits_in_place(
    bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase
) -> None:
    if kb.questionnaire is None:
        pytest.skip("no questionnaire in this knowledge base")
    _, calls = await bot.say(dm, alice, "/check")
    message = bot.message_of(only_message(calls))
    for _ in range(20):
        options = check_options(message)
        if not options:
            break
        calls = await bot.press(alice, message, options[0])
        assert [c.method for c in calls].count("answerCallbackQuery") == 1
        edits = [c for c in calls if c.method == "editMessageText"]
        if edits:
            assert edits[0].params["message_id"] == message["message_id"]
            message = bot.fake.bot_message(dm["id"], message["message_id"])
        else:
            message = bot.message_of(sent(calls)[-1])
    else:
        raise AssertionError("the check never finished")
    # a button of a run that is not the current one is answered, never an error
    calls = await bot.press(alice, message, options[0] if options else "q:zzzzzz:1:none")
    assert [c.method for c in calls].count("answerCallbackQuery") == 1


async def test_cancel_stops_an_open_check(bot: Harness, dm: Json, alice: Json, kb: KnowledgeBase) -> None:
    if kb.questionnaire is None:
        pytest.skip("no questionnaire in this knowledge base")
    await bot.say(dm, alice, "/check")
    assert load_state(bot.app.user_data[alice["id"]], str(dm["id"])) is not None
    _, calls = await bot.say(dm, alice, "/cancel")
    assert "Nothing to cancel" not in only_message(calls).text
    assert load_state(bot.app.user_data[alice["id"]], str(dm["id"])) is None
