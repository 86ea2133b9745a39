"""Command line: run | chat | ask | check | report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot import report
from bot.knowledge import KnowledgeBase, KnowledgeError, load_knowledge
from bot.matching import Match, Matcher

DEFAULT_FAQ = "faq.yaml"


def faq_path(arg: str | None = None) -> Path:
    """The faq.yaml to use: an explicit path, FAQ_PATH, ./faq.yaml, or the one beside the package."""
    if arg:
        return Path(arg)
    env = os.environ.get("FAQ_PATH")
    if env:
        return Path(env)
    here = Path(DEFAULT_FAQ)
    if here.exists():
        return here
    return Path(__file__).resolve().parent.parent / DEFAULT_FAQ


def _load_or_exit(path: Path) -> KnowledgeBase:
    try:
        return load_knowledge(path)
    except KnowledgeError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        n = len(exc.problems)
        print(f"{path}: {n} problem{'s' if n != 1 else ''}; nothing loaded", file=sys.stderr)
        raise SystemExit(1) from None


def match_json(query: str, m: Match, urgent: bool = False, red_flag: str | None = None) -> dict[str, object]:
    confident = m.band == "confident" and m.entry is not None
    return {
        "query": query,
        "id": m.entry.id if confident and m.entry else None,
        "kind": m.entry.kind if confident and m.entry else None,
        "title": m.entry.title if confident and m.entry else None,
        "score": m.score,
        "band": m.band,
        "alternatives": [
            {"id": c.entry.id, "score": c.score} for c in (m.candidates if not confident else m.alternatives)
        ],
        "urgent": urgent,
        "red_flag": red_flag,  # the warning sign's id (faq.yaml red_flags.signs) when urgent
    }


def cmd_check(args: argparse.Namespace) -> int:
    path = faq_path(args.path)
    kb = _load_or_exit(path)
    kinds = {k: len(kb.of_kind(k)) for k in ("cause", "fix", "faq")}
    extra = ""
    if kb.questionnaire is not None:
        extra = f", questionnaire of {len(kb.questionnaire.questions)} questions"
    print(
        f"{path}: OK: {len(kb.entries)} entries ({kinds['cause']} causes, {kinds['fix']} fixes, "
        f"{kinds['faq']} FAQ){extra}"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.dialogue import Dialogue
    from bot.terminal import render_plain

    kb = _load_or_exit(faq_path(args.faq))
    dialogue = Dialogue(kb, Matcher(kb))

    def one(q: str) -> str:
        if args.json:
            m = dialogue.matcher.match(q)
            flag = dialogue.read(q)[0]
            sign = flag.id if flag is not None else None
            return json.dumps(match_json(q, m, flag is not None, sign), ensure_ascii=False)
        outcome = dialogue.on_text(q, None)
        return "\n\n".join(render_plain(r) for r in outcome.replies)

    if args.question:
        print(one(" ".join(args.question)))
        return 0
    for line in sys.stdin:
        q = line.rstrip("\n")
        if not args.json and not q.strip():
            continue
        print(one(q), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="legpress-bot", description=__doc__)
    sub = ap.add_subparsers(dest="command")
    p = sub.add_parser("run", help="run the Telegram bot (or the terminal chat when no token is set)")
    p.add_argument("--faq", help="path to faq.yaml (default: FAQ_PATH or ./faq.yaml)")
    p = sub.add_parser("chat", help="talk to the bot in this terminal")
    p.add_argument("--faq")
    p = sub.add_parser("ask", help="answer one question, or one per line from stdin")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument("--faq")
    p = sub.add_parser("check", help="validate faq.yaml")
    p.add_argument("path", nargs="?")
    report.add_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"check": cmd_check, "ask": cmd_ask, "report": report.cmd_report}
    command = args.command or "run"
    try:
        if command not in handlers:
            from bot.app_entry import main as run_door  # run / chat: Telegram or the terminal

            return run_door(command, args)
        return handlers[command](args)
    except BrokenPipeError:
        # the reader went away (`legpress-bot report --json | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
