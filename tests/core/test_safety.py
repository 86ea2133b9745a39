"""Red flags in free text: every warning sign caught, ordinary questions left alone, fast, and first."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import URGENT_HEADINGS, assert_telegram_html
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cli
from bot.content.load import load_knowledge, parse_knowledge
from bot.content.model import RedFlagRules
from bot.content.problems import KnowledgeError
from bot.core.dialogue import Dialogue
from bot.core.safety import detector_for, urgent_reply
from bot.replies import to_plain

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "bot" / "faq.yaml"
DATA = Path(__file__).resolve().parents[1] / "data"
KB = load_knowledge(FAQ)
DIALOGUE = Dialogue.from_kb(KB)
assert KB.red_flags is not None
DETECTOR = detector_for(KB)
MAX_FALSE_ALARMS = 0.02


def labelled(name: str) -> tuple[list[str], list[str]]:
    raw = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return list(raw["red_flags"]), list(raw["ordinary"])


def flagged(text: str) -> str | None:
    flag = DETECTOR.detect(text)
    return flag.id if flag else None


# ------------------------------------------------------------------------------------ the labelled sets
RED_FLAG_SETS = [
    "red_flags.yaml",
    "red_flags_holdout.yaml",
    "red_flags_holdout2.yaml",
    "red_flags_holdout3.yaml",
]
QUESTION_SETS = sorted(p.name for p in DATA.glob("*.yaml") if not p.name.startswith("red_flags"))


@pytest.mark.parametrize("name", RED_FLAG_SETS)
def test_every_red_flag_is_caught_and_few_ordinary_messages_alarm(name: str) -> None:
    red, ordinary = labelled(name)
    missed = [m for m in red if flagged(m) is None]
    alarms = [m for m in ordinary if flagged(m) is not None]
    assert not missed, f"missed red flags: {missed}"
    assert len(alarms) / len(ordinary) <= MAX_FALSE_ALARMS, f"false alarms: {alarms}"


def test_few_of_all_the_ordinary_questions_alarm() -> None:
    """The question sets are FAQ questions; a few describe a sign (numb legs) and rightly alarm. Those
    labelled `urgent: true` are signs, not ordinary questions."""
    questions = [
        str(item["q"])
        for name in QUESTION_SETS
        for item in yaml.safe_load((DATA / name).read_text("utf-8"))
        if not item.get("urgent")
    ]
    alarms = [q for q in questions if flagged(q) is not None]
    assert len(questions) >= 1000
    assert len(alarms) / len(questions) <= MAX_FALSE_ALARMS, f"{len(alarms)} alarms: {alarms}"


def test_the_question_sets_labelled_urgent_alarm() -> None:
    urgent = [
        str(item["q"])
        for name in QUESTION_SETS
        for item in yaml.safe_load((DATA / name).read_text("utf-8"))
        if item.get("urgent")
    ]
    assert len(urgent) >= 10
    assert [q for q in urgent if flagged(q) is None] == []


def test_the_sets_are_big_enough_to_mean_something() -> None:
    red, ordinary = labelled("red_flags.yaml")
    assert len(red) >= 60 and len(ordinary) >= 150
    red, ordinary = labelled("red_flags_holdout.yaml")
    assert len(red) >= 30 and len(ordinary) >= 60
    red, ordinary = labelled("red_flags_holdout2.yaml")
    assert len(red) >= 120 and len(ordinary) >= 120
    red, ordinary = labelled("red_flags_holdout3.yaml")
    assert len(red) >= 45 and len(ordinary) >= 40


@pytest.mark.parametrize("name", ["red_flags_holdout2.yaml", "red_flags_holdout3.yaml"])
def test_the_newest_held_out_sets_cover_every_sign(name: str) -> None:
    red, _ = labelled(name)
    caught = {flagged(m) for m in red}
    assert caught == {f.id for f in KB.red_flags.flags}


@pytest.mark.parametrize("sign", [s.flag.id for s in KB.red_flags.signs])
def test_each_signs_examples_are_caught_as_that_sign(sign: str) -> None:
    examples = next(s.examples for s in KB.red_flags.signs if s.flag.id == sign)
    assert len(examples) >= 2, "every sign shows at least two examples in faq.yaml"
    assert [flagged(e) for e in examples] == [sign] * len(examples)


# ------------------------------------------------------------------------------------ words, not sentences
@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("my feet have been numb since friday", "numbness"),
        ("tingles in my thigh after the sled", "numbness"),
        ("I can't feel my toes on the right side", "numbness"),
        ("numbbness in my groin", "saddle-numbness"),
        ("no feeling down there when i wipe", "saddle-numbness"),
        ("my bum and inner thighs went numb after the sled", "saddle-numbness"),
        ("the part you sit on has felt numb since my back went", "saddle-numbness"),
        ("since the sled my sitting bones feel numb, like at the dentist", "saddle-numbness"),
        ("pins and needles in my left calf after every set", "numbness"),
        ("i dont feel the urge to pee any more since my back went", "bladder-bowel"),
        ("couldnt make it to the toilet in time since the injury", "bladder-bowel"),
        ("impotent since my lower back injury", "sexual-dysfunction"),
        ("sex has felt numb since my back went", "sexual-dysfunction"),
        ("my toes catch on the kerb since my back injury", "leg-weakness"),
        ("had melanoma removed years ago, now my back aches", "cancer-history"),
        ("after chemo last year my lower back has started to hurt", "cancer-history"),
        ("waking up drenched in sweat and my back aches", "fever-weight-loss"),
        ("losing weight even though im eating normally, sore back too", "fever-weight-loss"),
        ("my back hurts all the time, even lying flat in bed", "night-rest-pain"),
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
        ("been waking in the night with my lower back for weeks", "night-rest-pain"),
        ("my back went on the sled and now i dont know when i need to go anymore", "bladder-bowel"),
        ("since the sled i cant properly feel my groin", "saddle-numbness"),
        ("it aches lying in bed", "night-rest-pain"),
        ("my groin numbs after the sled", "saddle-numbness"),
        # another form of a sign's word is that word; a sign in someone else is the same sign
        ("my back aches and my bladders not emptying properly", "bladder-bowel"),
        ("my husband pees himself since the leg press", "bladder-bowel"),
        ("my back hurts and he wets himself at night now", "bladder-bowel"),
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
        # jokes and hyperbole
        "cant feel my legs after that session, not literally obviously",
        "my legs went numb from boredom lol jk, how many sets should i do?",
        "almost wet myself when the sled stuck, all fine",
        # over, or long ago
        "had a fever on monday but its gone now, ok to train legs?",
        "my calf tingled for a moment after the set then it was fine",
        "fell off my bike as a kid, my back only hurts on the leg press",
        "the numbness in my foot cleared up weeks ago, can i go heavier?",
        # other senses, other body parts
        "leg press is mind numbing, any tips to stay focused?",
        "pre-workout makes my lips and fingers tingle, is that ok before leg day?",
        "my hands go numb gripping the handles",
        "my foot goes numb when my shoes are too tight on the platform",
        "my left leg is weaker than my right, how do i fix the imbalance on the leg press?",
        "is it normal to be sore at rest the day after heavy leg press?",
        "my gym is doing a cancer research fundraiser on the leg press",
        "im a cancer and my gym buddy is a leo lol",
        "sex the night before leg day, good or bad?",
        "cough drops before the leg press?",
    ],
)
def test_look_alikes_do_not_alarm(text: str) -> None:
    assert flagged(text) is None


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("my groin is numb lol what do i do", "saddle-numbness"),  # nervous laughter is not a joke cue
        ("not joking, my feet are numb since my back went", "numbness"),
        ("cant feel my legs, seriously, its not a joke", "numbness"),
        ("had a fever last week and its still there, back aches", "fever-weight-loss"),
        ("fell off a ladder years ago and my back has hurt ever since", "fall-accident"),
        ("the tingling in my foot hasnt gone away since leg day", "numbness"),
        ("my leg went numb for a second yesterday, today it is numb all the time", "numbness"),
        ("had leukaemia as a child, all clear for years, now my back hurts", "cancer-history"),
    ],
)
def test_jokes_and_past_events_take_back_only_what_they_say(text: str, sign: str) -> None:
    assert flagged(text) == sign


def test_one_leg_is_soon_and_both_legs_are_an_emergency() -> None:
    one = DETECTOR.detect("pins and needles down my right leg since my back went")
    both = DETECTOR.detect("pins and needles down both legs since my back went")
    weak = DETECTOR.detect("weakness in both legs since the leg press")
    assert one is not None and one.id == "numbness" and one.urgency == "soon"
    assert both is not None and both.id == "numbness" and both.urgency == "emergency"
    assert weak is not None and weak.id == "leg-weakness" and weak.urgency == "emergency"
    assert to_plain(urgent_reply(KB, both).text).startswith(URGENT_HEADINGS["emergency"])
    assert to_plain(urgent_reply(KB, one).text).startswith(URGENT_HEADINGS["soon"])


def test_a_sign_buried_in_a_long_story_with_a_question_still_comes_first() -> None:
    story = (
        "So I started training again in March after a long break. Leg day is my favourite, I do leg press, "
        "lunges and curls. Last Thursday I went heavier than usual and felt my lower back twinge on the "
        "last rep. It was stiff the next morning and I used a heat pack. Since Saturday I can't really tell "
        "when I need to pee, and once I leaked before I got to the toilet. Anyway, where should my feet go "
        "on the platform so this doesn't happen again?"
    )
    out = DIALOGUE.on_text(story, None)
    assert out.urgent and out.match is None and len(out.replies) == 1
    assert to_plain(out.replies[0].text).startswith(URGENT_HEADINGS["emergency"])
    assert "changes in bladder or bowel control" in to_plain(out.replies[0].text)


def test_a_negation_does_not_reach_past_but() -> None:
    assert flagged("no numbness, but my legs are tingling now") == "numbness"
    assert flagged("I don't feel sick but I have a fever and back pain") == "fever-weight-loss"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_safe_to_check(text: str) -> None:
    flagged(text)


# ---------------------------------------------------------------------------------------- the reply
CAUDA_EQUINA = {"saddle-numbness", "bladder-bowel", "sexual-dysfunction"}
WITHIN_DAYS = {"cancer-history", "fever-weight-loss", "night-rest-pain", "numbness"}


@pytest.mark.parametrize("sign", [f.id for f in KB.red_flags.flags])
def test_the_urgent_message_says_how_soon_why_and_what_to_tell_the_doctor(sign: str) -> None:
    flag = KB.red_flags.get(sign)
    assert flag is not None
    reply = urgent_reply(KB, flag)
    text = to_plain(reply.text)
    assert reply.urgent
    assert f"You mentioned: {flag.label}." in text
    assert f"Tell the doctor: {flag.tell}" in text
    assert "don't wait for exercises" in text
    if sign in CAUDA_EQUINA:
        assert text.startswith(URGENT_HEADINGS["emergency"])
        assert "go to the emergency department now" in text and "within hours" in text
    elif sign in WITHIN_DAYS:
        assert text.startswith(URGENT_HEADINGS["soon"])
        assert "in the next few days" in text
        assert flag.why and flag.why in " ".join(text.split())
    else:
        assert text.startswith(URGENT_HEADINGS["today"]) and "Stop training" in text
    for words in ("diagnos", "cauda equina", "you have cancer", "it is cancer", "you have an infection"):
        assert words not in text.lower(), "the message never names a diagnosis"
    assert len(text) < 900, "short enough to read on a phone in a hurry"


def test_the_urgent_message_is_telegram_html_safe() -> None:
    for flag in KB.red_flags.flags:
        assert_telegram_html(urgent_reply(KB, flag).text)


def test_the_urgent_message_comes_first_and_alone_in_any_chat() -> None:
    for chat in ("private", "group"):
        out = DIALOGUE.on_text("cant feel my inner thighs since leg day", None, chat)  # type: ignore[arg-type]
        assert out.urgent and len(out.replies) == 1 and out.replies[0].urgent
        assert "numbness around the groin" in to_plain(out.replies[0].text)
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


def test_ask_json_says_urgent_and_which_sign() -> None:
    urgent, cancer, ordinary = _ask_json(
        "peeing myself after the leg press",
        "in remission from breast cancer and my back aches",
        "why does my back hurt after leg press",
    )
    assert urgent["urgent"] is True and urgent["red_flag"] == "bladder-bowel"
    assert cancer["urgent"] is True and cancer["red_flag"] == "cancer-history"
    assert ordinary["urgent"] is False and ordinary["red_flag"] is None


def test_ask_json_answers_a_warning_sign_with_what_the_urgent_reply_links_to() -> None:
    on_topic, nothing_matches, elsewhere = _ask_json(
        "since my back went on the leg press i keep leaking pee",
        "slipped off the leg press seat and landed hard on my lower back",
        "fell down the stairs last week and my lower back and knees hurt ever since",
    )
    assert on_topic["urgent"] and on_topic["id"] == "professional-help"
    assert nothing_matches["urgent"] and nothing_matches["id"] == "professional-help"
    assert "professional-help" not in [a["id"] for a in on_topic["alternatives"]]
    assert elsewhere["urgent"] and elsewhere["id"] is None  # it warns, but the article has no answer


def test_ask_json_answers_a_warning_sign_that_names_nothing_else_with_the_urgent_replys_link() -> None:
    (sign_alone,) = _ask_json("cant feel my bum or between my legs since leg press yesterday, scared")
    assert sign_alone["urgent"] and sign_alone["id"] == "professional-help"


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
                "field 'red_flags.signs[numbness].when[4].all'",
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
        (lambda s: s["signs"].append(dict(s["signs"][0])), ["entry 'saddle-numbness'", "duplicate sign id"]),
        (
            lambda s: _sign(s, "numbness")["when"].append({"all": ["not"]}),
            ["field 'red_flags.signs[numbness].when[4].all'", "cannot be part of a rule"],
        ),
        (
            lambda s: _sign(s, "numbness")["when"].append({"all": ["numb", "past"]}),
            ["field 'red_flags.signs[numbness].when[4].all'", "cue groups cannot be part of a rule"],
        ),
        (
            lambda s: _sign(s, "cancer-history").update(urgency="whenever"),
            ["entry 'cancer-history'", "field 'red_flags.signs[cancer-history].urgency'", "one of emergency"],
        ),
        (
            lambda s: _sign(s, "cancer-history").pop("why"),
            ["field 'red_flags.signs[cancer-history].why'", "must say why"],
        ),
        (
            lambda s: _sign(s, "cancer-history").update(examples="cancer"),
            ["field 'red_flags.signs[cancer-history].examples'", "list of messages"],
        ),
        (
            lambda s: _sign(s, "cancer-history").update(history="yes"),
            ["field 'red_flags.signs[cancer-history].history'", "true or false"],
        ),
        (
            lambda s: _sign(s, "numbness")["when"][0].update(urgency="now"),
            ["field 'red_flags.signs[numbness].when[0].urgency'", "one of emergency"],
        ),
        (
            lambda s: s["levels"].update(later={"title": "x"}),
            ["field 'red_flags.levels.later'", "unknown urgency"],
        ),
        (
            lambda s: s["levels"]["soon"].pop("title"),
            ["field 'red_flags.levels.soon.title'", "missing or empty"],
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


@pytest.mark.parametrize(
    "text",
    [
        "my lower back started twinging near the end of each set, what should i change?",
        "after a long run my back is trashed the next day",
        "my lower back hurts on the bike, i flipped my stem up and it still aches",
        "back sore after leg press, what do yall do for it",
        "my hamstrings feel like rubber bands pulled tight and the leg press tweaks my back",
        "felt dizzy and a bit sick after a heavy leg press set",
    ],
)
def test_a_word_the_bot_knows_is_never_read_as_a_typo_of_a_warning_sign(text: str) -> None:
    # "twinging" is no "tingling", "trashed" no "crashed", "flipped" (flip) no "slipped", "yall" no "fall"
    assert flagged(text) is None


def test_chat_shorthand_is_read_as_the_words_it_stands_for() -> None:
    assert flagged("lost like 8kg w/o trying and my back aches every night") is not None


@pytest.mark.parametrize(
    "text",
    [
        "bro why does my lower back feel like its been hit by a truck every time i do leg press",
        "what is a slipped disc actually, like what slips",
        "im scared i slipped a disc on the leg press, my back is locked up",
        "i think my disc slipped on the leg press, it hurts to bend",
        "when a disk has slipped does it go back in by itself",
        "sick of the jumble of advice about my lower back",
        "should i see a fizzy oh about my sore lower back",
        "my back aches after laying bricks all day",
        "my glutes are so sore after leg day i cant even sit on the toilet",
        "my achilles hurts when i push through my heels on the leg press",
        "my back gets sore from belaying my partner at the wall",
        "after a fumble with the plates my back is a bit sore",
        "my dad nearly wet himself laughing at my leg press form",
    ],
)
def test_a_simile_or_a_slipped_disc_is_no_accident(text: str) -> None:
    assert flagged(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "since my back went on the leg press yesterday i cant really feel when i need to pee",
        "i dont really get the urge to pee anymore since my back went on leg day",
    ],
)
def test_a_word_that_only_softens_hides_no_sign(text: str) -> None:
    assert flagged(text) is not None
