"""Command line: run | chat | ask | check | report. The one place that wires the doors together.

`ask` and `check` start fast: they load faq.yaml and the core only. The Telegram door and the report are
imported by the commands that use them.

Problems a person running the bot can fix (no token, a malformed or refused token, a bad setting, a DATA_DIR
that cannot be written) end the program with one line on stderr and exit status 2, never with a traceback.
A damaged database is moved aside, not wiped (see bot.storage.database).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot import __version__
from bot.config import ConfigError, Settings, faq_path, load_settings
from bot.content import cache
from bot.content.model import Entry, KnowledgeBase
from bot.core.dialogue import Dialogue
from bot.core.matching import MAX_ALTERNATIVES, Match
from bot.core.safety import URGENT_ENTRY

PROG = "legpress-bot"


def fail(message: str, status: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def load_or_exit(path: Path, text: str | None = None) -> KnowledgeBase:
    """The knowledge base (parsed from `text` when given, else read from `path`), or every problem on
    stderr and exit status 1."""
    from bot.content.load import load_knowledge, parse_knowledge  # PyYAML: not needed with a cache
    from bot.content.problems import KnowledgeError

    try:
        return load_knowledge(path) if text is None else parse_knowledge(text, str(path))
    except KnowledgeError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        n = len(exc.problems)
        print(f"{path}: {n} problem{'s' if n != 1 else ''}; nothing loaded", file=sys.stderr)
        raise SystemExit(1) from None


def compiled_dialogue(path: Path) -> Dialogue:
    """The core for faq.yaml, read from the compiled-content cache while faq.yaml and the code are
    unchanged (see bot.content.cache); otherwise parsed, validated and indexed, and cached for next time."""
    try:
        source = path.read_bytes()
    except OSError:
        return Dialogue.from_kb(load_or_exit(path))  # says what is wrong with the file

    def build() -> Dialogue:
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            return Dialogue.from_kb(load_or_exit(path))  # says where the file is not UTF-8
        return Dialogue.from_kb(load_or_exit(path, text))

    return cache.cached(path, source, build, Dialogue)


def match_json(
    query: str, m: Match, red_flag: str | None = None, urgent_entry: Entry | None = None
) -> dict[str, object]:
    """One line of `ask --json`: the entry the bot answers with, or null when it abstains.

    A warning sign is answered by the urgent message alone, whose one link is `urgent_entry` (when to see a
    professional): that is the answer when the message is about what the article covers (the topic gate let
    it through); about anything else the bot warns and answers no entry."""
    if red_flag is not None and urgent_entry is not None and not m.off_topic:
        others = tuple(c for c in m.candidates if c.entry is not urgent_entry)[:MAX_ALTERNATIVES]
        m = Match("confident", urgent_entry, m.score, others)
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
        "urgent": red_flag is not None,
        "red_flag": red_flag,  # the warning sign's id (faq.yaml red_flags.signs) when urgent
    }


def ask_json(dialogue: Dialogue, query: str) -> dict[str, object]:
    """What `ask --json` prints for one message: read once, as the bot reads it (red flags first)."""
    flag, m = dialogue.read(query)
    if m is None:  # a warning sign (or a blank line): the match it would otherwise get
        m = dialogue.matcher.match(query)
    sign = flag.id if flag is not None else None
    return match_json(query, m, sign, dialogue.kb.get(URGENT_ENTRY))


# --------------------------------------------------------------------------------------- check and ask
def cmd_check(args: argparse.Namespace) -> int:
    path = faq_path(args.path)
    kb = load_or_exit(path)
    kinds = {k: len(kb.of_kind(k)) for k in ("cause", "fix", "faq")}
    extra = ""
    if kb.questionnaire is not None:
        extra = f", questionnaire of {len(kb.questionnaire.questions)} questions"
    print(
        f"{path}: OK: {len(kb.entries)} entries ({kinds['cause']} causes, {kinds['fix']} fixes, "
        f"{kinds['faq']} FAQ){extra}"
    )
    return 0


ASK_HINT = 'ask needs a question: legpress-bot ask "why does my back hurt?" (or one per line on stdin)'


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.terminal import render_plain, terminal_width

    if not args.question and sys.stdin.isatty():
        return fail(ASK_HINT)  # nothing piped in: say how, rather than wait for a line
    dialogue = compiled_dialogue(faq_path(args.faq))
    width = terminal_width(sys.stdout)

    def one(q: str) -> str:
        if args.json:
            import json

            return json.dumps(ask_json(dialogue, q), ensure_ascii=False)
        outcome = dialogue.on_text(q, None)
        return "\n\n".join(render_plain(r, width=width, pickable=False) for r in outcome.replies)

    if args.question:
        print(one(" ".join(args.question)))
        return 0
    for line in sys.stdin:
        q = line.rstrip("\n")
        if not args.json and not q.strip():
            continue
        # plain answers one after another: each under the question it answers, a blank line between
        print(one(q) if args.json else f"> {q.strip()}\n{one(q)}\n", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bot import report

    return report.cmd_report(args)


def cmd_storage(args: argparse.Namespace) -> int:
    """`storage copy --to URL`: DATA_DIR's SQLite file into an empty PostgreSQL database, once."""
    from bot.config import check_database_url
    from bot.report import data_dir

    try:
        url = check_database_url(args.to.strip())
        from bot.storage.copy import CopyError, copy_to_server
    except ConfigError as exc:
        return fail(str(exc).replace("DATABASE_URL", "--to"))
    except ImportError:
        return fail("copying to PostgreSQL needs its driver: pip install 'legpress-bot[postgres]'")
    try:
        copied = copy_to_server(data_dir(args.data_dir), url)
    except CopyError as exc:
        return fail(str(exc))
    print(copied.summary())
    return 0


# ---------------------------------------------------------------------------------------- run and chat
def faq_source(settings: Settings, args: argparse.Namespace) -> Path:
    """The faq.yaml the bot serves: --faq, FAQ_PATH, ./faq.yaml or the packaged one. /reload re-reads it."""
    explicit = getattr(args, "faq", None) or (str(settings.faq_path) if settings.faq_path else None)
    return faq_path(explicit)


def chat(settings: Settings, args: argparse.Namespace) -> int:
    """The terminal chat, writing the question log in DATA_DIR as the Telegram bot does."""
    from bot.storage.question_log import QuestionLog
    from bot.terminal import TerminalChat

    dialogue = compiled_dialogue(faq_source(settings, args))
    try:
        question_log: QuestionLog | None = QuestionLog.open(
            settings.data_dir, retention_days=settings.retention_days, database_url=settings.database_url
        )
    except Exception as exc:  # an unwritable or damaged DATA_DIR: the chat answers anyway
        print(f"{PROG}: the question log is off: {exc}", file=sys.stderr)
        question_log = None
    try:
        if question_log is not None:
            question_log.purge()
        return TerminalChat(dialogue, question_log=question_log).run(sys.stdin)
    finally:
        if question_log is not None:
            question_log.close()


def check_server_database(url: str) -> None:
    """DATABASE_URL reachable and migrated, or StorageError; the driver is the `postgres` extra."""
    from bot.storage.database import StorageError

    try:
        from bot.storage.postgres import check_database
    except ImportError:
        raise StorageError(
            "DATABASE_URL needs the PostgreSQL driver: pip install 'legpress-bot[postgres]'"
        ) from None
    check_database(url)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.token and sys.stdin.isatty():
        print(
            f"{PROG}: no TELEGRAM_BOT_TOKEN set, so this is the terminal chat; "
            "set it in the environment or .env to run on Telegram",
            file=sys.stderr,
        )
        return chat(settings, args)
    try:
        settings.check_token()
    except ConfigError as exc:
        return fail(str(exc))

    from bot.storage.database import DB_NAME, StorageError, check_data_dir, open_database
    from bot.telegram.app import StartupError
    from bot.telegram.app import run as run_telegram
    from bot.telegram.logs import setup_logging

    setup_logging(settings.log_level, settings.secrets, settings.log_format)
    dialogue = Dialogue.from_kb(load_or_exit(faq_source(settings, args)))
    try:
        # DATA_DIR writable and its database healthy (a damaged one moved aside), before any network wait
        check_data_dir(settings.data_dir)
        open_database(settings.data_dir / DB_NAME).close()
        if settings.database_url:  # reachable, and its schema up to date, before any network wait
            check_server_database(settings.database_url)
        run_telegram(settings, dialogue, faq_source(settings, args))
    except StorageError as exc:
        return fail(str(exc))
    except StartupError as exc:
        return fail(str(exc), exc.status)
    return 0


def run_door(command: str, args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc))
    return chat(settings, args) if command == "chat" else run(settings, args)


# ------------------------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n", 1)[0])
    ap.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
    p = sub.add_parser("report", help="what people asked: unanswered questions, feedback, the check")
    p.add_argument("--days", type=int, default=30, help="how many days back, today included (default 30)")
    p.add_argument("--json", action="store_true", help="the report as JSON, for tools")
    p.add_argument("--plot", metavar="FILE.png", help="also draw questions per day and the top entries")
    p.add_argument(
        "--unanswered-yaml",
        action="store_true",
        help="print the top unanswered questions as YAML to paste into faq.yaml",
    )
    p.add_argument("--limit", type=int, default=10, help="rows per section (default 10)")
    p.add_argument("--data-dir", help="the bot's data folder (default: DATA_DIR or ./data)")
    p.add_argument(
        "--faq", help="faq.yaml used to find the closest entries (default: FAQ_PATH or ./faq.yaml)"
    )
    p = sub.add_parser("storage", help="move the bot's data between databases")
    storage = p.add_subparsers(dest="storage_command", required=True)
    p = storage.add_parser(
        "copy", help="copy DATA_DIR's SQLite database into an empty PostgreSQL database (once)"
    )
    p.add_argument("--to", required=True, metavar="postgresql://…", help="the PostgreSQL database")
    p.add_argument("--data-dir", help="the bot's data folder (default: DATA_DIR or ./data)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"check": cmd_check, "ask": cmd_ask, "report": cmd_report, "storage": cmd_storage}
    command = args.command or "run"
    try:
        if command in handlers:
            return handlers[command](args)
        return run_door(command, args)
    except KeyboardInterrupt:  # Ctrl-C while loading or reading stdin: stop as quietly as the chat does
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`legpress-bot report --json | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
