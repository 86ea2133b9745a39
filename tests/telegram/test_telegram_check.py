"""The quick check on Telegram, end to end through the fake Bot API: what a person sees at every step.

Each check message is one message edited in place; the tests tap its buttons by their labels and read the
message back from the fake server, as a person's app would show it. Time is the bot's injected clock, so
"30 minutes later" is one line and no test waits for real time.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botprocess import BotProcess
from conftest import Clock, Harness, knowledge, settings_for, start_bot, stop_bot
from fakebot import BOT_USERNAME, Call, FakeTelegram, Json, edits, private_chat, sent, user
from helpers import CAUSE_PATHS, NONE, URGENT_HEADINGS
from telegram.ext import Job
from test_telegram_process import WAIT

from bot.content.model import KnowledgeBase
from bot.core import check as qn
from bot.core.dialogue import Dialogue
from bot.replies import to_plain
from bot.telegram.checks import job_name, load_state

MINUTE = 60.0
ENDED = "This check has ended."
EXPIRED_NOTE = "Your quick check closed after 30 minutes without an answer."

KB = knowledge()
Q: qn.Questionnaire = KB.questionnaire  # type: ignore[assignment]


@pytest.fixture
async def bot(fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock) -> AsyncIterator[Harness]:
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue, clock)
    yield harness
    await stop_bot(harness)


# ------------------------------------------------------------------------------------------ helpers


def labels_of(message: Json) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def button_of(message: Json, label: str) -> Json:
    markup = message.get("reply_markup") or {}
    found = [b for row in markup.get("inline_keyboard", []) for b in row if b["text"] == label]
    assert found, f"no button {label!r}; buttons: {labels_of(message)}"
    return found[0]


def deep_link_payload(button: Json) -> str:
    url = urlsplit(button["url"])
    assert (url.netloc, url.path) == ("t.me", f"/{BOT_USERNAME}")
    (payload,) = parse_qs(url.query)["start"]
    return payload


def label(qid: str, option_id: str) -> str:
    question = Q.question(qid)
    option = question.option(option_id) if question is not None else None
    assert option is not None
    return option.label


def neutral(qid: str) -> str:
    """The first answer to a question that is not a warning sign."""
    question = Q.question(qid)
    assert question is not None
    return next(o.label for o in question.options if o.red_flag is None)


class Person:
    """One person in one chat: sends messages, taps buttons by label, and sees the message they tap on."""

    def __init__(self, bot: Harness, chat: Json, who: Json) -> None:
        self.bot, self.chat, self.who = bot, chat, who
        self.message: Json = {}  # the last message the bot sent or edited for this person
        self.calls: list[Call] = []

    async def say(self, text: str) -> list[Call]:
        _, self.calls = await self.bot.say(self.chat, self.who, text)
        if sent(self.calls):
            self.message = self.bot.message_of(sent(self.calls)[-1])
        return self.calls

    async def press(self, data: str, on: Json | None = None) -> list[Call]:
        message = self.message if on is None else on
        self.calls = await self.bot.press(self.who, message, data)
        assert [c.method for c in self.calls].count("answerCallbackQuery") == 1, "every press is answered"
        for call in edits(self.calls):
            assert call.chat_id == self.chat["id"]
            self.message = self.bot.fake.bot_message(self.chat["id"], int(call.params["message_id"]))
        if sent(self.calls):
            self.message = self.bot.message_of(sent(self.calls)[-1])
        return self.calls

    async def tap(self, text: str, on: Json | None = None) -> list[Call]:
        data = button_of(self.message if on is None else on, text)["callback_data"]
        return await self.press(data, on)

    async def answer(self, *texts: str) -> None:
        for text in texts:
            await self.tap(text)

    def notice(self) -> str | None:
        (answered,) = [c for c in self.calls if c.method == "answerCallbackQuery"]
        text = answered.params.get("text")
        return str(text) if text is not None else None

    def text(self) -> str:
        return to_plain(str(self.message.get("text", "")))

    def labels(self) -> list[str]:
        return labels_of(self.message)

    def state(self) -> qn.CheckState | None:
        return load_state(self.bot.app.user_data.get(self.who["id"]), str(self.chat["id"]))

    def timers(self) -> tuple[Job[Any], ...]:
        queue = self.bot.app.job_queue
        assert queue is not None
        return tuple(queue.get_jobs_by_name(job_name(self.who["id"], self.chat["id"])))


@pytest.fixture
def me(bot: Harness, dm: Json, alice: Json) -> Person:
    return Person(bot, dm, alice)


def top_cause(text: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith("1. "))
    return line[3:].split(" (")[0]


async def check(person: Person, command: str = "/check") -> Json:
    calls = await person.say(command)
    assert len(sent(calls)) == 1 and "Quick check · 1/" in person.text()
    return person.message


# --------------------------------------------------------------------------- one message, edited in place
async def test_each_step_edits_the_same_message_and_shows_progress(me: Person) -> None:
    first = await check(me)
    total = len(Q.plan(None))
    assert f"Quick check · 1/{total}" in me.text() and "do you have any of these?" in me.text()
    assert me.labels()[-2:] == ["« Back", "✖ Cancel"]
    path = [
        NONE,
        NONE,
        "During the set",
        "Stays flat on the seat",
        "Twice a week or more",
        "Neither, or never checked",
    ]
    for n, answer in enumerate(path, 2):
        calls = await me.tap(answer)
        assert not sent(calls), "an answer never sends a new message"
        (edit,) = edits(calls)
        assert edit.params["message_id"] == first["message_id"]
        assert f"Quick check · {n}/{total}" in me.text()
        assert me.labels()[-2:] == ["« Back", "✖ Cancel"], "Back and Cancel on every step"
    assert "Does the pain travel from your back down a leg?" in me.text()
    calls = await me.tap("No, it stays in my back")
    (edit,) = edits(calls)
    assert edit.params["message_id"] == first["message_id"] and not sent(calls)
    assert "Quick check ·" not in me.text() and "Back" not in " ".join(me.labels())


# ---------------------------------------------------------------------------------------------- results


@pytest.mark.parametrize("cause", sorted(CAUSE_PATHS))
async def test_each_cause_can_come_out_on_top(me: Person, kb: KnowledgeBase, cause: str) -> None:
    await check(me)
    await me.answer(*CAUSE_PATHS[cause])
    text = me.text()
    assert text.startswith("Your check: what most likely fits")
    assert top_cause(text) == cause
    assert "Your plan" in text and kb.meta.disclaimer in text
    entry = next(e for e in kb.of_kind("cause") if e.button_label == cause)
    result = Q.cause(entry.id)
    assert result is not None and result.plan in text
    fixes = [kb.get(f) for f in result.fixes]
    assert all(f is not None and f.button_label in me.labels() for f in fixes), "its fixes are buttons"
    assert "Take the check again" in me.labels()
    assert me.state() is None and me.timers() == ()

    fix = fixes[0]
    assert fix is not None
    calls = await me.tap(fix.button_label)
    (opened,) = sent(calls)
    assert opened.text.startswith(f"<b>{fix.title}</b>"), "a fix button opens the fix as a new message"


async def test_a_tie_names_both_causes_in_the_article_order(me: Person) -> None:
    await check(me)
    await me.answer(
        NONE,
        NONE,
        "The next day",
        "Arches away from the seat",
        "Now and then",
        "Neither, or never checked",
        "No, it stays in my back",
    )
    text = me.text()
    assert top_cause(text) == "Incorrect form"
    assert "2. Muscle imbalances" in text
    assert "Incorrect form and muscle imbalances fit equally well" in text


async def test_nothing_stands_out_gives_the_general_advice(me: Person, kb: KnowledgeBase) -> None:
    await check(me)
    await me.answer(
        NONE,
        NONE,
        "The next day",
        "Stays flat on the seat",
        "Twice a week or more",
        "Neither, or never checked",
        "No, it stays in my back",
    )
    text = me.text()
    assert text.startswith("Nothing stands out")
    assert Q.general_advice in " ".join(text.split())
    assert kb.meta.disclaimer in text
    general = [kb.get(f) for f in Q.general_fixes]
    assert [e.button_label for e in general if e is not None] == me.labels()[: len(general)]
    assert me.labels()[-1] == "Take the check again"
    calls = await me.tap("Take the check again")
    assert len(sent(calls)) == 1 and "Quick check · 1/" in me.text()


# ------------------------------------------------------------------------------------------ warning signs
def _red_flag_cases() -> list[tuple[str | None, int, str, str]]:
    """(focus, position, question, option) for each warning-sign answer at each place a run can ask it."""
    cases: dict[tuple[int, str, str], str | None] = {}
    for focus in (None, *(c.id for c in Q.causes)):
        for position, qid in enumerate(Q.plan(focus)):
            question = Q.question(qid)
            assert question is not None
            for option in question.options:
                if option.red_flag is not None:
                    cases.setdefault((position, qid, option.id), focus)
    return [(focus, position, qid, oid) for (position, qid, oid), focus in cases.items()]


RED_FLAG_CASES = _red_flag_cases()


def test_the_warning_sign_cases_cover_every_red_flag_option() -> None:
    options = {(q.id, o.id) for q in Q.questions for o in q.options if o.red_flag is not None}
    assert {(qid, oid) for _, _, qid, oid in RED_FLAG_CASES} == options
    assert {p for _, p, qid, _ in RED_FLAG_CASES if qid == "legs"} == {2, 6}, "asked early and late"


@pytest.mark.parametrize(
    ("focus", "position", "qid", "option"),
    RED_FLAG_CASES,
    ids=[f"{qid}-{oid}-at-{p + 1}" for _, p, qid, oid in RED_FLAG_CASES],
)
async def test_a_warning_sign_stops_the_check_at_once(
    me: Person, kb: KnowledgeBase, focus: str | None, position: int, qid: str, option: str
) -> None:
    await check(me, f"/start check-{focus}" if focus else "/check")
    plan = Q.plan(focus)
    await me.answer(*(neutral(q) for q in plan[:position]))
    assert f"Quick check · {position + 1}/{len(plan)}" in me.text()
    question = me.message
    chosen = label(qid, option)

    calls = await me.tap(chosen)
    methods = [c.method for c in calls]
    (edit,) = edits(calls)
    (urgent,) = sent(calls)
    assert methods.index("editMessageText") < methods.index("sendMessage")
    assert to_plain(edit.text) == f"Check stopped. {chosen}: see the message below."
    assert edit.params["message_id"] == question["message_id"]
    assert not labels_of(bot_message(me, question)), "no buttons left to skip past the warning"
    sign = Q.question(qid).option(option).red_flag  # type: ignore[union-attr]
    flag = kb.red_flags.get(sign)  # type: ignore[union-attr]
    assert flag is not None
    plain = to_plain(urgent.text)
    assert plain.startswith(URGENT_HEADINGS[flag.urgency])
    assert f"You mentioned: {flag.label}." in plain and "Tell the doctor:" in plain and flag.tell in plain
    assert me.state() is None and me.timers() == ()

    # a second tap on the old keyboard (a slow phone) cannot carry on with the check
    calls = await me.tap(neutral(qid), on=question)
    assert me.notice() == ENDED and not sent(calls)
    assert me.text() == "This check has ended. Start a new one any time."
    assert me.labels() == ["Start a new check"]


def bot_message(person: Person, message: Json) -> Json:
    return person.bot.fake.bot_message(person.chat["id"], message["message_id"])


async def test_a_warning_sign_typed_mid_check_comes_first_and_ends_the_check(me: Person) -> None:
    question = await check(me)
    await me.answer(NONE, NONE, "During the set")
    calls = await me.say("cant feel my inner thighs since leg day")
    first, *_ = sent(calls)
    assert to_plain(first.text).startswith(URGENT_HEADINGS["emergency"])
    assert "still open" not in " ".join(c.text for c in sent(calls))
    assert me.state() is None and me.timers() == ()
    await me.tap("Lifts or rounds off the seat", on=bot_message(me, question))
    assert me.notice() == ENDED


async def test_a_warning_sign_in_a_private_message_is_answered_urgently_first(me: Person) -> None:
    calls = await me.say("peeing myself after the leg press, should I use a belt?")
    first = sent(calls)[0]
    assert to_plain(first.text).startswith(URGENT_HEADINGS["emergency"]), "the urgent message comes first"
    assert "bladder or bowel" in first.text


async def test_a_warning_sign_in_a_group_is_answered_urgently_for_everyone_who_asks(
    bot: Harness, supergroup: Json, alice: Json, bob: Json
) -> None:
    for person in (alice, bob):  # never shortened to "I answered this a few minutes ago"
        asked, calls = await bot.say(supergroup, person, f"@{BOT_USERNAME} peeing myself after the leg press")
        first = sent(calls)[0]
        assert to_plain(first.text).startswith(URGENT_HEADINGS["emergency"])
        assert first.quoted == asked["message_id"]


# ------------------------------------------------------------------------------------- back and cancel
async def test_back_on_the_first_question_stays_there(me: Person) -> None:
    first = await check(me)
    before = me.text()
    calls = await me.tap("« Back")
    assert me.notice() == qn.FIRST_QUESTION
    assert not sent(calls)
    assert bot_message(me, first)["text"] == first["text"] and me.text() == before
    await me.tap(NONE)
    assert "2/7" in me.text()
    await me.tap("« Back")
    assert "Quick check · 1/7" in me.text(), "Back from the second question returns to the first"


async def test_cancel_button_ends_the_check_and_its_buttons(me: Person) -> None:
    await check(me)
    await me.answer(NONE, NONE)
    step_two = dict(me.message)
    calls = await me.tap("✖ Cancel")
    assert me.notice() == "Check cancelled." and not sent(calls)
    assert me.text() == "Check cancelled. Ask me anything, or start again with /check."
    assert me.labels() == []
    assert me.state() is None and me.timers() == ()

    await me.tap("During the set", on=step_two)
    assert me.notice() == ENDED
    calls = await me.tap("Start a new check")
    assert len(sent(calls)) == 1 and "Quick check · 1/7" in me.text()


async def test_cancel_command_mid_way(me: Person) -> None:
    question = await check(me)
    await me.answer(NONE, NONE)
    calls = await me.say("/cancel")
    assert [c.text for c in sent(calls)] == ["Check cancelled. Ask me anything, or start again with /check."]
    assert me.state() is None and me.timers() == ()
    await me.tap("During the set", on=bot_message(me, question))
    assert me.notice() == ENDED
    calls = await me.say("/cancel")
    assert sent(calls)[0].text.startswith("Nothing to cancel")


# ----------------------------------------------------------------------------------------------- expiry
async def test_thirty_minutes_of_silence_closes_the_check_with_a_note(me: Person, clock: Clock) -> None:
    question = await check(me)
    await me.answer(NONE, NONE)
    (timer,) = me.timers()
    clock.advance(31)
    before = len(me.bot.fake.calls)
    await timer.run(me.bot.app)
    (note,) = sent(me.bot.fake.calls[before:])
    assert note.chat_id == me.chat["id"]
    assert note.text.startswith(EXPIRED_NOTE)
    assert note.button_labels == ["Start a new check"]
    assert me.state() is None and me.timers() == ()

    await me.tap("During the set", on=bot_message(me, question))
    assert me.notice() == ENDED


async def test_a_check_closed_by_the_timer_is_logged_as_expired(
    me: Person, clock: Clock, tmp_path: Path
) -> None:
    await check(me)
    (timer,) = me.timers()
    clock.advance(31)
    await timer.run(me.bot.app)
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "bot.sqlite3")) as conn:
        events = [row[0] for row in conn.execute("SELECT event FROM analytics_checks ORDER BY rowid")]
    assert events == ["started", "expired"]


async def test_every_step_restarts_the_thirty_minutes(me: Person, clock: Clock) -> None:
    await check(me)
    (first,) = me.timers()
    clock.advance(20)
    await me.answer(NONE, NONE)
    (second,) = me.timers()
    assert second is not first, "one timer per person and chat, moved with each step"
    clock.advance(20)  # 40 minutes after /check, 20 after the last answer
    before = len(me.bot.fake.calls)
    await second.run(me.bot.app)
    assert not sent(me.bot.fake.calls[before:]), "no note while the check is still in time"
    assert me.state() is not None
    calls = await me.tap("During the set")
    assert edits(calls) and "Quick check · 4/7" in me.text()


async def test_a_timer_of_a_replaced_check_stays_quiet(me: Person, clock: Clock) -> None:
    await check(me)
    (old,) = me.timers()
    await check(me)  # a new /check replaces the open one
    clock.advance(31)
    before = len(me.bot.fake.calls)
    await old.run(me.bot.app)
    assert not sent(me.bot.fake.calls[before:])
    (current,) = me.timers()
    await current.run(me.bot.app)
    assert sent(me.bot.fake.calls[before:])[0].text.startswith(EXPIRED_NOTE)


async def test_after_thirty_minutes_a_tap_or_a_message_gets_the_note_too(me: Person, clock: Clock) -> None:
    """However the timer went (a restart, a busy bot), the next tap or message says the check closed."""
    await check(me)
    await me.answer(NONE, NONE)
    step_two = dict(me.message)
    clock.advance(31)
    await me.tap("During the set")
    assert me.notice() == "This check expired."
    assert me.text().startswith(EXPIRED_NOTE) and me.labels() == ["Start a new check"]

    await check(me)
    clock.advance(31)
    calls = await me.say("where should my feet go on the leg press")
    answer, note = sent(calls)
    assert answer.text.startswith("<b>Fix: improve your form</b>")
    assert note.text.startswith(EXPIRED_NOTE)
    assert me.state() is None and me.timers() == ()
    await me.tap("During the set", on=step_two)
    assert me.notice() == ENDED


# ---------------------------------------------------------------------------------------------- restarts
async def test_a_restart_mid_way_continues_at_the_same_step(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock, alice: Json, dm: Json
) -> None:
    settings = settings_for(fake, tmp_path / "data")
    first = await start_bot(fake, settings, dialogue, clock)
    me = Person(first, dm, alice)
    try:
        question = await check(me)
        await me.answer(NONE, NONE, "During the set")
    finally:
        await stop_bot(first)

    clock.advance(5)
    second = await start_bot(fake, settings, dialogue, clock)
    try:
        me.bot = second
        assert len(me.timers()) == 1, "the open check's timer is back after the restart"
        calls = await me.tap("Lifts or rounds off the seat", on=bot_message(me, question))
        (edit,) = edits(calls)
        assert edit.params["message_id"] == question["message_id"]
        assert "Quick check · 5/7" in me.text()
        await me.answer("Twice a week or more", "Neither, or never checked", "No, it stays in my back")
        assert top_cause(me.text()) == "Tight hamstrings"
    finally:
        await stop_bot(second)


async def test_a_check_that_ran_out_while_the_bot_was_down_gets_its_note(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock, alice: Json, dm: Json
) -> None:
    settings = settings_for(fake, tmp_path / "data")
    first = await start_bot(fake, settings, dialogue, clock)
    me = Person(first, dm, alice)
    try:
        await check(me)
    finally:
        await stop_bot(first)

    clock.advance(45)
    second = await start_bot(fake, settings, dialogue, clock)
    try:
        me.bot = second
        (timer,) = me.timers()
        before = len(fake.calls)
        await timer.run(second.app)
        (note,) = sent(fake.calls[before:])
        assert note.chat_id == dm["id"] and note.text.startswith(EXPIRED_NOTE)
        assert me.state() is None
    finally:
        await stop_bot(second)


async def test_a_check_that_ran_out_long_before_a_restart_is_left_to_its_next_tap(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, clock: Clock, alice: Json, dm: Json
) -> None:
    settings = settings_for(fake, tmp_path / "data")
    first = await start_bot(fake, settings, dialogue, clock)
    me = Person(first, dm, alice)
    try:
        question = await check(me)
    finally:
        await stop_bot(first)

    clock.advance(3 * 24 * 60)
    second = await start_bot(fake, settings, dialogue, clock)
    try:
        me.bot = second
        assert me.timers() == (), "no note days late"
        await me.tap(NONE, on=question)
        assert me.notice() == "This check expired." and me.text().startswith(EXPIRED_NOTE)
    finally:
        await stop_bot(second)


async def test_a_check_survives_kill_9_at_the_same_step(fake: FakeTelegram, tmp_path: Path) -> None:
    alice = user(2101, "Alice")
    chat = private_chat(alice)
    first = BotProcess(fake, tmp_path / "data")
    await first.start()
    _, question = await first.ask(chat, alice, "/check")
    message = fake.bot_message(chat["id"], max(k[1] for k in fake.messages if k[0] == chat["id"]))
    assert "Quick check · 1/7" in to_plain(question.text)

    async def tap(label: str) -> Call:
        before = len(fake.calls)
        data = button_of(fake.bot_message(chat["id"], message["message_id"]), label)["callback_data"]
        await fake.push(callback_query=fake.callback_query(alice, message, data))
        return await fake.wait_for(
            lambda c: c.method == "editMessageText" and fake.calls.index(c) >= before, WAIT
        )

    assert "Quick check · 2/7" in to_plain((await tap(NONE)).text)
    assert "Quick check · 3/7" in to_plain((await tap(NONE)).text)
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = BotProcess(fake, tmp_path / "data")
    await second.start()
    try:
        edit = await tap("During the set")
        assert edit.params["message_id"] == message["message_id"]
        assert "Quick check · 4/7" in to_plain(edit.text)
    finally:
        await second.stop(signal.SIGKILL)


# ------------------------------------------------------------------------------------ free text mid-way
async def test_free_text_mid_way_is_answered_then_the_check_continues(me: Person) -> None:
    question = await check(me)
    await me.answer(NONE, NONE, "During the set")
    waiting = bot_message(me, question)
    calls = await me.say("where should my feet go on the leg press")
    answer, offer = sent(calls)
    assert answer.text.startswith("<b>Fix: improve your form</b>"), "the question is answered normally"
    assert offer.text == "Your quick check is still open at question 4/7."
    assert offer.button_labels == ["Continue the check", "Cancel the check"]
    assert not edits(calls) and bot_message(me, question) == waiting, "the check message is left as it was"

    calls = await me.tap("Continue the check")
    assert len(sent(calls)) == 1 and not edits(calls)
    resumed = me.message
    assert resumed["message_id"] > question["message_id"], "the question comes back below the answer"
    assert "Quick check · 4/7" in me.text() and "At the bottom of the rep" in me.text()
    await me.answer("Lifts or rounds off the seat", "Twice a week or more", "Neither, or never checked")
    calls = await me.tap("No, it stays in my back")
    assert edits(calls)[0].params["message_id"] == resumed["message_id"]
    assert top_cause(me.text()) == "Tight hamstrings"


async def test_cancel_from_the_open_check_note(me: Person) -> None:
    await check(me)
    await me.say("do I need a belt for the leg press?")
    await me.tap("Cancel the check")
    assert me.notice() == "Check cancelled." and me.text().startswith("Check cancelled.")
    assert me.state() is None


# ------------------------------------------------------------------------------------------ stale buttons
async def test_buttons_of_an_older_check_have_ended_and_leave_the_new_one_alone(me: Person) -> None:
    old = await check(me)
    await me.answer(NONE, NONE)
    old = bot_message(me, old)
    new = await check(me)
    current = me.state()
    await me.tap("During the set", on=old)
    assert me.notice() == ENDED
    assert me.text() == "This check has ended. Start a new one any time."
    assert me.message["message_id"] == old["message_id"], "the old message says so, the new one is untouched"
    assert me.state() == current
    assert bot_message(me, new)["text"] == new["text"]
    await me.tap(NONE, on=new)
    assert "Quick check · 2/7" in me.text()


async def test_buttons_of_a_finished_check_have_ended(me: Person) -> None:
    await check(me)
    await me.answer(NONE, NONE)
    step_two = dict(me.message)
    await me.answer(*CAUSE_PATHS["Herniated disc"][2:])
    assert top_cause(me.text()) == "Herniated disc"
    for text in ("During the set", "« Back", "✖ Cancel"):
        calls = await me.tap(text, on=step_two)
        assert me.notice() == ENDED and not sent(calls)
        assert me.labels() == ["Start a new check"]


async def test_a_second_tap_on_an_answered_question_changes_nothing(me: Person) -> None:
    first = await check(me)
    await me.answer(NONE, NONE)
    state = me.state()
    await me.tap(NONE, on=first)
    assert me.notice() == "Already answered."
    assert me.state() == state and "Quick check · 3/7" in me.text()


@pytest.mark.parametrize(
    "suffix", ["", ":", ":9:during", ":2:nope", ":2:during:extra", ":back:1", ":0:none", ":resume:now"]
)
async def test_malformed_check_buttons_are_answered_politely(me: Person, suffix: str) -> None:
    await check(me)
    await me.tap(NONE)
    state = me.state()
    assert state is not None
    calls = await me.press(f"q:{state.run}{suffix}")
    assert me.notice() == ENDED and not sent(calls)
    assert me.state() == state, "the open check is untouched"


@pytest.mark.parametrize("data", ["q:zzzzzz:1:none", "q:", "q:!!:back", "garbage", "c:no-such-entry"])
async def test_foreign_or_garbage_data_never_disturbs_an_open_check(me: Person, data: str) -> None:
    await check(me)
    state = me.state()
    calls = await me.press(data)
    assert me.notice() is not None and not sent(calls)
    assert me.state() == state


# -------------------------------------------------------------------------------------- offers and links
async def test_the_offer_after_an_answer_says_what_the_check_is_for(me: Person) -> None:
    calls = await me.say("are my tight hamstrings the reason my lower back rounds on the leg press")
    (answer,) = sent(calls)
    assert answer.text.startswith("<b>Cause: tight hamstrings</b>")
    offer = button_of(me.message, "Check if tight hamstrings are behind your pain")
    assert offer["callback_data"] == "c:tight-hamstrings"
    calls = await me.tap("Check if tight hamstrings are behind your pain")
    assert len(sent(calls)) == 1 and "Quick check · 1/7" in me.text()
    await me.answer(NONE, NONE)
    assert "Standing with straight knees, can you touch your toes?" in me.text()

    calls = await me.say("my back hurts after leg press")
    general = me.bot.message_of(sent(calls)[0])
    assert "Take the 1-minute check" in labels_of(general), "a general answer offers the general check"


@pytest.mark.parametrize(
    ("payload", "second"),
    [
        ("check", "When does your lower back hurt?"),
        ("check-tight-hamstrings", "Standing with straight knees, can you touch your toes?"),
        ("check-stretch-hamstrings", "Standing with straight knees, can you touch your toes?"),
        ("check-improve-form", "Where do your feet sit on the platform?"),
        ("check-muscle-imbalances", "How often do you train your core (planks, crunches, back extensions)?"),
        ("check-herniated-disc", "Does the pain travel from your back down a leg?"),
        ("check-spinal-stenosis", "Has a doctor ever told you that you have one of these?"),
        ("check-no-such-entry", None),
    ],
)
async def test_deep_links_open_the_check_in_private(me: Person, payload: str, second: str | None) -> None:
    calls = await me.say(f"/start {payload}")
    if second is None:
        assert sent(calls)[0].text.startswith("Hi! I'm"), "an unknown entry falls back to the welcome"
        return
    assert "Quick check · 1/7" in me.text()
    await me.answer(NONE, NONE)
    assert second in me.text()


async def test_a_group_links_each_person_to_their_own_check_in_private(
    bot: Harness, group: Json, alice: Json, bob: Json
) -> None:
    _, calls = await bot.say(group, alice, f"@{BOT_USERNAME} are my tight hamstrings why my back rounds?")
    answer = bot.message_of(sent(calls)[0])
    alice_link = deep_link_payload(button_of(answer, "Check if tight hamstrings are behind your pain"))
    assert alice_link == "check-tight-hamstrings"
    _, calls = await bot.say(group, bob, "/check")
    (reply,) = sent(calls)
    assert "private chat" in reply.text
    bob_link = deep_link_payload(button_of(bot.message_of(reply), "Start the check in private"))
    assert bob_link == "check"
    assert not any(c.method == "editMessageText" for c in bot.fake.calls), "nothing runs in the group"

    # both open their link; the checks run side by side, each in its own private chat
    a, b = Person(bot, private_chat(alice), alice), Person(bot, private_chat(bob), bob)
    await check(a, f"/start {alice_link}")
    await check(b, f"/start {bob_link}")
    alice_path = [
        NONE,
        NONE,
        "No, not even close",
        "During the set",
        "Stays flat on the seat",
        "Twice a week or more",
    ]
    bob_path = CAUSE_PATHS["Herniated disc"]
    for n in range(len(bob_path)):
        if n < len(alice_path):
            await a.tap(alice_path[n])
            assert f"· {n + 2}/7" in a.text()
        await b.tap(bob_path[n])
        assert a.state() is not None and a.state().step == min(n + 1, 6)  # type: ignore[union-attr]
    assert top_cause(b.text()) == "Herniated disc"
    await a.tap("Neither, or never checked")
    assert top_cause(a.text()) == "Tight hamstrings"
    for who in (alice, bob):
        assert load_state(bot.app.user_data.get(who["id"]), str(group["id"])) is None


async def test_in_a_group_a_button_acts_for_whoever_pressed_it(
    bot: Harness, group: Json, alice: Json, bob: Json
) -> None:
    """Alice has a check open in private; Bob tapping the group's buttons never touches it."""
    a = Person(bot, private_chat(alice), alice)
    await check(a)
    await a.answer(NONE, NONE)
    alice_state = a.state()
    _, calls = await bot.say(group, alice, f"@{BOT_USERNAME} are my tight hamstrings why my back rounds?")
    answer = bot.message_of(sent(calls)[0])
    g = Person(bot, group, bob)
    g.message = answer
    calls = await g.tap("Fix: Stretch your hamstrings")
    (opened,) = sent(calls)
    assert opened.text.startswith("<b>Fix: stretch your hamstrings</b>")
    assert opened.chat_id == group["id"]
    offer = button_of(answer, "Check if tight hamstrings are behind your pain")
    assert deep_link_payload(offer) == "check-tight-hamstrings" and "callback_data" not in offer
    assert a.state() == alice_state and load_state(bot.app.user_data.get(bob["id"]), str(group["id"])) is None
    await a.tap("During the set")
    assert "Quick check · 4/7" in a.text()
