"""The quick check through the core, as a person sees it: questions, taps, the result, the safe path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CAUSE_PATHS, NONE, URGENT_HEADINGS
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.load import load_knowledge, parse_knowledge
from bot.content.model import Questionnaire
from bot.content.problems import KnowledgeError
from bot.content.questionnaire import MAX_LABEL_CHARS, unreachable
from bot.core import check as qn
from bot.core.dialogue import Dialogue, Outcome
from bot.core.events import CheckCancelled, CheckExpired, CheckFinished, CheckStarted, RedFlagRaised
from bot.replies import MAX_CALLBACK_BYTES, Button, Reply, to_plain

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "bot" / "faq.yaml"
T0 = 1_700_000_000.0
MINUTE = 60.0

KB = load_knowledge(FAQ)
DIALOGUE = Dialogue.from_kb(KB)
Q: Questionnaire = KB.questionnaire

SIGN_TEXTS = {
    "saddle-numbness": "my groin feels numb since this morning",
    "numbness": "pins and needles in my left foot since my back went",
    "bladder-bowel": "i can't control my bladder since my back went",
    "sexual-dysfunction": "can't get an erection since I hurt my back",
    "leg-weakness": "my left foot is dragging when I walk",
    "fall-accident": "I fell off a wall yesterday and my back is sore",
    "cancer-history": "I had lymphoma a few years back and now my lower back aches",
    "fever-weight-loss": "I have a fever and my lower back aches",
    "night-rest-pain": "my back pain wakes me up every night",
}


# --------------------------------------------------------------------------------------------- a person
@dataclass
class Person:
    """One person in a private chat: sends text, taps buttons by their label, sees what comes back."""

    dialogue: Dialogue = DIALOGUE
    now: float = T0
    state: qn.CheckState | None = None
    seen: list[Reply] = field(default_factory=list)
    last: Outcome | None = None
    runs: int = 0

    def _take(self, outcome: Outcome) -> Outcome:
        self.state = outcome.state
        self.last = outcome
        self.seen = list(outcome.replies) or self.seen
        return outcome

    def command(self, name: str, arg: str = "") -> Outcome:
        self.runs += 1
        return self._take(
            self.dialogue.on_command(name, arg, self.state, "private", self.now, f"run{self.runs}")
        )

    def say(self, text: str) -> Outcome:
        return self._take(self.dialogue.on_text(text, self.state, "private", self.now))

    def press(self, data: str) -> Outcome:
        self.runs += 1
        return self._take(self.dialogue.on_button(data, self.state, "private", self.now, f"run{self.runs}"))

    def buttons(self) -> list[Button]:
        return [b for r in self.seen for row in r.buttons for b in row]

    def button(self, label: str) -> Button:
        found = [b for b in self.buttons() if b.label == label]
        assert found, f"no button {label!r}; buttons: {[b.label for b in self.buttons()]}"
        return found[0]

    def tap(self, label: str) -> Outcome:
        data = self.button(label).data
        assert data is not None
        return self.press(data)

    def text(self) -> str:
        return "\n\n".join(to_plain(r.text) for r in self.seen)

    def answer(self, *labels: str) -> Outcome:
        outcome = self.last
        for label in labels:
            outcome = self.tap(label)
        assert outcome is not None
        return outcome


def started(focus: str | None = None) -> Person:
    p = Person()
    if focus is None:
        p.command("check")
    else:
        p.press(f"c:{focus}")
    assert p.state is not None
    return p


def top_cause(p: Person) -> str:
    """The first cause named in a result, as the person reads it."""
    line = next(line for line in p.text().splitlines() if line.startswith("1. "))
    return line[3:].split(" (")[0]


# ------------------------------------------------------------------------------------------ the questions
def test_the_check_opens_with_the_warning_signs_then_one_question_per_message() -> None:
    p = started()
    out = p.last
    assert out is not None and out.events == (CheckStarted(),)
    text = p.text()
    assert "Quick check · 1/7" in text
    assert "do you have any of these?" in text
    labels = [b.label for b in p.buttons()]
    assert labels[-2:] == ["« Back", "✖ Cancel"]
    assert NONE in labels and len(labels) == 8, "six options on the first screen, then Back and Cancel"
    p.tap(NONE)
    assert p.seen[0].edit, "answers edit the question message in place"
    assert "Quick check · 2/7" in p.text() and "And any of these?" in p.text()
    assert len(p.buttons()) == 7, "five options on the second screen, then Back and Cancel"
    p.tap(NONE)
    assert "Quick check · 3/7" in p.text() and "When does your lower back hurt?" in p.text()
    assert [b.label for b in p.buttons()][-2:] == ["« Back", "✖ Cancel"]


def test_every_button_of_every_step_fits_telegram_callback_data() -> None:
    long_run = "r" * qn.MAX_RUN_CHARS
    for focus in (None, *(c.id for c in Q.causes)):
        state, _ = qn.start(KB, focus, T0, long_run)
        for n in range(len(state.plan)):
            s = qn.CheckState(state.run, state.plan, tuple(_neutral(q) for q in state.plan[:n]), focus, T0)
            for row in qn.question_reply(KB, s).buttons:
                for b in row:
                    assert b.data is not None and len(b.data.encode()) <= MAX_CALLBACK_BYTES
                    assert b.data.startswith(f"q:{long_run}:")


def _neutral(qid: str) -> str:
    question = Q.question(qid)
    assert question is not None
    return next(o.id for o in question.options if o.red_flag is None)


def test_every_run_asks_the_warning_signs_first_and_about_five_questions() -> None:
    for focus in (None, *(e.id for e in KB.entries)):
        plan = Q.plan(focus)
        assert plan[:2] == ("warning-signs", "warning-signs-more")
        assert 5 <= len(plan) <= 7
        assert len(set(plan)) == len(plan)


@pytest.mark.parametrize(
    ("entry", "second"),
    [
        ("tight-hamstrings", "Standing with straight knees, can you touch your toes?"),
        ("stretch-hamstrings", "Standing with straight knees, can you touch your toes?"),
        ("incorrect-form", "Where do your feet sit on the platform?"),
        ("improve-form", "Where do your feet sit on the platform?"),
        ("muscle-imbalances", "How often do you train your core (planks, crunches, back extensions)?"),
        ("herniated-disc", "Does the pain travel from your back down a leg?"),
        ("spinal-stenosis", "Has a doctor ever told you that you have one of these?"),
    ],
)
def test_a_check_started_from_an_answer_asks_its_question_right_after_the_warning_signs(
    entry: str, second: str
) -> None:
    p = started(entry)
    assert "do you have any of these?" in p.text()
    p.answer(NONE, NONE)
    assert second in p.text()


def test_the_offer_after_an_answer_says_what_the_check_is_for() -> None:
    ham = KB.get("tight-hamstrings")
    stretch = KB.get("stretch-hamstrings")
    why = KB.get("why-back-hurts")
    assert ham and stretch and why
    assert qn.offer_text(KB, ham) == "Check if tight hamstrings are behind your pain"
    assert qn.offer_text(KB, stretch) == "Check if tight hamstrings are behind your pain"
    assert qn.offer_text(KB, why) == "Take the 1-minute check"
    for entry in KB.entries:
        assert len(qn.offer_text(KB, entry)) <= MAX_LABEL_CHARS
    reply = DIALOGUE.entry_reply(ham)
    check = [b for row in reply.buttons for b in row if b.data == "c:tight-hamstrings"]
    assert [b.label for b in check] == ["Check if tight hamstrings are behind your pain"]


# --------------------------------------------------------------------------------------------- results


@pytest.mark.parametrize("cause", sorted(CAUSE_PATHS))
def test_each_cause_can_come_out_on_top(cause: str) -> None:
    p = started()
    out = p.answer(*CAUSE_PATHS[cause])
    assert out.state is None
    assert any(isinstance(e, CheckFinished) for e in out.events)
    text = p.text()
    assert "Your check: what most likely fits" in text
    assert top_cause(p) == cause
    assert "Your plan" in text and KB.meta.disclaimer in text
    entry = next(e for e in KB.of_kind("cause") if e.button_label == cause)
    fixes = Q.cause(entry.id)
    assert fixes is not None
    shown = {b.data for b in p.buttons()}
    assert {f"e:{f}" for f in fixes.fixes} <= shown, "the top cause's fixes are buttons"
    assert "c:-" in shown


@pytest.mark.parametrize(
    ("focus", "answers", "cause"),
    [
        (
            "tight-hamstrings",
            [
                NONE,
                NONE,
                "No, not even close",
                "During the set",
                "Stays flat on the seat",
                "Twice a week or more",
            ],
            "Tight hamstrings",
        ),
        (
            "improve-form",
            [
                NONE,
                NONE,
                "High, near the top edge",
                "The next day",
                "Not sure",
                "Twice a week or more",
            ],
            "Incorrect form",
        ),
    ],
)
def test_the_questions_only_asked_from_an_answer_decide_too(
    focus: str, answers: list[str], cause: str
) -> None:
    p = started(focus)
    p.answer(*answers)
    while p.state is not None:  # the rest neutral
        p.tap(next(b.label for b in p.buttons() if b.label.startswith(("Neither", "No, it"))))
    assert top_cause(p) == cause


def test_a_tie_is_said_and_always_ordered_the_same_way() -> None:
    answers = [
        NONE,
        NONE,
        "The next day",  # muscle imbalances 2
        "Arches away from the seat",  # incorrect form 3
        "Now and then",  # muscle imbalances 3
        "Neither, or never checked",
        "No, it stays in my back",
    ]
    texts = []
    for _ in range(2):
        p = started()
        p.answer(*answers)
        texts.append(p.text())
        assert top_cause(p) == "Incorrect form", "equal scores keep the article's order"
        assert "Incorrect form and muscle imbalances fit equally well" in p.text()
        assert "2. Muscle imbalances" in p.text()
    assert texts[0] == texts[1]


def test_nothing_stands_out_says_so_and_gives_the_general_advice() -> None:
    p = started()
    out = p.answer(
        NONE,
        NONE,
        "The next day",
        "Stays flat on the seat",
        "Twice a week or more",
        "Neither, or never checked",
        "No, it stays in my back",
    )
    assert out.state is None and CheckFinished(None) in out.events
    text = p.text()
    assert "Nothing stands out" in text
    assert Q.general_advice.split(":")[0] in text
    assert KB.meta.disclaimer in text
    assert {f"e:{f}" for f in Q.general_fixes} <= {b.data for b in p.buttons()}


def test_every_cause_is_reachable_in_every_run() -> None:
    assert unreachable(Q) == []


# ------------------------------------------------------------------------------------------- warning signs
RED_FLAG_OPTIONS = [
    (q.id, o.label, o.red_flag) for q in Q.questions for o in q.options if o.red_flag is not None
]


@pytest.mark.parametrize(("qid", "label", "sign"), RED_FLAG_OPTIONS)
def test_a_warning_sign_stops_the_check_at_once_wherever_it_is_asked(qid: str, label: str, sign: str) -> None:
    focus = next((c.id for c in Q.causes if c.start == qid), None)
    p = started(focus)
    while not any(b.label == label for b in p.buttons()):
        p.tap(
            next(
                b.label
                for b in p.buttons()
                if b.label in (NONE, "During the set", "Stays flat on the seat")
                or b.label.startswith(("Twice", "Neither", "No, it", "Flat,", "Yes, easily"))
            )
        )
    out = p.tap(label)
    assert out.urgent and out.state is None
    assert any(isinstance(e, RedFlagRaised) and e.in_check for e in out.events)
    stopped, urgent = out.replies
    assert stopped.edit and "Check stopped" in stopped.text, "the question message loses its buttons"
    assert urgent.urgent and not urgent.edit, "the urgent message arrives as a new message"
    text = to_plain(urgent.text)
    flag = KB.red_flags.get(sign)
    assert flag is not None, f"option {label!r} names an unknown sign {sign!r}"
    assert text.startswith(URGENT_HEADINGS[flag.urgency])
    assert flag.label in text and "Tell the doctor:" in text and flag.tell in text


def test_the_warning_sign_screens_come_first_and_cover_every_sign_in_a_few_short_buttons() -> None:
    screens = [q for q in Q.questions if q.first]
    assert (
        [q.id for q in screens]
        == list(Q.plan(None)[: len(screens)])
        == ["warning-signs", "warning-signs-more"]
    )
    offered = [o.red_flag for q in screens for o in q.options if o.red_flag]
    assert sorted(offered) == sorted(f.id for f in KB.red_flags.flags), "each sign once, none left out"
    for q in screens:
        assert len(q.options) <= 6 and len(q.text) <= 80, "a short screen, not a wall of text"
        assert q.options[-1].label == NONE and q.options[-1].red_flag is None


@pytest.mark.parametrize("sign", sorted(SIGN_TEXTS))
def test_a_warning_sign_typed_at_any_step_stops_the_check_with_the_urgent_message_first(sign: str) -> None:
    for steps in range(len(CAUSE_PATHS["Incorrect form"])):
        p = started()
        p.answer(*CAUSE_PATHS["Incorrect form"][:steps])
        assert p.state is not None
        out = p.say(SIGN_TEXTS[sign])
        assert out.urgent and out.state is None, f"step {steps + 1}"
        assert out.replies[0].urgent
        flag = KB.red_flags.get(sign)
        assert flag is not None and flag.label in to_plain(out.replies[0].text)


# ------------------------------------------------------------------------------------ back, cancel, time
def test_back_on_the_first_question_stays_there_and_says_so() -> None:
    p = started()
    before = p.state
    out = p.tap("« Back")
    assert out.notice == qn.FIRST_QUESTION
    assert "Quick check · 1/7" in p.text()
    assert p.state is not None and before is not None and p.state.answers == before.answers


def test_back_goes_to_the_previous_question_and_forgets_its_answer() -> None:
    p = started()
    p.answer(NONE, NONE, "During the set")
    assert "Quick check · 4/7" in p.text()
    p.tap("« Back")
    assert "Quick check · 3/7" in p.text() and "When does your lower back hurt?" in p.text()
    assert p.state is not None and p.state.answers == ("none", "none")
    p.answer("The next day", "Stays flat on the seat", "Hardly ever", "Neither, or never checked")
    p.tap("No, it stays in my back")
    assert top_cause(p) == "Muscle imbalances"


def test_cancel_ends_the_check_and_its_buttons() -> None:
    p = started()
    p.answer(NONE, NONE)
    old = p.buttons()
    out = p.tap("✖ Cancel")
    assert out.state is None and CheckCancelled() in out.events
    assert "Check cancelled" in p.text() and p.seen[0].edit
    p.seen = [Reply("old message", buttons=(tuple(old),))]
    out = p.tap("During the set")
    assert out.notice == "This check has ended."
    assert "This check has ended" in p.text()
    assert p.button("Start a new check").data == "c:-"


def test_cancel_command_mid_way() -> None:
    p = started()
    out = p.command("cancel")
    assert out.state is None and "Check cancelled" in p.text()
    out = p.command("cancel")
    assert "Nothing to cancel" in p.text()


def test_the_check_expires_after_thirty_minutes_of_silence() -> None:
    p = started()
    p.now += 29 * MINUTE
    p.answer(NONE, NONE)
    assert "Quick check · 3/7" in p.text(), "29 minutes is still in time"
    p.now += 31 * MINUTE
    out = p.tap("During the set")
    assert out.state is None and CheckExpired() in out.events
    assert "closed after 30 minutes" in p.text()
    assert p.button("Start a new check").data == "c:-"


def test_free_text_after_expiry_is_answered_with_a_polite_note() -> None:
    p = started()
    p.now += 31 * MINUTE
    out = p.say("where should my feet go on the leg press")
    assert out.state is None and CheckExpired() in out.events
    assert "Fix: improve your form" in p.text()
    assert "closed after 30 minutes" in p.text()


def test_free_text_mid_way_is_answered_and_the_check_continues_where_it_was() -> None:
    p = started()
    p.answer(NONE, NONE, "During the set")
    p.now += 20 * MINUTE
    out = p.say("where should my feet go on the leg press")
    assert out.state is not None and out.state.step == 3
    assert out.replies[0].entry_id == "improve-form"
    assert "still open at question 4/7" in p.text()
    p.now += 20 * MINUTE  # 40 minutes after the last tap, 20 after the message: still open
    p.tap("Continue the check")
    assert not p.seen[0].edit, "the question comes back as a new message, below the answer"
    assert "Quick check · 4/7" in p.text()
    p.answer("Lifts or rounds off the seat", "Twice a week or more", "Neither, or never checked")
    p.tap("No, it stays in my back")
    assert top_cause(p) == "Tight hamstrings"


def test_the_check_survives_a_restart_through_its_stored_form() -> None:
    p = started()
    p.answer(NONE, NONE, "During the set", "Lifts or rounds off the seat")
    assert p.state is not None
    stored = json.loads(json.dumps(p.state.to_dict()))
    again = Person(state=qn.CheckState.from_dict(stored), seen=p.seen, now=p.now + MINUTE)
    assert again.state == p.state
    again.answer("Twice a week or more", "Neither, or never checked", "No, it stays in my back")
    assert top_cause(again) == "Tight hamstrings"


# --------------------------------------------------------------------------------------------- stale data
def test_a_button_of_an_older_check_does_not_disturb_the_current_one() -> None:
    p = started()
    old = p.buttons()
    p.command("check")
    current = p.state
    p.seen = [Reply("old", buttons=(tuple(old),))]
    out = p.tap(NONE)
    assert out.notice == "This check has ended."
    assert p.state == current


def test_a_second_tap_on_an_answered_question_changes_nothing() -> None:
    p = started()
    first = p.buttons()
    p.answer(NONE, NONE)
    state = p.state
    p.seen = [Reply("first question", buttons=(tuple(first),))]
    out = p.tap(NONE)
    assert out.notice == "Already answered."
    assert p.state == state and "Quick check · 3/7" in p.text()


def test_buttons_of_a_finished_check_have_ended() -> None:
    p = started()
    run = p.state.run if p.state else ""
    p.answer(*CAUSE_PATHS["Herniated disc"])
    assert p.state is None
    for data in (f"q:{run}:2:during", f"q:{run}:back", f"q:{run}:cancel", f"q:{run}:resume"):
        out = p.press(data)
        assert out.notice == "This check has ended." and out.state is None


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        ":",
        ":back:1",
        ":9:during",
        ":2:nope",
        ":2:during:extra",
        ":x:during",
        ":2",
        ":resume:now",
        ":0:none",
    ],
)
def test_malformed_check_buttons_are_answered_politely(suffix: str) -> None:
    p = started()
    run = p.state.run if p.state else ""
    state = p.state
    out = p.press(f"q:{run}{suffix}")
    assert out.notice == "This check has ended."
    assert p.state == state


@settings(max_examples=200, deadline=None)
@given(data=st.text(max_size=80), answered=st.integers(0, 5), late=st.booleans())
def test_no_button_data_ever_raises(data: str, answered: int, late: bool) -> None:
    state, _ = qn.start(KB, None, T0, "abc")
    state = qn.CheckState(state.run, state.plan, tuple(_neutral(q) for q in state.plan[:answered]), None, T0)
    step = qn.step(KB, state, data, T0 + (31 * MINUTE if late else 0))
    assert step.replies or step.notice


def test_stored_state_round_trips() -> None:
    state = qn.CheckState("abc", ("warning-signs", "when"), ("none",), "tight-hamstrings", T0)
    assert qn.CheckState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "run",
        {},
        {"run": "abc"},
        {"v": 2, "run": "abc", "plan": ["when"], "answers": []},
        {"v": 1, "run": "a b", "plan": ["when"], "answers": []},
        {"v": 1, "run": "abc", "plan": [], "answers": []},
        {"v": 1, "run": "abc", "plan": ["when"], "answers": ["x"]},
        {"v": 1, "run": "abc", "plan": ["when", 3], "answers": []},
        {"v": 1, "run": "abc", "plan": ["when"], "answers": [], "updated": "yesterday"},
        {"v": 1, "run": "abc", "plan": ["when"], "answers": [], "focus": 7},
        {"v": 1, "run": "abc", "plan": ["when"], "answers": [], "updated": float("nan")},
        {"v": 1, "run": "abc", "plan": ["when"], "answers": [], "updated": 10**400},
        {"v": True, "run": "abc", "plan": ["when"], "answers": []},
    ],
)
def test_garbage_in_storage_is_no_check(raw: Any) -> None:
    assert qn.CheckState.from_dict(raw) is None


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from(["v", "run", "plan", "answers", "focus", "updated"]), st.from_type(object)
    )
)
def test_from_dict_never_raises(raw: dict[str, Any]) -> None:
    qn.CheckState.from_dict(raw)


def test_a_state_whose_questions_left_faq_yaml_has_ended() -> None:
    state = qn.CheckState("abc", ("warning-signs", "gone"), ("none",), None, T0)
    assert qn.step(KB, state, "abc:2:yes", T0).notice == "This check has ended."


# --------------------------------------------------------------------------------------------- validation
def _faq_with(change: Callable[[dict[str, Any]], None]) -> str:
    data = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    change(data["questionnaire"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _question(section: dict[str, Any], qid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in section["questions"] if q["id"] == qid)
    return found


def _problems(change: Callable[[dict[str, Any]], None]) -> list[str]:
    with pytest.raises(KnowledgeError) as err:
        parse_knowledge(_faq_with(change), "faq.yaml")
    return [str(p) for p in err.value.problems]


def _set(
    path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any
) -> Callable[[dict[str, Any]], None]:
    def change(section: dict[str, Any]) -> None:
        path(section)[key] = value

    return change


def _weaken_hamstring_weights(section: dict[str, Any]) -> None:
    for q in section["questions"]:
        for o in q["options"]:
            if o.get("weights", {}).get("tight-hamstrings", 0) > 0:
                o["weights"]["tight-hamstrings"] = 1


def _no_first(section: dict[str, Any]) -> None:
    for question in section["questions"]:
        question["first"] = False


def _first_without_warning_signs(section: dict[str, Any]) -> None:
    _question(section, "core")["first"] = True


def _duplicate_question(section: dict[str, Any]) -> None:
    section["questions"].append(dict(section["questions"][2]))


def _missing_result(section: dict[str, Any]) -> None:
    del section["causes"]["spinal-stenosis"]


VALIDATION_CASES = [
    (
        "unknown cause id",
        _set(lambda s: _question(s, "toes")["options"][2], "weights", {"tight-hamstring": 3}),
        [
            "entry 'toes'",
            "field 'questionnaire.questions[toes].options[not-close].weights'",
            "unknown cause id",
        ],
    ),
    (
        "fewer than two options",
        _set(lambda s: _question(s, "core"), "options", [{"id": "often", "label": "Often", "weights": {}}]),
        ["entry 'core'", "field 'questionnaire.questions[core].options'", "at least two options"],
    ),
    (
        "missing result",
        _missing_result,
        ["entry 'spinal-stenosis'", "field 'questionnaire.causes'", "missing result"],
    ),
    (
        "unreachable result",
        _weaken_hamstring_weights,
        ["entry 'tight-hamstrings'", "field 'questionnaire.causes.tight-hamstrings'", "unreachable result"],
    ),
    (
        "unknown key in a question",
        _set(lambda s: _question(s, "feet"), "colour", "red"),
        ["entry 'feet'", "field 'questionnaire.questions[feet].colour'", "unknown key"],
    ),
    (
        "unknown key in an option",
        _set(lambda s: _question(s, "feet")["options"][0], "wieghts", {}),
        ["field 'questionnaire.questions[feet].options[middle].wieghts'", "unknown key"],
    ),
    (
        "unknown key in the section",
        _set(lambda s: s, "questions_per_run", 5),
        ["field 'questionnaire.questions_per_run'", "unknown key"],
    ),
    (
        "unknown fix",
        _set(lambda s: s["causes"]["herniated-disc"], "fixes", ["see-a-doctor"]),
        ["entry 'herniated-disc'", "field 'questionnaire.causes.herniated-disc.fixes'", "unknown entry id"],
    ),
    (
        "unknown cause in results",
        _set(lambda s: s["causes"], "weak-glutes", {"offer": "x", "fixes": ["improve-form"], "plan": "x"}),
        ["entry 'weak-glutes'", "unknown cause id"],
    ),
    (
        "unknown start question",
        _set(lambda s: s["causes"]["tight-hamstrings"], "start", "flexibility"),
        ["field 'questionnaire.causes.tight-hamstrings.start'", "unknown question id"],
    ),
    ("no warning-signs question first", _no_first, ["field 'questionnaire.questions'", "warning signs"]),
    (
        "a first question that asks no warning signs",
        _first_without_warning_signs,
        ["entry 'core'", "field 'questionnaire.questions[core].first'", "warning signs"],
    ),
    ("duplicate question id", _duplicate_question, ["entry 'when'", "duplicate question id"]),
    (
        "label too long for a button",
        _set(
            lambda s: _question(s, "toes")["options"][0],
            "label",
            "Yes, easily, and I can put both palms flat on the floor",
        ),
        ["options[easily].label", "too long for a button"],
    ),
    (
        "red flag with weights",
        _set(lambda s: _question(s, "warning-signs")["options"][0], "weights", {"herniated-disc": 2}),
        ["options[numb].red_flag", "cannot also have weights"],
    ),
    (
        "per_run larger than the questions",
        _set(lambda s: s, "per_run", 12),
        ["field 'questionnaire.per_run'", "only 9 are defined"],
    ),
    (
        "offer too long",
        _set(
            lambda s: s["causes"]["incorrect-form"],
            "offer",
            "Find out whether your leg press form is behind the pain",
        ),
        ["field 'questionnaire.causes.incorrect-form.offer'", "too long for a button"],
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "expected"), VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES]
)
def test_each_validation_rule_names_file_entry_and_field(
    name: str, change: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    problems = _problems(change)
    assert any(all(part in p for part in expected) for p in problems), "\n".join(problems)
    assert all(p.startswith("faq.yaml:") for p in problems), "every problem has the file and line"


def test_a_question_whose_options_point_nowhere_is_an_error() -> None:
    def change(section: dict[str, Any]) -> None:
        for o in _question(section, "core")["options"]:
            o.pop("weights", None)

    problems = _problems(change)
    assert any("questions[core].options" in p and "tells nothing" in p for p in problems)


def test_all_problems_are_reported_at_once_and_nothing_is_loaded() -> None:
    def change(section: dict[str, Any]) -> None:
        _question(section, "feet")["colour"] = "red"
        _question(section, "toes")["options"][2]["weights"] = {"tight-hamstring": 3}
        del section["causes"]["spinal-stenosis"]

    problems = _problems(change)
    assert len(problems) >= 3


# -------------------------------------------------------------------------------------------- the terminal
def _chat(lines: list[str]) -> str:
    with tempfile.TemporaryDirectory() as data:  # the chat writes its question log there
        done = subprocess.run(
            [sys.executable, "-m", "bot", "chat", "--faq", str(FAQ)],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "DATA_DIR": data},
        )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_terminal_chat_runs_the_whole_check() -> None:
    # numbers pick the choices of the last message: None of these (twice: two warning-sign screens),
    # During the set, Lifts..., Twice..., Neither..., No, it stays in my back
    out = _chat(["/check", "6", "5", "1", "2", "1", "3", "1"])
    assert "Quick check · 1/7" in out and "Quick check · 7/7" in out
    result = out.split("Your check: what most likely fits", 1)[1]
    assert result.lstrip().startswith("1. Tight hamstrings")
    assert "Stretch your hamstrings" in result


def test_the_terminal_chat_back_and_cancel() -> None:
    # None of these, then Back (6th choice on question 2), then Cancel (8th choice on question 1)
    out = _chat(["/check", "6", "6", "8"])
    assert out.count("Quick check · 1/7") == 2, "Back returned to question 1"
    assert "Check cancelled" in out


def test_the_terminal_chat_answers_free_text_mid_way() -> None:
    out = _chat(["/check", "6", "5", "where should my feet go on the leg press"])
    assert "Fix: improve your form" in out
    assert "Your quick check is still open at question 3/7." in out


def test_the_terminal_chat_stops_at_a_warning_sign() -> None:
    out = _chat(["/check", "3"])
    assert URGENT_HEADINGS["emergency"] in out
    assert "changes in bladder or bowel control" in out
