"""What goes over the wire: each answer with its text, formatting and keyboard intact, keyboards exactly as
PTB would send them, and the process's garbage collector left as it was."""

from __future__ import annotations

import gc
from pathlib import Path

from conftest import Harness, settings_for, start_bot, stop_bot
from fakebot import BOT_USERNAME, FakeTelegram, Json, sent
from telegram import InlineKeyboardMarkup, LinkPreviewOptions

from bot.core.dialogue import Dialogue
from bot.telegram.keyboards import NO_LINK_PREVIEWS, render_button, render_keyboard


async def test_an_answer_goes_out_with_everything_intact(
    bot: Harness, dm: Json, alice: Json, dialogue: Dialogue
) -> None:
    question = "my back hurts on the leg press 😩 <b>why</b>?"
    _, calls = await bot.say(dm, alice, question)
    (answer,) = sent(calls)
    match = dialogue.matcher.match(question)
    assert match.entry is not None
    expected = dialogue.entry_reply(match.entry, "private")
    assert answer.text == expected.text
    assert answer.params["parse_mode"] == "HTML"
    assert answer.params["link_preview_options"] == {"is_disabled": True}
    assert (
        answer.params["reply_markup"]
        == InlineKeyboardMarkup(
            [[render_button(b, BOT_USERNAME) for b in row] for row in expected.buttons if row]
        ).to_dict()
    )


def test_rendered_keyboards_are_what_ptb_would_send(dialogue: Dialogue) -> None:
    replies = [dialogue.entry_reply(e, chat) for e in dialogue.kb.entries for chat in ("private", "group")]
    replies += [dialogue.list_reply(kind) for kind in ("cause", "fix", "faq")]
    replies += [dialogue.welcome_reply(), dialogue.no_match_reply()]
    for reply in replies:
        ours = render_keyboard(reply.buttons, BOT_USERNAME)
        plain = InlineKeyboardMarkup([[render_button(b, BOT_USERNAME) for b in row] for row in reply.buttons])
        assert ours is not None and ours == plain
        assert ours.to_dict() == plain.to_dict() and ours.to_json() == plain.to_json()
    assert NO_LINK_PREVIEWS.to_dict() == LinkPreviewOptions(is_disabled=True).to_dict()


async def test_the_bot_leaves_the_process_garbage_collector_as_it_was(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue
) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue)
    try:
        assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
    finally:
        await stop_bot(harness)
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
