"""Small things people notice: what a button says, what a command answers, what a group sees twice."""

from __future__ import annotations

import dataclasses
import io

from conftest import Harness
from fakebot import BOT_USERNAME, Json, only_message, sent

from bot.core import check as qn
from bot.core.dialogue import Dialogue
from bot.core.matching import Match
from bot.core.ranking import Candidate
from bot.replies import to_plain
from bot.telegram.door import ANSWERED_RECENTLY
from bot.terminal import TerminalChat


def test_did_you_mean_and_related_buttons_are_labelled_alike(dialogue: Dialogue) -> None:
    kb = dialogue.kb
    first, second = kb.get("tight-hamstrings"), kb.get("stretch-hamstrings")
    assert first is not None and second is not None
    reply = dialogue.did_you_mean_reply(Match("unsure", first, 42.0, (Candidate(second, 40.0),)))
    offered = {b.data: b.label for row in reply.buttons for b in row}
    assert offered, "an unsure question offers entries"
    for entry in dialogue.kb.entries:
        under = {b.data: b.label for row in dialogue.entry_reply(entry).buttons for b in row}
        for data, label in offered.items():
            if data in under:
                assert under[data] == label, (data, label, under[data])
    assert offered["e:tight-hamstrings"] == "Cause: Tight hamstrings"


def test_an_unknown_command_says_what_to_try(dialogue: Dialogue) -> None:
    (reply,) = dialogue.on_command("foo", "", None).replies
    assert to_plain(reply.text).startswith("I don't know that command. Try /causes, /fixes, /faq")


def test_about_links_to_the_article_when_faq_yaml_gives_its_address(dialogue: Dialogue) -> None:
    meta = dataclasses.replace(dialogue.kb.meta, source_url="https://example.org/leg-press-back")
    linked = Dialogue.from_kb(dataclasses.replace(dialogue.kb, meta=meta))
    (reply,) = linked.on_command("about", "", None).replies
    assert f'<a href="https://example.org/leg-press-back">{meta.source_title}</a>' in reply.text


def test_back_on_the_first_question_says_what_can_be_done(dialogue: Dialogue) -> None:
    started = dialogue.on_command("check", "", None, "private", 1000.0, "r1")
    back = dialogue.on_button(f"q:{started.state.run}:back", started.state, "private", 1001.0)  # type: ignore[union-attr]
    assert back.notice == qn.FIRST_QUESTION and "Cancel" in back.notice


def test_cancel_in_the_terminal_is_one_message(dialogue: Dialogue) -> None:
    out = io.StringIO()
    chat = TerminalChat(dialogue, out)
    chat.handle("/check")
    cancel = next(i for i, b in enumerate(chat.choices, 1) if b.label == "✖ Cancel")
    before = len(out.getvalue())
    chat.handle(str(cancel))
    shown = out.getvalue()[before:]
    assert shown.count("Check cancelled") == 1, shown


async def test_a_command_sent_again_from_the_menu_is_answered_once(
    bot: Harness, supergroup: Json, alice: Json, bob: Json
) -> None:
    _, calls = await bot.say(supergroup, alice, "/check")
    assert len(sent(calls)) == 1
    _, calls = await bot.say(supergroup, alice, f"/check@{BOT_USERNAME}")  # the same command, a second later
    assert sent(calls) == [], "no second answer, and no 'I answered this' to the person who just asked"
    _, calls = await bot.say(supergroup, bob, f"/check@{BOT_USERNAME}")
    assert ANSWERED_RECENTLY in only_message(calls).text, "someone else is pointed to the answer"
