"""Red flags in free text: every warning sign caught, ordinary questions left alone, fast, and first."""

from __future__ import annotations

import io
import json
import statistics
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cli
from bot.content.load import load_knowledge, parse_knowledge
from bot.content.model import RedFlagRules
from bot.content.problems import KnowledgeError
from bot.core.dialogue import Dialogue
from bot.core.safety import RedFlagDetector, detector_for, urgent_reply
from bot.replies import to_plain

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "bot" / "faq.yaml"
DATA = Path(__file__).resolve().parents[1] / "data"
KB = load_knowledge(FAQ)
DIALOGUE = Dialogue.from_kb(KB)
assert KB.red_flags is not None
DETECTOR = RedFlagDetector(KB.red_flags)
MAX_FALSE_ALARMS = 0.02


def labelled(name: str) -> tuple[list[str], list[str]]:
    raw = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return list(raw["red_flags"]), list(raw["ordinary"])


def flagged(text: str) -> str | None:
    flag = DETECTOR.detect(text)
    return flag.id if flag else None


# ------------------------------------------------------------------------------------ the labelled sets
@pytest.mark.parametrize("name", ["red_flags.yaml", "red_flags_holdout.yaml"])
def test_every_red_flag_is_caught_and_few_ordinary_messages_alarm(name: str) -> None:
    red, ordinary = labelled(name)
    missed = [m for m in red if flagged(m) is None]
    alarms = [m for m in ordinary if flagged(m) is not None]
    assert not missed, f"missed red flags: {missed}"
    assert len(alarms) / len(ordinary) <= MAX_FALSE_ALARMS, f"false alarms: {alarms}"


def test_the_sets_are_big_enough_to_mean_something() -> None:
    red, ordinary = labelled("red_flags.yaml")
    assert len(red) >= 60 and len(ordinary) >= 150
    red, ordinary = labelled("red_flags_holdout.yaml")
    assert len(red) >= 30 and len(ordinary) >= 60


def test_detection_is_fast() -> None:
    red, ordinary = labelled("red_flags.yaml")
    messages = red + ordinary
    for m in messages:  # warm the typo cache, as a running bot would be
        flagged(m)
    timings = []
    for m in messages:
        t = time.perf_counter()
        flagged(m)
        timings.append(time.perf_counter() - t)
    assert statistics.median(timings) < 0.001
    long_story = " ".join(ordinary) * 3
    t = time.perf_counter()
    flagged(long_story)
    assert time.perf_counter() - t < 0.25


# ------------------------------------------------------------------------------------ words, not sentences
@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("my feet have been numb since friday", "numbness"),
        ("tingles in my thigh after the sled", "numbness"),
        ("I can't feel my toes on the right side", "numbness"),
        ("numbbness in my groin", "numbness"),
        ("I've been wetting myself since I hurt my back", "bladder-bowel"),
        ("really hard to pee since the injury", "bladder-bowel"),
        ("my knee buckled twice today and my back is sore", "leg-weakness"),
        ("foot drop on the left since leg day", "leg-weakness"),
        ("my right leg suddenly feels weak", "leg-weakness"),
        ("got knocked down at rugby and my back has hurt since", "fall-accident"),
        ("fell on my back at the gym", "fall-accident"),
        ("chills and back pain all weekend", "fever-weight-loss"),
        ("lost 6 kg in a month for no reason", "fever-weight-loss"),
        ("my back pain keeps me awake", "night-rest-pain"),
        ("it aches lying in bed", "night-rest-pain"),
    ],
)
def test_signs_in_other_words(text: str, sign: str) -> None:
    assert flagged(text) == sign


@pytest.mark.parametrize(
    "text",
    [
        "no numbness or tingling, just sore",
        "I don't have any tingling",
        "never had bladder problems",
        "nobody got hurt when the plate fell",
        "fell asleep after leg day",
        "fell behind on my leg day program",
        "my glutes feel asleep on leg press",
        "weak core and tight hamstrings",
        "how much weight should I lose before leg press",
        "is it worse to train legs at night?",
        "is it ok to rest my back for a week",
        "I need to pee between sets, normal?",
        "my numbers on the leg press went up",
        "dumb question: feet high or low?",
        "leg press hurts my lower back at the bottom",
    ],
)
def test_look_alikes_do_not_alarm(text: str) -> None:
    assert flagged(text) is None


def test_a_negation_does_not_reach_past_but() -> None:
    assert flagged("no numbness, but my legs are tingling now") == "numbness"
    assert flagged("I don't feel sick but I have a fever and back pain") == "fever-weight-loss"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_safe_to_check(text: str) -> None:
    flagged(text)


# ---------------------------------------------------------------------------------------- the reply
@pytest.mark.parametrize("sign", [f.id for f in KB.red_flags.flags])
def test_the_urgent_message_says_what_to_do_and_what_to_tell_the_doctor(sign: str) -> None:
    flag = KB.red_flags.get(sign)
    assert flag is not None
    reply = urgent_reply(KB, flag)
    text = to_plain(reply.text)
    assert reply.urgent
    assert text.startswith("⚠️ Please get medical help today")
    assert f"You mentioned: {flag.label}." in text
    assert "Stop training" in text and "emergency" in text
    assert f"Tell the doctor: {flag.tell}" in text


def test_the_urgent_message_comes_first_and_alone_in_any_chat() -> None:
    for chat in ("private", "group"):
        out = DIALOGUE.on_text("cant feel my inner thighs since leg day", None, chat)  # type: ignore[arg-type]
        assert out.urgent and len(out.replies) == 1 and out.replies[0].urgent
        assert "numbness or tingling" in to_plain(out.replies[0].text)
        assert out.match is None, "no FAQ answer competes with it"


def test_ordinary_questions_get_the_answer_not_the_alarm() -> None:
    out = DIALOGUE.on_text("where should my feet go on the leg press", None)
    assert not out.urgent and out.replies[0].entry_id == "improve-form"


def _ask_json(*questions: str) -> list[dict[str, Any]]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        for q in questions:
            assert cli.main(["ask", "--json", "--faq", str(FAQ), q]) == 0
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_ask_json_says_urgent() -> None:
    urgent, ordinary = _ask_json("peeing myself after the leg press", "why does my back hurt after leg press")
    assert urgent["urgent"] is True
    assert ordinary["urgent"] is False


# ----------------------------------------------------------------------------------------- validation
def _problems(change: Any) -> list[str]:
    data = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    change(data["red_flags"])
    with pytest.raises(KnowledgeError) as err:
        parse_knowledge(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "faq.yaml")
    return [str(p) for p in err.value.problems]


def _sign(section: dict[str, Any], sid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in section["signs"] if s["id"] == sid)
    return found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: _sign(s, "numbness")["when"].append({"all": ["numb", "tinglish"]}),
            [
                "entry 'numbness'",
                "field 'red_flags.signs[numbness].when[3].all'",
                "unknown word group 'tinglish'",
            ],
        ),
        (
            lambda s: _sign(s, "numbness").update(colour="red"),
            ["field 'red_flags.signs[numbness].colour'", "unknown key"],
        ),
        (
            lambda s: _sign(s, "leg-weakness").pop("label"),
            ["entry 'leg-weakness'", "label", "missing or empty"],
        ),
        (
            lambda s: _sign(s, "leg-weakness")["when"][1].update(near=0),
            ["field 'red_flags.signs[leg-weakness].when[1].near'", "whole number"],
        ),
        (
            lambda s: s["words"]["numb"].append("nu*"),
            ["field 'red_flags.words.numb'", "at least four letters"],
        ),
        (lambda s: s["words"].update(Numb=["x"]), ["field 'red_flags.words.Numb'", "group names"]),
        (lambda s: s.pop("urgent"), ["field 'red_flags.urgent'", "missing or empty"]),
        (lambda s: s.update(signals=[]), ["field 'red_flags.signals'", "unknown key"]),
        (lambda s: s["signs"].append(dict(s["signs"][0])), ["entry 'numbness'", "duplicate sign id"]),
        (
            lambda s: _sign(s, "numbness")["when"].append({"all": ["not"]}),
            ["field 'red_flags.signs[numbness].when[3].all'", "cannot be part of a rule"],
        ),
    ],
)
def test_each_validation_rule_names_file_entry_and_field(change: Any, expected: list[str]) -> None:
    problems = _problems(change)
    assert any(all(part in p for part in expected) for p in problems), "\n".join(problems)
    assert all(p.startswith("faq.yaml:") for p in problems)


def test_yaml_booleans_in_word_lists_are_caught() -> None:
    problems = _problems(lambda s: s["words"]["not"].append(False))
    assert any("red_flags.words.not" in p and "list of words" in p for p in problems)


def test_no_red_flags_section_means_no_detection_but_still_an_urgent_message() -> None:
    data = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    del data["red_flags"]
    kb = parse_knowledge(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "faq.yaml")
    assert detector_for(kb) is None and Dialogue.from_kb(kb).read("numb groin")[0] is None
    flags: RedFlagRules | None = KB.red_flags
    assert flags is not None
    flag = flags.get("numbness")
    assert flag is not None
    assert "medical" in to_plain(urgent_reply(kb, flag).text)
