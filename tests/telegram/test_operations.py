"""What an operator sees: settings refused in one line, the bot's profile set from faq.yaml, logs a collector
can read (JSON, UTC), and one line per handled update that says the bot is serving without saying who
asked what."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest
from conftest import Harness, settings_for, start_bot, stop_bot
from fakebot import FakeTelegram, Json
from test_reliability_config import assert_clean_failure, run_bot

from bot.content.load import parse_knowledge
from bot.content.problems import KnowledgeError
from bot.core.dialogue import Dialogue
from bot.telegram.logs import JsonFormatter, TextFormatter, handled

SECRET_PATH = "hook-7f3a9c"
DESCRIBING = ("setMyDescription", "setMyShortDescription")


# ----------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    "url",
    [f"http://bot.example.org/{SECRET_PATH}", f"bot.example.org/{SECRET_PATH}", f"https:///{SECRET_PATH}"],
)
def test_a_webhook_url_must_be_https_with_a_host(tmp_path: Path, url: str) -> None:
    result = run_bot(tmp_path, WEBHOOK_URL=url)
    (line,) = assert_clean_failure(result)
    assert result.returncode == 2
    assert "WEBHOOK_URL" in line and "https://" in line
    assert SECRET_PATH not in line, "the address may carry a secret path: it is not repeated"


def test_an_unknown_log_format_is_one_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path, LOG_FORMAT="xml")
    (line,) = assert_clean_failure(result)
    assert result.returncode == 2 and "LOG_FORMAT" in line and "json" in line


# ------------------------------------------------------------------------------------------ profile
async def test_the_bot_sets_its_descriptions_from_faq_yaml_once(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue
) -> None:
    meta = dialogue.kb.meta
    assert meta.description and meta.short_description
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue)
    await stop_bot(harness)
    assert fake.descriptions == {"description": meta.description, "short_description": meta.short_description}
    sets = [c for c in fake.calls if c.method in DESCRIBING]
    assert len(sets) == 2
    before = len(fake.calls)
    harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue)  # a restart
    await stop_bot(harness)
    again = [c.method for c in fake.calls[before:] if c.method in DESCRIBING]
    assert again == [], "an unchanged description is not set again"


async def test_a_refused_description_is_a_warning_not_a_failed_start(
    fake: FakeTelegram, tmp_path: Path, dialogue: Dialogue, caplog: pytest.LogCaptureFixture
) -> None:
    fake.failures["setMyDescription"] = (400, "Bad Request: description is too long")
    with caplog.at_level(logging.WARNING, "bot.telegram"):
        harness = await start_bot(fake, settings_for(fake, tmp_path / "data"), dialogue)
    await stop_bot(harness)
    assert any("description was not set" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("field", "limit"), [("description", 512), ("short_description", 120)], ids=["long", "short"]
)
def test_a_description_too_long_for_telegram_is_a_problem_at_its_line(field: str, limit: int) -> None:
    text = (
        "meta:\n  bot_name: b\n  source_title: t\n  disclaimer: d\n"
        f"  {field}: {'x' * (limit + 1)}\n"
        "entries:\n  - {id: a, kind: faq, title: T, questions: [q], answer: x}\n"
    )
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge(text, "faq.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (5, f"meta.{field}") and str(limit) in problem.message


# --------------------------------------------------------------------------------------------- logs
def record(message: str, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("bot.telegram", logging.ERROR, __file__, 1, message, (), info)


def test_json_logs_are_one_object_a_line_with_utc_times() -> None:
    line = JsonFormatter().format(record("Something failed", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.telegram"
    assert entry["message"] == "Something failed"
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert "ValueError: boom" in entry["exc"]


def test_text_logs_say_their_time_zone() -> None:
    line = TextFormatter().format(record("Started"))
    stamp, level, rest = line.split(" ", 2)
    assert stamp.endswith("Z") and "T" in stamp and level == "ERROR" and rest == "bot.telegram: Started"


async def test_each_handled_update_is_one_info_line_without_text_or_ids(
    bot: Harness, dm: Json, alice: Json, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "bot.telegram.updates"):
        await bot.say(dm, alice, "do I need a belt on the leg press?")
        await bot.say(dm, alice, "/causes")
        await bot.inline(alice, "hamstrings")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.updates"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("message in private: confident, ") and lines[0].endswith(" ms")
    assert lines[1].startswith("message in private: -, ")
    assert lines[2].startswith("inline query in inline: ")
    for line in lines:
        assert "belt" not in line and str(alice["id"]) not in line and "alice" not in line.lower()


def test_the_update_line_is_skipped_when_info_is_off() -> None:
    quiet = logging.getLogger("bot.telegram.updates")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    quiet.addHandler(handler)
    level = quiet.level
    try:
        quiet.setLevel(logging.WARNING)
        handled("message", "private", "confident", 0.0)
        assert stream.getvalue() == ""
    finally:
        quiet.setLevel(level)
        quiet.removeHandler(handler)
