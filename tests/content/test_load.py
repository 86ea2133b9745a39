"""faq.yaml loading and validation: an editor gets every problem at once, with file, line, entry and field."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.content.load import load_knowledge, parse_knowledge
from bot.content.problems import KnowledgeError

ROOT = Path(__file__).resolve().parents[2]
FAQ = ROOT / "bot" / "faq.yaml"

CAUSES = {"incorrect-form", "muscle-imbalances", "tight-hamstrings", "spinal-stenosis", "herniated-disc"}
FIXES = {
    "improve-form",
    "strengthen-core",
    "stretch-hamstrings",
    "back-support",
    "modify-exercise",
    "professional-help",
}
FAQS = {
    "why-back-hurts",
    "form-tips",
    "core-exercises",
    "hamstring-stretch-frequency",
    "alternative-exercises",
}

MINIMAL = textwrap.dedent(
    """\
    meta:
      bot_name: Test bot
      source_title: A title
      disclaimer: Not medical advice.
    entries:
      - id: first-entry
        kind: cause
        title: First
        questions: [why does it hurt]
        answer: Because.
        related: [second-entry]
      - id: second-entry
        kind: fix
        title: Second
        questions: [what do I do]
        answer: Do this.
        related: [first-entry]
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge(text, "faq.yaml")
    return [str(p) for p in info.value.problems]


def test_real_file_has_the_public_ids_by_kind() -> None:
    kb = load_knowledge(FAQ)
    assert {e.id for e in kb.of_kind("cause")} == CAUSES
    assert {e.id for e in kb.of_kind("fix")} == FIXES
    assert {e.id for e in kb.of_kind("faq")} == FAQS
    assert kb.meta.bot_name and kb.meta.source_title and kb.meta.disclaimer


def test_every_cause_leads_to_a_fix_and_every_fix_to_a_cause() -> None:
    kb = load_knowledge(FAQ)
    for entry in kb.entries:
        kinds = {kb.get(r).kind for r in entry.related if kb.get(r)}  # type: ignore[union-attr]
        if entry.kind == "cause":
            assert "fix" in kinds, entry.id
        if entry.kind == "fix":
            assert "cause" in kinds, entry.id
        if entry.kind == "faq":
            assert kinds & {"cause", "fix"}, entry.id


def test_every_entry_has_alternate_phrasings() -> None:
    for entry in load_knowledge(FAQ).entries:
        assert len(entry.questions) >= 5, entry.id


def test_loaded_objects_are_frozen() -> None:
    kb = load_knowledge(FAQ)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kb.entries[0].title = "changed"  # type: ignore[misc]


def test_minimal_file_loads() -> None:
    kb = parse_knowledge(MINIMAL)
    assert [e.id for e in kb.entries] == ["first-entry", "second-entry"]
    assert kb.get("second-entry") is not None and kb.get("nope") is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kind: cause", "kind: reason", ["entry 'first-entry'", "field 'kind'", "unknown kind 'reason'"]),
        ("id: second-entry", "id: first-entry", ["entry 'first-entry'", "field 'id'", "duplicate id"]),
        ("id: first-entry", "id: First_Entry", ["field 'id'", "malformed id 'First_Entry'"]),
        ("related: [second-entry]", "related: [no-such-entry]", ["field 'related'", "'no-such-entry'"]),
        ("questions: [why does it hurt]", "questions: []", ["entry 'first-entry'", "field 'questions'"]),
        ("answer: Because.", "answer: '  '", ["entry 'first-entry'", "field 'answer'", "missing or empty"]),
        ("answer: Because.", "answer: " + "x" * 5000, ["field 'answer'", "too long"]),
        (
            "title: First",
            "title: First\n    colour: red",
            ["entry 'first-entry'", "field 'colour'", "unknown key"],
        ),
        ("meta:", "extras: 1\nmeta:", ["field 'extras'", "unknown top-level key"]),
        ("  disclaimer: Not medical advice.\n", "", ["field 'meta.disclaimer'", "missing"]),
    ],
)
def test_each_problem_names_file_line_entry_and_field(old: str, new: str, expected: list[str]) -> None:
    assert old in MINIMAL
    problems = problems_of(MINIMAL.replace(old, new, 1))
    text = "\n".join(problems)
    for part in expected:
        assert part in text
    assert all(p.startswith("faq.yaml:") for p in problems), problems  # with a line number


def test_line_numbers_point_at_the_field() -> None:
    text = MINIMAL.replace("kind: fix", "kind: nonsense")
    (problem,) = problems_of(text)
    line = text.splitlines().index("    kind: nonsense") + 1
    assert problem.startswith(f"faq.yaml:{line},")


def test_all_problems_are_reported_at_once() -> None:
    broken = MINIMAL.replace("kind: cause", "kind: x").replace("answer: Do this.", "answer: ''")
    broken = broken.replace("related: [first-entry]", "related: [ghost]")
    assert len(problems_of(broken)) == 3


def test_invalid_yaml_says_where() -> None:
    (problem,) = problems_of(MINIMAL.replace("title: First", "title: [unclosed"))
    assert problem.startswith("faq.yaml:") and "not valid YAML" in problem


def test_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="file not found"):
        load_knowledge(tmp_path / "nope.yaml")


def test_matching_section_is_validated() -> None:
    text = MINIMAL + textwrap.dedent(
        """\
        matching:
          thresholds: {confident: 20, unsure: 60}
          concepts:
            back: [lower back]
          gate:
            subjects: [back, knees]
          practices: [stretching]
          reported: [physio]
          conditions: [hernia]
        """
    )
    joined = "\n".join(problems_of(text))
    assert "matching.conditions" in joined and "unknown concept 'hernia'" in joined
    assert "unsure must not exceed confident" in joined
    assert "unknown concept 'knees'" in joined
    assert "matching.practices" in joined and "unknown concept 'stretching'" in joined
    assert "matching.reported" in joined and "unknown concept 'physio'" in joined


@pytest.mark.parametrize(
    ("line", "key", "problem"),
    [
        ("only_asked: sometimes", "only_asked", "must be true or false"),
        ("about_the_person: maybe", "about_the_person", "must be true or false"),
        ("unless_together: [back, [back, knees]]", "unless_together", "must be a list of lists"),
    ],
)
def test_an_off_topic_rule_says_what_its_keys_must_be(line: str, key: str, problem: str) -> None:
    text = MINIMAL + textwrap.dedent(
        f"""\
        matching:
          concepts:
            back: [lower back]
          gate:
            subjects: [back]
            off_topic:
              - name: a rule
                concepts: [back]
                {line}
        """
    )
    about_it = [p for p in problems_of(text) if key in p]
    assert len(about_it) == 1 and problem in about_it[0]  # once, and saying what is wrong


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("{words: many, unless: [back], entries: [second-entry]}", "must be a whole number of words"),
        ("{words: 30, unless: [knees], entries: [second-entry]}", "unknown concept 'knees'"),
        ("{words: 30, unless: [back], entries: [third-entry]}", "unknown entry id 'third-entry'"),
        ("{words: 30, unless: [back], entries: second-entry}", "must be a list of entry ids"),
        ("{words: 30, unles: [back], entries: [second-entry]}", "unknown key"),
    ],
)
def test_the_long_story_rule_names_what_is_wrong_and_where(section: str, problem: str) -> None:
    text = MINIMAL + textwrap.dedent(
        f"""\
        matching:
          concepts:
            back: [lower back]
          long_story: {section}
        """
    )
    about_it = [p for p in problems_of(text) if "matching.long_story" in p]
    assert len(about_it) == 1 and problem in about_it[0]  # once, saying what is wrong
    assert about_it[0].startswith("faq.yaml:21,")  # the line of the long_story section


def test_the_long_story_rule_comes_from_the_file() -> None:
    kb = load_knowledge(FAQ)
    story = kb.matching.long_story
    assert story is not None and story.words > 0
    assert story.entries <= {e.id for e in kb.entries} and "legpress" in story.unless


def test_thresholds_come_from_the_file() -> None:
    data = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    kb = load_knowledge(FAQ)
    assert kb.matching.confident == data["matching"]["thresholds"]["confident"]
    assert kb.matching.unsure == data["matching"]["thresholds"]["unsure"]
