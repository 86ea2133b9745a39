"""👍/👎 under every answer, end to end: the votes and what was missing land in the question log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import Harness
from fakebot import BOT_USERNAME, Call, FakeTelegram, Json, sent

from bot.content.model import KnowledgeBase
from bot.core.dialogue import Dialogue
from bot.core.events import Voted
from bot.core.wording import FEEDBACK_ASK, FEEDBACK_ASK_TEXT, FEEDBACK_NOTED, FEEDBACK_THANKS
from bot.replies import MAX_CALLBACK_BYTES
from bot.telegram.recording import MISSING
from bot.terminal import FEEDBACK_PROMPT, TerminalChat

BELT = "Do I need a belt for the leg press?"  # answered with confidence by back-support
EXPIRED = "This button has expired"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The database of the `bot` fixture, which keeps its data in tmp_path/data."""
    return tmp_path / "data" / "bot.sqlite3"


def notice(calls: list[Call]) -> str | None:
    (answered,) = [c for c in calls if c.method == "answerCallbackQuery"]
    text = answered.params.get("text")
    return str(text) if text is not None else None


async def ask(bot: Harness, chat: Json, sender: Json, text: str) -> Json:
    """Ask, and return the bot's answer as stored by the fake server (to press its buttons)."""
    _, calls = await bot.say(chat, sender, text)
    (answer,) = sent(calls)
    return bot.message_of(answer)


def feedback_row(message: Json) -> list[Json]:
    return list(message["reply_markup"]["inline_keyboard"][-1])


# ---------------------------------------------------------------------------------------------- core
def test_every_answer_ends_with_thumbs_that_fit_in_callback_data(
    kb: KnowledgeBase, dialogue: Dialogue
) -> None:
    for entry in kb.entries:
        for chat in ("private", "group"):
            reply = dialogue.entry_reply(entry, chat)  # type: ignore[arg-type]
            last = reply.buttons[-1]
            assert [(b.label, b.data) for b in last] == [("👍", f"f:+:{entry.id}"), ("👎", f"f:-:{entry.id}")]
            for row in reply.buttons:
                for b in row:
                    assert b.data is None or len(b.data.encode()) <= MAX_CALLBACK_BYTES


def test_core_thanks_for_votes_keeps_the_check_and_expires_votes_on_removed_entries(
    dialogue: Dialogue,
) -> None:
    state = dialogue.on_command("check", "", None, "private", 1000.0, "abc123").state
    assert state is not None
    up = dialogue.on_button("f:+:back-support", state, "private", 1001.0)
    assert (up.notice, up.replies, up.state, up.events) == (
        FEEDBACK_THANKS,
        (),
        state,
        (Voted("back-support", True),),
    )
    down = dialogue.on_button("f:-:back-support", state, "private", 1001.0)
    (ask,) = down.replies
    assert ask.text == FEEDBACK_ASK_TEXT and FEEDBACK_ASK in ask.tags and down.state == state
    assert down.events == (Voted("back-support", False),)
    for data in ("f:+:no-such-entry", "f:?:back-support", "f:"):
        stale = dialogue.on_button(data, state, "private", 1001.0)
        assert stale.notice is not None and stale.notice.startswith(EXPIRED) and stale.state == state
    noted = dialogue.on_feedback_text("back-support", state)
    assert [r.text for r in noted.replies] == [FEEDBACK_NOTED] and noted.state == state


def test_the_terminal_chat_shows_the_thumbs_as_numbered_choices(dialogue: Dialogue) -> None:
    out = io.StringIO()
    chat = TerminalChat(dialogue, out)
    chat.handle(BELT)
    labels = [b.label for b in chat.choices]
    assert labels[-2:] == ["👍", "👎"]
    chat.handle(str(len(labels) - 1))
    assert f"({FEEDBACK_THANKS})" in out.getvalue()
    chat.handle(str(len(labels)))
    assert FEEDBACK_PROMPT in out.getvalue()  # the terminal's own words: there is no message to reply to
    assert "Reply to this message" not in out.getvalue()
    chat.handle("how long to wear it")
    assert FEEDBACK_NOTED in out.getvalue(), "the next line is the feedback, not a question"


# ------------------------------------------------------------------------------------------ Telegram
async def test_thumbs_up_is_recorded_with_the_question_it_answered(
    bot: Harness, db: Path, dm: Json, alice: Json
) -> None:
    answer = await ask(bot, dm, alice, BELT)
    up, down = feedback_row(answer)
    assert (up["text"], up["callback_data"], down["callback_data"]) == (
        "👍",
        "f:+:back-support",
        "f:-:back-support",
    )
    calls = await bot.press(alice, answer, up["callback_data"])
    assert notice(calls) == FEEDBACK_THANKS and not sent(calls)
    (question,) = await bot.question_log("analytics_questions")
    (vote,) = await bot.question_log("analytics_feedback")
    assert (vote["question_id"], vote["entry_id"], vote["positive"], vote["missing"]) == (
        question["id"],
        "back-support",
        1,
        None,
    )
    assert vote["user_hash"] == question["user_hash"]

    await bot.press(alice, answer, up["callback_data"])  # pressing again changes nothing
    await bot.press(alice, answer, down["callback_data"])  # a change of mind replaces the vote
    (vote,) = await bot.question_log("analytics_feedback")
    assert vote["positive"] == 0


async def test_thumbs_down_asks_what_was_missing_and_the_reply_is_stored_not_answered(
    bot: Harness, db: Path, dm: Json, alice: Json
) -> None:
    answer = await ask(bot, dm, alice, BELT)
    _, down = feedback_row(answer)
    calls = await bot.press(alice, answer, down["callback_data"])
    assert notice(calls) == FEEDBACK_THANKS
    (prompt,) = sent(calls)
    assert prompt.text == FEEDBACK_ASK_TEXT
    assert prompt.params["reply_markup"].get("force_reply") is True  # the app opens the reply box
    prompt_message = bot.message_of(prompt)

    _, calls = await bot.say(dm, alice, "how tight should <b>the belt</b> be?", reply_to=prompt_message)
    (thanks,) = sent(calls)
    assert thanks.text == FEEDBACK_NOTED
    (question,) = await bot.question_log("analytics_questions")  # the reply was not matched as a new question
    (vote,) = await bot.question_log("analytics_feedback")
    assert (vote["question_id"], vote["positive"], vote["missing"]) == (
        question["id"],
        0,
        "how tight should <b>the belt</b> be?",
    )
    assert not bot.app.user_data[alice["id"]][MISSING], "a prompt is answered once"

    # a second reply to the same prompt is an ordinary question again
    _, calls = await bot.say(dm, alice, BELT, reply_to=prompt_message)
    assert sent(calls)[0].text.startswith("<b>")
    assert len(await bot.question_log("analytics_questions")) == 2


async def test_a_vote_on_an_entry_opened_from_a_list_is_stored_with_the_entry_alone(
    bot: Harness, db: Path, dm: Json, alice: Json
) -> None:
    _, calls = await bot.say(dm, alice, "/fixes")
    listing = bot.message_of(sent(calls)[0])
    calls = await bot.press(alice, listing, "e:back-support")
    opened = bot.message_of(sent(calls)[0])
    up, _ = feedback_row(opened)
    await bot.press(alice, opened, up["callback_data"])
    (vote,) = await bot.question_log("analytics_feedback")
    assert (vote["question_id"], vote["entry_id"], vote["positive"]) == (None, "back-support", 1)
    assert await bot.question_log("analytics_questions") == []


async def test_in_a_group_only_the_person_who_voted_down_is_asked(
    bot: Harness, db: Path, group: Json, alice: Json, bob: Json
) -> None:
    answer = await ask(bot, group, alice, f"@{BOT_USERNAME} {BELT}")
    _, down = feedback_row(answer)
    calls = await bot.press(alice, answer, down["callback_data"])
    (prompt,) = sent(calls)
    assert prompt.quoted == answer["message_id"] and "force_reply" not in (
        prompt.params.get("reply_markup") or {}
    )
    prompt_message = bot.message_of(prompt)

    _, calls = await bot.say(group, bob, "do I need a belt?", reply_to=prompt_message)
    assert sent(calls)[0].text != FEEDBACK_NOTED, "Bob was not asked: his reply is a question"
    _, calls = await bot.say(group, alice, "which belt to buy", reply_to=prompt_message)
    (thanks,) = sent(calls)
    assert thanks.text == FEEDBACK_NOTED and thanks.quoted is not None
    questions = await bot.question_log("analytics_questions")
    (vote,) = await bot.question_log("analytics_feedback")
    assert [q["text"] for q in questions] == [BELT, "do I need a belt?"]
    assert (vote["question_id"], vote["missing"]) == (questions[0]["id"], "which belt to buy")


async def test_a_thumbs_down_on_an_inline_message_leaves_the_message_alone(
    bot: Harness, db: Path, fake: FakeTelegram, alice: Json
) -> None:
    calls = await bot.press(alice, None, "f:-:back-support", inline_message_id="inline-1")
    assert notice(calls) == FEEDBACK_THANKS
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    (vote,) = await bot.question_log("analytics_feedback")
    assert (vote["entry_id"], vote["positive"]) == ("back-support", 0)
