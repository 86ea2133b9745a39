"""`legpress-bot report` on a seeded question log: what the maintainer reads, parses, pastes and looks at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.content.load import parse_knowledge
from bot.content.model import Entry
from bot.core.events import CheckCancelled, CheckFinished, CheckStarted, RedFlagRaised
from bot.core.matching import Candidate, Match
from bot.report import PLOT_HINT, write_plot
from bot.storage.question_log import QuestionLog
from bot.storage.summary import summarise

ROOT = Path(__file__).resolve().parent.parent
DAY = 86_400.0

MINI_FAQ = """\
meta:
  bot_name: Test Bot
  source_title: Test article
  disclaimer: Not medical advice.
entries:
  - id: tight-hamstrings
    kind: cause
    title: "Cause: tight hamstrings"
    questions:
      - Can tight hamstrings cause lower back pain on the leg press?
      - my hamstrings are tight
    answer: Tight hamstrings pull the pelvis under.
  - id: back-support
    kind: fix
    title: "Fix: use a back support"
    questions:
      - Should I wear a belt on the leg press?
      - lifting belt for leg press
    answer: A belt can help some people.
  - id: foot-placement
    kind: faq
    title: Where should my feet go?
    questions:
      - Where should I put my feet on the leg press platform?
    answer: Mid-platform, shoulder width.
"""
ODD = 'knee: "clicks" #weird & <odd> 🙂'


def entry(entry_id: str) -> Entry:
    return Entry(entry_id, "faq", entry_id, ("q?",), "a.", ())


def answered(entry_id: str) -> Match:
    return Match("confident", entry(entry_id), 80.0, ())


NONE = Match("none", None, 0.0, (), "low score")
UNSURE = Match("unsure", entry("tight-hamstrings"), 40.0, (Candidate(entry("back-support"), 38.0),))


def seed(data: Path, database_url: str = "") -> None:
    """A month in the life of the bot, relative to now (the CLI reads the real clock)."""
    now = time.time() - 60
    with QuestionLog.open(data, database_url=database_url) as a:
        for hour, (user, text) in enumerate(
            [
                (1, "which belt should I buy"),
                (2, "which belt should I buy"),
                (3, "Which belt should I buy??"),
                (1, "which belt should i buy"),
                (4, "what belt should I buy"),
                (5, "is a weighted vest good"),
                (6, "is a weighted vest good"),
                (7, ODD),
            ]
        ):
            a.record_question(user, user, "private", text, NONE, at=now - hour * 3600)
        for user in (8, 9):
            a.record_question(user, -100, "group", "hamstring stretch how often", UNSURE, at=now - DAY)
        ids = {}
        for i, entry_id in enumerate(["tight-hamstrings"] * 6 + ["back-support"] * 3 + ["foot-placement"]):
            ids[i] = a.record_question(
                10 + i, 10 + i, "private", "a question", answered(entry_id), at=now - i * DAY
            )
        for i in (0, 1, 2):
            a.record_feedback(10 + i, True, question_id=ids[i], at=now - i * DAY)
        a.record_feedback(13, False, question_id=ids[3], at=now - 3 * DAY)
        a.record_feedback(16, False, question_id=ids[6], text="which brand", at=now - 6 * DAY)
        a.record_feedback(17, False, question_id=ids[7], at=now - 7 * DAY)
        a.record_question(30, 30, "private", "cant feel my legs", None, urgent=True, at=now)
        for user in (40, 41, 42, 43):
            a.record_check(user, user, CheckStarted(), at=now)
        a.record_check(40, 40, CheckFinished("tight-hamstrings"), at=now)
        a.record_check(41, 41, CheckFinished("tight-hamstrings"), at=now)
        a.record_check(42, 42, RedFlagRaised("numbness", in_check=True), at=now)
        a.record_check(43, 43, CheckCancelled(), at=now)
        a.record_question(50, 50, "private", "an ancient question", NONE, at=now - 40 * DAY)


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report reads DATA_DIR's file unless a test sets DATABASE_URL."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture(params=["sqlite", "postgres"])
def log_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, no_database_url: None
) -> str:
    """Each place the log can be: DATA_DIR's file, or PostgreSQL through DATABASE_URL (which the report,
    in this process and in the ones it starts, then reads)."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("pg_server").fresh_database()
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def data(tmp_path: Path, log_database: str) -> Path:
    folder = tmp_path / "data"
    seed(folder, log_database)
    (tmp_path / "faq.yaml").write_text(MINI_FAQ, encoding="utf-8")
    return folder


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as the maintainer runs it: a separate process, started in the deployment's folder."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "FAQ_PATH")}
    full_env.update({"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", "report", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


# ------------------------------------------------------------------------------------------------ text
def test_the_text_report_shows_what_needs_work_first(data: Path) -> None:
    result = run_cli("--data-dir", str(data), cwd=data.parent)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Questions to the bot, last 30 days (")
    assert "21 questions from 20 people (1 asked more than once)" in out
    assert "answered 10 (48%) · unsure 2 (10%) · no match 8 (38%) · urgent 1 (5%)" in out
    assert "an ancient question" not in out  # older than 30 days

    sections = [
        "Unanswered (no match), most frequent first",
        "Unsure (“did you mean…”), most frequent first",
        "Most asked entries",
        "Answers with the most 👎",
        "The check",
    ]
    positions = [out.index(s) for s in sections]
    assert positions == sorted(positions)

    unanswered = out[positions[0] : positions[1]]
    assert "  1. 5× “which belt should I buy”  (4 people)" in unanswered
    assert (
        "also: “Which belt should I buy??”, “which belt should i buy”, “what belt should I buy”" in unanswered
    )
    # the score is the one `ask` gives ("which belt" alone names no subject): the entry is nearest by words
    assert (
        "      closest entry: back-support “Fix: use a back support” (by its words; `ask` scores the "
        "question 0: no subject)" in unanswered
    )
    assert "  2. 2× “is a weighted vest good”  (2 people)\n      closest entry: none" in unanswered
    assert "hamstring stretch how often" in out[positions[1] : positions[2]]

    assert "  1. tight-hamstrings: 6 questions, 👍 3 👎 1" in out
    assert "  2. back-support: 3 questions, 👍 0 👎 2" in out
    disliked = out[positions[3] : positions[4]]
    assert "  1. back-support: 👎 2 👍 0\n      missing: “which brand”" in disliked
    assert "  2. tight-hamstrings: 👎 1 👍 3" in disliked
    assert "started 4 → finished 2 (50%) · red-flag stops 1 · cancelled 1 · expired 0" in out
    assert "top causes: tight-hamstrings 2" in out


def test_days_widens_and_narrows_the_window(data: Path) -> None:
    wide = run_cli("--data-dir", str(data), "--days", "60", cwd=data.parent)
    assert "an ancient question" in wide.stdout
    narrow = run_cli("--data-dir", str(data), "--days", "1", cwd=data.parent)
    assert "last 1 day (" in narrow.stdout
    assert "hamstring stretch how often" not in narrow.stdout  # asked yesterday


def test_data_dir_comes_from_the_environment_and_defaults_to_data(data: Path) -> None:
    from_env = run_cli(cwd=data.parent.parent, env={"DATA_DIR": str(data)})
    assert from_env.returncode == 0, from_env.stderr
    assert "21 questions" in from_env.stdout
    default = run_cli(cwd=data.parent)  # ./data
    assert default.returncode == 0, default.stderr
    assert "21 questions" in default.stdout


def test_a_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("--data-dir", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"no database at {tmp_path / 'nothing' / 'bot.sqlite3'} "
        "(set DATA_DIR or --data-dir to the bot's data folder)"
    )


def test_an_empty_log_still_reads_well(
    tmp_path: Path, log_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    QuestionLog.open(tmp_path, database_url=log_database).close()
    assert main(["report", "--data-dir", str(tmp_path), "--faq", str(ROOT / "bot" / "faq.yaml")]) == 0
    out = capsys.readouterr().out
    assert "0 questions from 0 people" in out
    assert out.count("  none") == 4
    assert "started 0 → finished 0 (–)" in out


def test_the_report_names_the_database_it_read_and_never_its_password(data: Path) -> None:
    result = run_cli("--data-dir", str(data), cwd=data.parent)
    assert result.returncode == 0, result.stderr
    url = os.environ.get("DATABASE_URL", "")
    where = f"127.0.0.1:{url.rsplit(':', 1)[1]}" if url else str(data / "bot.sqlite3")
    assert result.stdout.splitlines()[0].endswith(where)


def test_a_misconfigured_database_url_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path, env={"DATABASE_URL": "mysql://bot:hunter2@db/legpress"})
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "DATABASE_URL must be a postgresql:// address" in result.stderr
    assert "hunter2" not in result.stderr


# ------------------------------------------------------------------------------------------------ json
def test_json_is_the_same_report_for_tools(data: Path) -> None:
    result = run_cli("--data-dir", str(data), "--json", cwd=data.parent)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["days"] == 30
    assert report["totals"]["questions"] == 21
    assert report["totals"]["no_match"] == 8
    first = report["unanswered"][0]
    assert (first["count"], first["askers"], first["example"], first["closest"]) == (
        5,
        4,
        "which belt should I buy",
        "back-support",
    )
    for group in report["unanswered"] + report["unsure"]:  # the scores mean what `ask` means
        if group["closest"] is not None:
            faq = data.parent / "faq.yaml"
            asked = subprocess.run(
                [sys.executable, "-m", "bot", "ask", "--json", "--faq", str(faq), group["example"]],
                capture_output=True,
                text=True,
                encoding="utf-8",
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                timeout=60,
            )
            assert group["closest_score"] == round(json.loads(asked.stdout)["score"], 1), group
    assert [e["entry_id"] for e in report["top_entries"]] == [
        "tight-hamstrings",
        "back-support",
        "foot-placement",
    ]
    assert report["disliked"][0]["missing"] == ["which brand"]
    assert report["funnel"]["top_causes"] == [["tight-hamstrings", 2]]
    assert len(report["per_day"]) == 30
    assert sum(d["answered"] for d in report["per_day"]) == 10


# ------------------------------------------------------------------------------------------------ yaml
def test_unanswered_yaml_is_valid_and_grouped_under_the_closest_entry(data: Path) -> None:
    result = run_cli("--data-dir", str(data), "--unanswered-yaml", cwd=data.parent)
    assert result.returncode == 0, result.stderr
    snippet = yaml.safe_load(result.stdout)
    assert snippet["back-support"] == [
        "which belt should I buy",
        "Which belt should I buy??",
        "which belt should i buy",
        "what belt should I buy",
    ]
    assert "is a weighted vest good" in snippet["no-close-entry"]
    assert ODD in [q for questions in snippet.values() for q in questions]
    assert "hamstring stretch how often" not in result.stdout  # unsure, not unanswered


def test_unanswered_yaml_lines_paste_straight_into_faq_yaml(data: Path) -> None:
    out = run_cli("--data-dir", str(data), "--unanswered-yaml", cwd=data.parent).stdout
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("back-support:"))) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break
        block.append(line)
    anchor = "      - lifting belt for leg press\n"
    edited = MINI_FAQ.replace(anchor, anchor + "\n".join(block) + "\n")
    kb = parse_knowledge(edited)
    questions = kb.get("back-support").questions  # type: ignore[union-attr]
    assert questions[2:] == (
        "which belt should I buy",
        "Which belt should I buy??",
        "which belt should i buy",
        "what belt should I buy",
    )


# ------------------------------------------------------------------------------------------------ plot
def test_plot_writes_one_png_picture(data: Path) -> None:
    matplotlib_image = pytest.importorskip("matplotlib.image")
    picture = data.parent / "report.png"
    result = run_cli("--data-dir", str(data), "--plot", str(picture), cwd=data.parent)
    assert result.returncode == 0, result.stderr
    assert f"picture written to {picture}" in result.stderr
    assert "Most asked entries" in result.stdout
    raw = picture.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib_image.imread(picture)
    height, width = pixels.shape[:2]
    assert (width, height) == (1100, 800)
    assert pixels.std() > 0.05, "not a blank picture"


def test_plot_of_an_empty_log(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with QuestionLog.open(tmp_path) as a:
        report = summarise(a, 7)
    write_plot(report, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_says_how_to_get_it(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if it were not installed
    picture = data.parent / "report.png"
    assert main(["report", "--data-dir", str(data), "--plot", str(picture)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == PLOT_HINT + "\n" and "'.[plot]'" in PLOT_HINT
    assert not picture.exists()
