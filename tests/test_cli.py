"""The command line, run as a person or a script would run it: a real subprocess."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from botprocess import run_cli

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"query", "id", "kind", "title", "score", "band", "alternatives", "urgent", "red_flag"}


def cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin or "", **(env or {}))


def test_ask_prints_the_answer_a_person_would_see() -> None:
    r = cli("ask", "where should my feet go on the leg press?")
    assert r.returncode == 0
    assert "feet" in r.stdout.lower() and "platform" in r.stdout.lower()
    assert "<b>" not in r.stdout  # plain text in the terminal


def test_ask_no_match_says_what_the_bot_knows() -> None:
    r = cli("ask", "what's the capital of France")
    assert r.returncode == 0
    assert "/causes" in r.stdout and "leg press" in r.stdout


def test_ask_json_one_object() -> None:
    r = cli("ask", "--json", "is a lifting belt worth it on the leg press?")
    obj = json.loads(r.stdout)
    assert set(obj) >= KEYS
    assert obj["id"] == "back-support" and obj["kind"] == "fix" and obj["band"] == "confident"
    assert 0 <= obj["score"] <= 100
    assert all(set(a) == {"id", "score"} for a in obj["alternatives"])


def test_ask_json_abstains_with_null_id() -> None:
    obj = json.loads(cli("ask", "--json", "hello there").stdout)
    assert obj["id"] is None and obj["band"] == "none"


def test_batch_mode_answers_every_line_in_order() -> None:
    questions = ["feet placement", "", "hi", "stenosis?", "x" * 5000, "שלום 👋🏽 <b>&amp;"]
    r = cli("ask", "--json", stdin="\n".join(questions) + "\n")
    lines = r.stdout.splitlines()
    assert len(lines) == len(questions)
    objs = [json.loads(line) for line in lines]
    assert [o["query"] for o in objs] == questions
    assert objs[3]["id"] == "spinal-stenosis" and objs[2]["id"] is None


def test_batch_mode_streams_one_line_per_question() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
    )
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write("belt?\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())  # answered before stdin is closed
        assert first["query"] == "belt?"
        proc.stdin.write("hamstring stretch how long\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] in {
            "stretch-hamstrings",
            "hamstring-stretch-frequency",
        }
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_plain_batch_answers_are_apart_and_offer_nothing_to_press() -> None:
    r = cli("ask", stdin="do I need a belt?\nwhere should my feet go on the leg press?\n")
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().split("\n\n> ")
    assert first.startswith("> do I need a belt?\n") and "belt" in first.lower()
    assert second.startswith("where should my feet go") and "platform" in second.lower()
    assert "👍" not in r.stdout and "👎" not in r.stdout and "[1]" not in r.stdout


def test_check_good_file_prints_one_line() -> None:
    r = cli("check", "bot/faq.yaml")
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 1 and "16 entries" in r.stdout


def test_check_bad_file_lists_problems_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "meta: {bot_name: b, source_title: t, disclaimer: d}\n"
        "entries:\n  - {id: x, kind: nope, title: t, questions: [q], answer: a, related: [ghost]}\n",
        encoding="utf-8",
    )
    r = cli("check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:3, entry 'x', field 'kind'" in r.stderr
    assert "field 'related'" in r.stderr and "2 problems" in r.stderr
    assert "Traceback" not in r.stderr


def test_faq_path_from_environment(tmp_path: Path) -> None:
    r = cli("ask", "belt?", env={"FAQ_PATH": str(tmp_path / "missing.yaml")})
    assert r.returncode == 1 and "file not found" in r.stderr and "Traceback" not in r.stderr


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdout.close()  # like `| head -0`
    with contextlib.suppress(BrokenPipeError):  # the bot may stop reading as soon as it cannot write
        proc.stdin.write("belt?\n" * 20000)
        proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in proc.stderr.read()


def test_ask_and_check_start_without_the_telegram_door_or_the_report() -> None:
    """A one-off question must not pay for python-telegram-bot, httpx, SQLite or the report."""
    probe = (
        "import sys; from bot.cli import main; main(sys.argv[1:]); "
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & {'telegram', 'httpx', 'sqlite3'}"
        " | {m for m in sys.modules if m in ('bot.report', 'bot.storage.summary')}))"
    )
    for args in (["ask", "why does my back hurt on the leg press"], ["check"]):
        r = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().splitlines()[-1] == "LOADED []", (args, r.stdout)


def test_a_misspelled_question_is_answered_as_the_well_spelled_one() -> None:
    """Typo correction (and the fuzzy matching it needs) is loaded at the first word the bot does not know:
    a well-spelled one-off question goes without it, a misspelled one gets the same answer."""
    probe = (
        "import json, sys; from bot.cli import main; main(['ask', '--json', sys.argv[1]]); "
        "print(json.dumps('rapidfuzz' in sys.modules))"
    )
    found = {}
    for question in ("why does my back hurt after leg press?", "why does my bakc hurt aftr leg prss?"):
        r = subprocess.run(
            [sys.executable, "-c", probe, question], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        assert r.returncode == 0, r.stderr
        answer, loaded = (json.loads(line) for line in r.stdout.strip().splitlines())
        found[question] = (answer["id"], answer["band"], loaded)
    assert list(found.values()) == [
        ("why-back-hurts", "confident", False),
        ("why-back-hurts", "confident", True),
    ]
