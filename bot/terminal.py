"""The terminal door: the same conversation as on Telegram, buttons shown as numbered choices.

In a terminal it wraps to the window's width, edits lines and keeps their history (readline), and ends
quietly on Ctrl-C or Ctrl-D. What is asked goes into the question log by the Telegram door's rules (the
terminal is one person in one private chat), so `legpress-bot report` sees the terminal's questions too.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO, TypeVar

from bot.core.check import CheckState, new_run_id
from bot.core.context import Recent, carried
from bot.core.dialogue import Dialogue, Outcome
from bot.core.events import Event, Voted
from bot.core.wording import FEEDBACK_ASK
from bot.replies import Button, Reply, to_plain

if TYPE_CHECKING:  # the log is opened by the command line; `ask` never loads sqlite3
    from bot.storage.question_log import QuestionLog

T = TypeVar("T")

PERSON = 0  # the one person at this terminal, as the question log counts people and chats
CHAT_TYPE = "terminal"
QUIT = {"/quit", "/exit", "quit", "exit"}
HINT = "(Type a question, a number to pick a choice, /help, or /quit to leave.)"
HELP_HERE = "Type a number to pick a choice. /quit (or Ctrl-D) leaves."
FEEDBACK_PROMPT = (
    "Sorry that didn't help. What were you looking for? Type it on the next line and I'll pass it on "
    "to the people who run me (or just press Enter to skip)."
)
_HANGING = re.compile(r"^\s*(?:• |- |[0-9]+[.)] |\[[0-9]+\] |→ )?")


def wrap(text: str, width: int | None) -> str:
    """Each line fitted to `width` columns, continuing under a bullet's or a choice's text."""
    if width is None:
        return text
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        lead = _HANGING.match(line)
        indent = " " * (lead.end() if lead else 0)
        out.append(textwrap.fill(line, width, subsequent_indent=indent, break_long_words=False))
    return "\n".join(out)


def is_feedback(button: Button) -> bool:
    return button.data is not None and button.data.startswith("f:")


def render_plain(
    reply: Reply, numbered: list[Button] | None = None, *, width: int | None = None, pickable: bool = True
) -> str:
    """A reply as plain text; its buttons become numbered choices (appended to `numbered`). Where nothing
    can be picked (`pickable=False`, as in `legpress-bot ask`) they are listed as pointers, without 👍/👎."""
    lines = [to_plain(reply.text)]
    choices = numbered if numbered is not None else []
    for row in reply.buttons:
        for b in row:
            if pickable:
                choices.append(b)
                lines.append(f"  [{len(choices)}] {b.label}")
            elif not is_feedback(b):
                lines.append(f"  → {b.label}")
    return wrap("\n".join(lines), width)


def terminal_width(out: TextIO) -> int | None:
    """The window's width for a terminal (one column spare), None for a file or a pipe: no wrapping."""
    try:
        if not out.isatty():
            return None
    except ValueError:  # closed
        return None
    return max(20, shutil.get_terminal_size().columns - 1)


def enable_line_editing() -> None:
    """Arrow keys, editing and history for `input()`; a Python without readline simply goes without."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401


@dataclass
class TerminalLog:
    """What the terminal writes to the question log, by the Telegram door's rules (bot.telegram.recording):
    a question and how it was answered, the check's events, a 👍/👎 with the question that led to the entry,
    and what was missing. A failure is logged and never stops the chat."""

    question_log: QuestionLog | None = None
    asked: dict[str, int] = field(default_factory=dict)  # entry id -> the latest question it answered

    def _safely(self, what: str, work: Callable[[QuestionLog], T]) -> T | None:
        if self.question_log is None:
            return None
        try:
            return work(self.question_log)
        except Exception:  # the log must never cost the person their answer
            import logging  # not loaded by `ask`, which never writes the question log

            logging.getLogger(__name__).warning("question log: could not record %s", what, exc_info=True)
            return None

    def answered(self, text: str | None, outcome: Outcome) -> None:
        """After a message was answered: the question (None for a command) and any check events."""
        self.checks(outcome.events)
        if text is None:
            return
        qid = self._safely(
            "a question",
            lambda q: q.record_question(
                PERSON, PERSON, CHAT_TYPE, text, outcome.match, urgent=outcome.urgent
            ),
        )
        m = outcome.match
        if qid is None or m is None or m.band == "none" or outcome.urgent:
            return
        for entry_id in [*([m.entry.id] if m.entry else []), *(c.entry.id for c in m.candidates)]:
            self.asked[entry_id] = qid

    def checks(self, events: Sequence[Event]) -> None:
        for event in events:

            def record(q: QuestionLog, event: Event = event) -> bool:
                return q.record_check(PERSON, PERSON, event)

            self._safely("a check event", record)

    def pressed(self, outcome: Outcome) -> Voted | None:
        """After a choice: check events and the 👍/👎, which is returned (None when there was none)."""
        self.checks(outcome.events)
        vote = None
        for event in outcome.events:
            if isinstance(event, Voted):
                vote = event
                self.vote(event.entry_id, event.positive)
        return vote

    def vote(self, entry_id: str, positive: bool, text: str | None = None) -> None:
        question = self.asked.get(entry_id)
        self._safely(
            "feedback",
            lambda q: q.record_feedback(PERSON, positive, question_id=question, entry_id=entry_id, text=text),
        )


class TerminalChat:
    """Reads lines, feeds the core, prints replies. A number picks a choice of the last reply."""

    def __init__(
        self,
        dialogue: Dialogue,
        out: TextIO = sys.stdout,
        clock: Callable[[], float] = time.time,
        question_log: QuestionLog | None = None,
    ) -> None:
        self.dialogue = dialogue
        self.out = out
        self.clock = clock
        self.state: CheckState | None = None
        self.choices: list[Button] = []
        self.recent: Recent | None = None  # what "that" refers to: the entries shown last
        self.log = TerminalLog(question_log)
        self.missing_for: str | None = None  # after a 👎: the entry the next line is feedback on

    def say(self, text: str) -> None:
        print(wrap(text, terminal_width(self.out)), file=self.out)

    def show(self, outcome: Outcome) -> None:
        self.state = outcome.state
        self.recent = carried(self.recent, outcome.recent, outcome.replies, self.clock())
        said = [to_plain(r.text) for r in outcome.replies]
        if outcome.notice and not any(t.startswith(outcome.notice) for t in said):  # a toast on Telegram
            self.say(f"({outcome.notice})")
        if outcome.replies:
            self.choices = []
        width = terminal_width(self.out)
        for reply in outcome.replies:
            if FEEDBACK_ASK in reply.tags:
                print(wrap(FEEDBACK_PROMPT, width), file=self.out)
            else:
                print(render_plain(reply, self.choices, width=width), file=self.out)
            print(file=self.out)
        self.out.flush()

    def handle(self, line: str) -> bool:
        """One line of input; False when the person wants to leave."""
        text = line.strip()
        now = self.clock()
        if text.lower() in QUIT:
            return False
        missing_for, self.missing_for = self.missing_for, None
        if missing_for is not None and text and not text.startswith("/"):
            self.log.vote(missing_for, False, text)
            self.show(self.dialogue.on_feedback_text(missing_for, self.state))
            return True
        if text.isdigit() and self.choices:
            self.pick(int(text), now)
        elif text.lower() == "/help":
            self.show(Outcome((self.dialogue.help_reply(HELP_HERE),), self.state))
        elif text.startswith("/"):
            name, _, arg = text[1:].partition(" ")
            outcome = self.dialogue.on_command(name, arg, self.state, "private", now, new_run_id())
            self.log.answered(None, outcome)
            self.show(outcome)
        elif text:
            outcome = self.dialogue.on_text(text, self.state, "private", now, self.recent)
            self.log.answered(text, outcome)
            self.show(outcome)
        return True

    def pick(self, k: int, now: float) -> None:
        if not 1 <= k <= len(self.choices):
            self.say(f"Pick a number from 1 to {len(self.choices)}.")
            return
        button = self.choices[k - 1]
        if button.data is not None:
            outcome = self.dialogue.on_button(button.data, self.state, "private", now, new_run_id())
            vote = self.log.pressed(outcome)
            if vote is not None and not vote.positive:
                self.missing_for = vote.entry_id
            self.show(outcome)
        elif button.start_payload is not None:
            outcome = self.dialogue.on_command("start", button.start_payload, self.state, "private", now)
            self.log.answered(None, outcome)
            self.show(outcome)
        elif button.url:
            self.say(f"Open: {button.url}")

    def run(self, inp: TextIO = sys.stdin) -> int:
        """Until /quit, Ctrl-D or Ctrl-C; every way out is quiet and ends with status 0."""
        prompting = inp is sys.stdin and self.out is sys.stdout and inp.isatty() and self.out.isatty()
        if prompting:
            enable_line_editing()
        try:
            self.show(self.dialogue.on_command("start", "", None, "private", self.clock()))
            self.say(HINT)
            while True:
                line = self.read(inp, prompting)
                if line is None or not self.handle(line):
                    return 0
        except KeyboardInterrupt:
            print(file=self.out)  # the shell's prompt on a line of its own
            return 0

    def read(self, inp: TextIO, prompting: bool) -> str | None:
        """The next line, None at the end of input."""
        if prompting:
            try:
                return input("> ")  # readline's editing and history, when it is there
            except EOFError:
                print(file=self.out)
                return None
        line = inp.readline()
        return line or None
