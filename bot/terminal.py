"""The terminal door: the same conversation as on Telegram, buttons shown as numbered choices."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from bot.core.check import CheckState, new_run_id
from bot.core.context import Recent, carried
from bot.core.dialogue import Dialogue, Outcome
from bot.replies import Button, Reply, to_plain


def render_plain(reply: Reply, numbered: list[Button] | None = None) -> str:
    """A reply as plain text; its buttons become numbered choices (appended to `numbered`)."""
    text = to_plain(reply.text)
    lines = [text]
    choices = numbered if numbered is not None else []
    for row in reply.buttons:
        for b in row:
            choices.append(b)
            lines.append(f"  [{len(choices)}] {b.label}")
    return "\n".join(lines)


class TerminalChat:
    """Reads lines, feeds the core, prints replies. A number picks a button of the last reply."""

    def __init__(
        self,
        dialogue: Dialogue,
        out: TextIO = sys.stdout,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dialogue = dialogue
        self.out = out
        self.clock = clock
        self.state: CheckState | None = None
        self.choices: list[Button] = []
        self.recent: Recent | None = None  # what "that" refers to: the entries shown last

    def show(self, outcome: Outcome) -> None:
        self.state = outcome.state
        self.recent = carried(self.recent, outcome.recent, outcome.replies, self.clock())
        if outcome.notice:
            print(f"({outcome.notice})", file=self.out)
        if outcome.replies:
            self.choices = []
        for reply in outcome.replies:
            print(render_plain(reply, self.choices), file=self.out)
            print(file=self.out)
        self.out.flush()

    def handle(self, line: str) -> bool:
        """One line of input; False when the person wants to leave."""
        text = line.strip()
        now = self.clock()
        if text.lower() in {"/quit", "/exit", "quit", "exit"}:
            return False
        if text.isdigit() and self.choices:
            k = int(text)
            if not 1 <= k <= len(self.choices):
                print(f"Pick a number from 1 to {len(self.choices)}.", file=self.out)
                return True
            button = self.choices[k - 1]
            if button.data is not None:
                self.show(self.dialogue.on_button(button.data, self.state, "private", now, new_run_id()))
            elif button.start_payload is not None:
                self.show(self.dialogue.on_command("start", button.start_payload, self.state, "private", now))
            elif button.url:
                print(f"Open: {button.url}", file=self.out)
            return True
        if text.startswith("/"):
            name, _, arg = text[1:].partition(" ")
            self.show(self.dialogue.on_command(name, arg, self.state, "private", now, new_run_id()))
            return True
        if text:
            self.show(self.dialogue.on_text(text, self.state, "private", now, self.recent))
        return True

    def run(self, inp: TextIO = sys.stdin) -> int:
        interactive = inp.isatty()
        self.show(self.dialogue.on_command("start", "", None, "private", self.clock()))
        print("(Type a question, a number to pick a choice, /help, or /quit to leave.)", file=self.out)
        while True:
            if interactive:
                print("> ", end="", file=self.out, flush=True)
            line = inp.readline()
            if not line:
                return 0
            if not self.handle(line):
                return 0
