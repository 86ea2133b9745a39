"""`legpress-bot check` on real mistakes in the real faq.yaml: one problem per mistake, at its own line."""

from __future__ import annotations

import pytest
from conftest import FAQ

from bot.content.load import parse_knowledge
from bot.content.problems import KnowledgeError, Problem

TEXT = FAQ.read_text(encoding="utf-8")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge(text, "faq.yaml")
    return caught.value.problems


def edited(*changes: tuple[str, str]) -> str:
    text = TEXT
    for old, new in changes:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_an_entry_given_an_existing_id_is_one_problem() -> None:
    text = edited(("  - id: muscle-imbalances\n", "  - id: incorrect-form\n"))
    (problem,) = problems_of(text)
    assert problem.line == line_of(text, "  - id: incorrect-form\n", "Cause: incorrect form")
    assert problem.field == "id" and "duplicate id" in problem.message
    assert "'muscle-imbalances'" in problem.message, "the id the rest of the file still uses is named"


def test_a_duplicate_is_reported_even_when_the_entry_has_other_problems() -> None:
    text = edited(
        (
            "  - id: muscle-imbalances\n    kind: cause\n",
            "  - id: incorrect-form\n    kind: cause\n    colour: red\n",
        )
    )
    problems = problems_of(text)
    assert sorted(p.field or "" for p in problems) == ["colour", "id"]
    assert any("duplicate id" in p.message for p in problems)


def test_three_mistakes_are_three_problems() -> None:
    text = edited(
        (
            "related: [improve-form, form-tips, professional-help]",
            "related: [improve-form, form-tipz, professional-help]",
        ),
        (
            '    kind: cause\n    title: "Cause: tight hamstrings"',
            '    kind: cuase\n    title: "Cause: tight hamstrings"',
        ),
        ("          weights: {muscle-imbalances: 1}", "          weights: {muscle-imbalance: 1}"),
    )
    problems = problems_of(text)
    assert len(problems) == 3, "\n".join(map(str, problems))
    assert {p.line for p in problems} == {
        line_of(text, "form-tipz"),
        line_of(text, "kind: cuase"),
        line_of(text, "weights: {muscle-imbalance: 1}"),
    }


def test_an_unknown_id_used_in_many_places_is_one_problem_naming_them() -> None:
    text = edited(
        ("  - id: muscle-imbalances\n", "  - id: muscle-imbalance\n"),
        ("  - id: tight-hamstrings\n", "  - id: incorrect-form\n"),
    )
    problems = problems_of(text)
    unknown = [p for p in problems if "unknown" in p.message and "'muscle-imbalances'" in p.message]
    assert len(unknown) == 1 and "also used at lines" in unknown[0].message
    assert len([p for p in problems if "'tight-hamstrings'" in p.message]) == 1


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("          label: Now and then\n", "          label: ''\n", "          label: ''"),
        ("      start: feet\n", "      start: feet\n      colour: red\n", "      colour: red"),
        (
            "          weights: {muscle-imbalances: 3}",
            "          weights: {muscle-imbalances: 30}",
            "{muscle-imbalances: 30}",
        ),
        (
            "      topic: core training\n",
            "      topic: core training\n      first: maybe\n",
            "      first: maybe",
        ),
    ],
    ids=["option label", "cause result key", "weight", "question flag"],
)
def test_a_questionnaire_problem_points_at_its_own_line(old: str, new: str, needle: str) -> None:
    text = edited((old, new))
    (problem,) = problems_of(text)
    assert problem.line == line_of(text, needle), str(problem)
