"""`legpress-bot report`: the maintainer's view of the question log.

The loop it serves: read what people asked that the bot could not answer, add their words to faq.yaml
(`--unanswered-yaml` writes them ready to paste), run `legpress-bot check`, then /reload the bot.
Text for a terminal, `--json` for tools, `--plot FILE.png` for a picture (needs the `plot` extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.config import faq_path
from bot.content.load import load_knowledge
from bot.content.problems import KnowledgeError
from bot.core.matching import Matcher
from bot.storage.question_log import QuestionLog, QuestionLogError
from bot.storage.summary import EntryStat, Group, Summary, percent, summarise
from bot.text import one_line

PLOT_HINT = "--plot needs matplotlib, the plot extra: pip install '.[plot]' (in a clone) or matplotlib"
NO_ENTRY_KEY = "no-close-entry"
QUESTION_INDENT = " " * 6  # where `questions:` items sit in faq.yaml, so pasted lines need no re-indenting


def database_url() -> str:
    """DATABASE_URL, as the bot reads it: the question log on PostgreSQL, or "" for DATA_DIR's file."""
    from bot.config import ConfigError, check_database_url

    try:
        return check_database_url(os.environ.get("DATABASE_URL", "").strip())
    except ConfigError as exc:
        raise QuestionLogError(str(exc)) from None


def data_dir(arg: str | None = None) -> Path:
    """The bot's data folder: --data-dir, else DATA_DIR, else ./data (as the bot itself resolves it)."""
    return Path(arg or os.environ.get("DATA_DIR") or "data")


# ------------------------------------------------------------------------------------------------ text
def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _group_lines(n: int, g: Group) -> list[str]:
    lines = [f"{n:>3}. {g.count}× “{one_line(g.example, 90)}”  ({_plural(g.askers, 'person', 'people')})"]
    if g.others:
        lines.append("      also: " + ", ".join(f"“{one_line(o, 40)}”" for o in g.others))
    if g.closest and g.closest_reason:
        lines.append(
            f"      closest entry: {g.closest} “{g.closest_title}” (by its words; `ask` scores the question "
            f"{g.closest_score:g}: {g.closest_reason})"
        )
    elif g.closest:
        score = f"`ask` scores the question {g.closest_score:g}"
        lines.append(f"      closest entry: {g.closest} “{g.closest_title}” ({score})")
    else:
        lines.append("      closest entry: none")
    return lines


def _entry_name(e: EntryStat) -> str:
    return e.entry_id if e.title else f"{e.entry_id} (no longer in faq.yaml)"


def render_text(report: Summary, source: str = "") -> str:
    """The report as a terminal reads it: totals, then what needs work, most frequent first."""
    t, f = report.totals, report.funnel
    head = f"Questions to the bot, last {_plural(report.days, 'day')} ({report.since} to {report.until})"
    out = [head + (f", {source}" if source else ""), ""]
    out.append(
        f"{_plural(t.questions, 'question')} from {_plural(t.askers, 'person', 'people')} "
        f"({t.repeat_askers} asked more than once)"
    )
    if t.questions:
        out.append(
            f"  answered {t.answered} ({percent(t.answered, t.questions)}) · "
            f"unsure {t.unsure} ({percent(t.unsure, t.questions)}) · "
            f"no match {t.no_match} ({percent(t.no_match, t.questions)}) · "
            f"urgent {t.urgent} ({percent(t.urgent, t.questions)})"
        )
        out.append(f"  followed by the check: {t.took_check}")

    sections: list[tuple[str, Sequence[Group]]] = [
        ("Unanswered (no match), most frequent first", report.unanswered),
        ("Unsure (“did you mean…”), most frequent first", report.unsure),
    ]
    for title, groups in sections:
        out += ["", title]
        if not groups:
            out.append("  none")
        for n, g in enumerate(groups, 1):
            out += _group_lines(n, g)

    out += ["", "Most asked entries"]
    if not report.top_entries:
        out.append("  none")
    for n, e in enumerate(report.top_entries, 1):
        out.append(
            f"{n:>3}. {_entry_name(e)}: {_plural(e.asked, 'question')}, 👍 {e.positive} 👎 {e.negative}"
        )

    out += ["", "Answers with the most 👎"]
    if not report.disliked:
        out.append("  none")
    for n, e in enumerate(report.disliked, 1):
        out.append(f"{n:>3}. {_entry_name(e)}: 👎 {e.negative} 👍 {e.positive}")
        out += [f"      missing: “{one_line(m, 90)}”" for m in e.missing]

    out += ["", "The check"]
    out.append(
        f"  started {f.started} → finished {f.finished} ({percent(f.finished, f.started)}) · "
        f"red-flag stops {f.red_flag} · cancelled {f.cancelled} · expired {f.expired}"
    )
    if f.top_causes:
        out.append("  top causes: " + ", ".join(f"{c} {n}" for c, n in f.top_causes))
    return "\n".join(out)


def report_json(report: Summary) -> str:
    return json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=2)


# ------------------------------------------------------------------------------------------------ yaml
def _yaml_string(text: str) -> str:
    """One question as a double-quoted YAML scalar on one line, whatever characters it holds."""
    dumped = yaml.safe_dump(one_line(text, 300), default_style='"', allow_unicode=True, width=1 << 20)
    return dumped.strip()


def unanswered_yaml(report: Summary, limit: int = 20) -> str:
    """The top unanswered wordings as YAML, grouped under the closest entry id: each list can be pasted
    under that entry's `questions:` in faq.yaml as it is (the lines carry faq.yaml's indentation)."""
    by_entry: dict[str, list[Group]] = {}
    for g in report.unanswered[:limit]:
        by_entry.setdefault(g.closest or NO_ENTRY_KEY, []).append(g)
    out = [
        f"# Unanswered questions, last {_plural(report.days, 'day')} ({report.since} to {report.until}),",
        "# grouped under the entry closest to them. Paste the lines that the entry really answers under",
        "# its `questions:` in faq.yaml; the rest may need a new entry. Then run `legpress-bot check`",
        "# and /reload the bot.",
    ]
    if not by_entry:
        out.append("{}  # nothing unanswered")
    for key, groups in by_entry.items():
        title = groups[0].closest_title
        out.append(f"{key}:" + (f"  # {one_line(title, 80)}" if title else "  # nothing close: a new entry?"))
        for g in groups:
            wordings = (g.example, *g.others)
            note = f"asked {g.count}× by {_plural(g.askers, 'person', 'people')}"
            if g.closest_score is not None:
                note += f", `ask` scores it {g.closest_score:g}"
            out.append(f"{QUESTION_INDENT}- {_yaml_string(wordings[0])}  # {note}")
            out += [f"{QUESTION_INDENT}- {_yaml_string(w)}" for w in wordings[1:]]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------ plot
def plot_available() -> bool:
    try:
        import matplotlib  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def write_plot(report: Summary, path: Path) -> None:
    """One picture: questions per day by outcome (stacked bars) above the most asked entries."""
    from matplotlib.figure import Figure  # type: ignore[import-not-found,unused-ignore]
    from matplotlib.ticker import MaxNLocator  # type: ignore[import-not-found,unused-ignore]

    fig = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    daily, top = fig.subplots(2, 1, height_ratios=(3, 2))
    days = [d.day[5:] for d in report.per_day]  # MM-DD
    bottom = [0] * len(days)
    series = (
        ("answered", "#4c9a2a"),
        ("unsure", "#e0a800"),
        ("no_match", "#c0392b"),
        ("urgent", "#6c3483"),
    )
    for name, colour in series:
        values = [getattr(d, name) for d in report.per_day]
        daily.bar(days, values, bottom=bottom, color=colour, label=name.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    daily.set_title(f"Questions per day, last {_plural(report.days, 'day')}")
    daily.set_ylabel("questions")
    daily.yaxis.set_major_locator(MaxNLocator(integer=True))
    daily.legend(loc="upper left")
    step = max(1, len(days) // 15)
    daily.set_xticks(range(0, len(days), step), days[::step], rotation=45, ha="right")

    entries = list(reversed(report.top_entries))
    top.barh([e.entry_id for e in entries], [e.asked for e in entries], color="#2e86c1")
    top.set_title("Most asked entries")
    top.set_xlabel("questions answered")
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not entries:
        top.text(0.5, 0.5, "no answered questions yet", ha="center", va="center", transform=top.transAxes)
    fig.savefig(path, format="png")


# ------------------------------------------------------------------------------------------------- cli
def load_matcher(faq: Path) -> Matcher | None:
    """A matcher on the current faq.yaml, or None (with a warning) when it does not load."""
    try:
        return Matcher(load_knowledge(faq))
    except KnowledgeError as exc:
        n = len(exc.problems)
        print(f"warning: {faq}: {_plural(n, 'problem')}; closest entries not shown", file=sys.stderr)
        return None


def cmd_report(args: argparse.Namespace) -> int:
    if args.days < 1 or args.limit < 1:
        print("--days and --limit must be at least 1", file=sys.stderr)
        return 2
    if args.plot and not plot_available():
        print(PLOT_HINT, file=sys.stderr)
        return 2
    folder = data_dir(args.data_dir)
    try:
        url = database_url()
    except QuestionLogError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        question_log = QuestionLog.open(folder, create=False, database_url=url)
    except QuestionLogError as exc:
        print(exc, file=sys.stderr)
        return 1
    limit = max(args.limit, 20) if args.unanswered_yaml else args.limit
    with question_log:
        report = summarise(question_log, args.days, load_matcher(faq_path(args.faq)), limit=limit)
    if args.json:
        print(report_json(report))
    elif args.unanswered_yaml:
        print(unanswered_yaml(report, limit=limit), end="")
    else:
        print(render_text(report, question_log.place))
    if args.plot:
        write_plot(report, Path(args.plot))
        print(f"picture written to {args.plot}", file=sys.stderr)
    return 0
