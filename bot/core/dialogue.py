"""The core: a person's input (text, command, button) and their state -> replies as plain data.

Transport-neutral: no Telegram here. The Telegram adapter, the terminal chat and `legpress-bot ask` all call
the same three methods (`on_text`, `on_command`, `on_button`) and only render what comes back.

Button data (at most 64 bytes, short versioned prefixes):
  e:<entry-id>          open an entry
  l:<cause|fix|faq>     list the entries of a kind
  c:<entry-id|->        start the questionnaire (focused on an entry, or not)
  q:...                 questionnaire steps (see bot.core.check)
  f:<+|->:<entry-id>    👍/👎 on an answer
  d:<yes|no>            /forget confirmed, or not
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.content.model import Entry, KnowledgeBase, RedFlag, SmallTalk
from bot.core import check as qn
from bot.core import context as ctx
from bot.core.events import (
    CheckCancelled,
    CheckExpired,
    CheckStarted,
    Event,
    Forgotten,
    RedFlagRaised,
    SaidWhatWasMissing,
    Voted,
)
from bot.core.matching import Match, Matcher
from bot.core.safety import RedFlagDetector, detector_for, urgent_reply
from bot.core.small_talk import SmallTalkReader, menu_command, small_talk_reply
from bot.core.wording import (
    COMMAND_MENU,
    FEEDBACK_ASK,
    FEEDBACK_ASK_TEXT,
    FEEDBACK_NOTED,
    FEEDBACK_THANKS,
    FORGET_ASK,
    FORGET_IN_PRIVATE,
    FORGET_KEPT,
    FORGOTTEN,
    HELP_ON_TELEGRAM,
    KIND_COMMANDS,
    KIND_TITLES,
    LIST_PROMPTS,
)
from bot.replies import MAX_CALLBACK_BYTES, Button, Reply, bold, entry_html, esc, italic, link, rows
from bot.text import tokens

ChatKind = Literal["private", "group"]

READINGS_KEPT = 2048  # recent questions whose reading (red flag, match) is kept: at most ~1 MB
READING_MAX_CHARS = 300  # longer messages are read afresh: they are seldom sent twice


@dataclass(frozen=True)
class Outcome:
    """What the core decided: the replies to send, the person's new state and, for analytics, the match."""

    replies: tuple[Reply, ...]
    state: qn.CheckState | None = None
    match: Match | None = None
    notice: str | None = None  # a short toast for a button press (Telegram's answerCallbackQuery)
    events: tuple[Event, ...] = ()  # for the question log
    # the conversation context after this outcome; None: the door keeps its own (see context.carried)
    recent: ctx.Recent | None = None

    @property
    def urgent(self) -> bool:
        """A warning sign was raised: the urgent message is the answer, alone."""
        return any(isinstance(e, RedFlagRaised) for e in self.events)


def read_message(
    detector: RedFlagDetector | None, matcher: Matcher, text: str
) -> tuple[RedFlag | None, Match | None]:
    """Red flags first: a warning sign is never answered with a FAQ entry."""
    flag = detector.detect(text) if detector is not None else None
    if flag is not None or not text.strip():
        return flag, None
    return None, matcher.match(text)


class Dialogue:
    """One knowledge base, its matcher and its red-flag detector, and the decisions made with them."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, detector: RedFlagDetector | None) -> None:
        self.kb = kb
        self.matcher = matcher
        self.detector = detector
        # A Dialogue is never changed, only replaced (a reload builds a new one), so what it read or
        # rendered once stays true for its lifetime.
        self._remembered_reading = functools.lru_cache(maxsize=READINGS_KEPT)(
            functools.partial(read_message, detector, matcher)
        )
        self._entry_replies: dict[tuple[str, ChatKind], Reply] = {}
        self.small_talk = SmallTalkReader.of(kb.small_talk) if kb.small_talk is not None else None

    @classmethod
    def from_kb(cls, kb: KnowledgeBase) -> Dialogue:
        """The whole core for one faq.yaml: slow enough (indexing) that a reload runs it in a thread."""
        return cls(kb, Matcher(kb), detector_for(kb))

    # ------------------------------------------------------------------------------------------ text
    def is_urgent(self, text: str) -> bool:
        return self.read(text)[0] is not None

    def read(self, text: str) -> tuple[RedFlag | None, Match | None]:
        """The red flag a message raises, else what it matches (None for a blank message).

        Remembered for recent short messages: many people ask the same few questions in the same words
        ("why does my back hurt"), and reading one costs more than all the rest of answering it."""
        if len(text) > READING_MAX_CHARS:
            return read_message(self.detector, self.matcher, text)
        return self._remembered_reading(text)

    def on_text(
        self,
        text: str,
        state: qn.CheckState | None,
        chat: ChatKind = "private",
        now: float = 0.0,
        recent: ctx.Recent | None = None,
    ) -> Outcome:
        """A free-text message: red flags first, then menu words and small talk, then the best answer
        (a follow-up read with what was shown last), and the check offered after it."""
        flag, m = self.read(text)
        if flag is not None:
            # the urgent message comes first; an ongoing check stops, there is nothing to narrow down
            return Outcome(
                (urgent_reply(self.kb, flag),), None, events=(RedFlagRaised(flag.id, in_check=False),)
            )
        command = menu_command(text)
        if command is not None:
            done = self.on_command(command, "", state, chat, now, qn.new_run_id())
            return dataclasses.replace(done, recent=ctx.carried(recent, done.recent, done.replies, now))
        topic = self.small_talk.read(text) if self.small_talk is not None else None
        alive = ctx.fresh(recent, now)
        # "didn't help" right after an answer is about what it suggested, not a complaint about the bot
        if topic is not None and not (alive and ctx.intent(tokens(text)) == "still"):
            reply = small_talk_reply(topic, chat, self.kb.questionnaire is not None)
            return Outcome((reply,), state, recent=ctx.remember(recent, (), now))
        if m is None:
            return Outcome((self.no_match_reply(),), state, recent=ctx.remember(recent, (), now))
        replies = [self.answer_reply(m, text, chat, alive)]
        events: tuple[Event, ...] = ()
        if state is not None and qn.expired(state, now):
            replies.append(qn.expired_reply())
            state, events = None, (CheckExpired(),)
        elif state is not None:
            # the question is answered and the check waits, its 30 minutes restarted
            state = qn.touch(state, now)
            replies.append(qn.resume_reply(state))
        return Outcome(
            tuple(replies), state, match=m, events=events, recent=ctx.remember(recent, replies, now)
        )

    def answer_reply(self, m: Match, text: str, chat: ChatKind, recent: ctx.Recent | None) -> Reply:
        """The answer to a question: the entry it matches, a follow-up resolved against what was shown
        last, an honest partial answer, "did you mean", or "about what?" for a follow-up with no context."""
        if m.band == "confident" and m.entry is not None:
            return self.entry_reply(m.entry, chat)
        follow = ctx.resolve(self.kb, self.matcher, text, recent) if recent is not None else None
        if follow is not None:
            return self.follow_up_reply(follow, chat)
        if m.band == "unsure" and m.entry is not None:
            return self.did_you_mean_reply(m)
        if m.partial and m.alternatives:
            return self.partial_reply(m)
        if recent is None and ctx.refers_back(tokens(text)) and len(tokens(text)) <= 6:
            return self.about_what_reply()
        return self.no_match_reply()

    # -------------------------------------------------------------------------------------- commands
    def on_command(
        self,
        name: str,
        arg: str,
        state: qn.CheckState | None,
        chat: ChatKind = "private",
        now: float = 0.0,
        run_id: str = "",
    ) -> Outcome:
        name = name.lower()
        if name == "start":
            payload = arg.strip()
            if payload == "check":
                return self.start_check(None, state, chat, now, run_id)
            if payload.startswith("check-") and self.kb.get(payload[6:]):
                return self.start_check(payload[6:], state, chat, now, run_id)
            if payload == "forget":
                return self.forget_prompt(state, chat)
            # /start begins the conversation afresh: "that" no longer refers to anything shown before
            entry = self.kb.get(payload) if payload else None
            if entry is not None:
                shown = (self.entry_reply(entry, chat),)
                return Outcome(shown, state, recent=ctx.remember(None, shown, now) or ctx.Recent())
            return Outcome((self.welcome_reply(),), state, recent=ctx.Recent())
        if name == "help":
            return Outcome((self.help_reply(),), state)
        if name == "about":
            return Outcome((self.about_reply(),), state)
        if name in KIND_COMMANDS:
            return Outcome((self.list_reply(KIND_COMMANDS[name]),), state)
        if name == "check":
            return self.start_check(None, state, chat, now, run_id)
        if name == "forget":
            return self.forget_prompt(state, chat)
        if name == "cancel":
            if state is None or qn.expired(state, now):
                return Outcome((Reply("Nothing to cancel. Ask me anything, or try /check."),), None)
            return Outcome((qn.cancelled_reply(),), None, events=(CheckCancelled(),))
        return Outcome((Reply(f"I don't know that command. Try {self.commands_hint()}"),), state)

    # --------------------------------------------------------------------------------------- buttons
    def on_button(
        self,
        data: str,
        state: qn.CheckState | None,
        chat: ChatKind = "private",
        now: float = 0.0,
        run_id: str = "",
    ) -> Outcome:
        """A button press. Unknown or stale data is answered politely, never raised."""
        prefix, _, rest = data.partition(":")
        if prefix == "e":
            entry = self.kb.get(rest)
            if entry is None:
                return self.expired_button(state)  # an open check is not disturbed by an old button
            return Outcome((self.entry_reply(entry, chat),), state)
        if prefix == "l" and rest in KIND_TITLES:
            return Outcome((self.list_reply(rest),), state)
        if prefix == "c":
            focus = rest if rest and rest != "-" else None
            if focus is not None and self.kb.get(focus) is None:
                return self.expired_button(state)
            return self.start_check(focus, state, chat, now, run_id)
        if prefix == "q":
            return self.check_step(rest, state, chat, now)
        if prefix == "f":
            return self.feedback(rest, state)
        if prefix == "d" and chat == "private" and rest in ("yes", "no"):
            if rest == "no":
                return Outcome((Reply(FORGET_KEPT, edit=True),), state, notice=FORGET_KEPT)
            return Outcome((Reply(FORGOTTEN, edit=True),), None, notice="Deleted.", events=(Forgotten(),))
        return self.expired_button(state)

    def expired_button(self, state: qn.CheckState | None = None) -> Outcome:
        return Outcome((), state, notice="This button has expired. Send your question again, or use /help.")

    # -------------------------------------------------------------------------------------- feedback
    def feedback(self, data: str, state: qn.CheckState | None) -> Outcome:
        """👍 or 👎 on an answer: thanks, and after a 👎 an (optional) question about what was missing.
        The vote itself is the adapter's to record, from the `Voted` event."""
        sign, _, entry_id = data.partition(":")
        if sign not in ("+", "-") or self.kb.get(entry_id) is None:
            return self.expired_button(state)  # an answer since removed from faq.yaml
        replies = () if sign == "+" else (Reply(FEEDBACK_ASK_TEXT, tags=frozenset({FEEDBACK_ASK})),)
        return Outcome(replies, state, notice=FEEDBACK_THANKS, events=(Voted(entry_id, sign == "+"),))

    def on_feedback_text(self, entry_id: str, state: qn.CheckState | None) -> Outcome:
        """The answer to "what were you looking for?": acknowledged, never matched as a question."""
        return Outcome((Reply(FEEDBACK_NOTED),), state, events=(SaidWhatWasMissing(entry_id),))

    def forget_prompt(self, state: qn.CheckState | None, chat: ChatKind) -> Outcome:
        """/forget: a confirm button in a private chat; in a group, the way to the private chat."""
        if chat == "group":
            button = Button("Delete my data in private", start_payload="forget")
            return Outcome((Reply(FORGET_IN_PRIVATE, buttons=rows([button])),), state)
        buttons = ((Button("Yes, delete it", data="d:yes"), Button("No, keep it", data="d:no")),)
        return Outcome((Reply(FORGET_ASK, buttons=buttons),), state)

    # ------------------------------------------------------------------------------------- questionnaire
    def start_check(
        self, focus: str | None, state: qn.CheckState | None, chat: ChatKind, now: float, run_id: str
    ) -> Outcome:
        if chat == "group":
            payload = f"check-{focus}" if focus else "check"
            return Outcome(
                (
                    Reply(
                        "The check asks about your own back, so it runs in a private chat with me.",
                        buttons=rows([Button("Start the check in private", start_payload=payload)]),
                    ),
                ),
                state,
            )
        if self.kb.questionnaire is None:
            return Outcome((Reply("The check is not available right now."),), state)
        new_state, reply = qn.start(self.kb, focus, now, run_id)
        return Outcome((reply,), new_state, events=(CheckStarted(),))

    def check_step(self, data: str, state: qn.CheckState | None, chat: ChatKind, now: float) -> Outcome:
        if self.kb.questionnaire is None:
            return self.expired_button()
        step = qn.step(self.kb, state, data, now)
        return Outcome(step.replies, step.state, notice=step.notice, events=step.events)

    def on_silence(self, state: qn.CheckState | None, now: float) -> Outcome:
        """The person has said nothing for a while: a check whose 30 minutes are up closes with a note."""
        if state is None or not qn.expired(state, now):
            return Outcome((), state)
        return Outcome((qn.expired_reply(),), None, events=(CheckExpired(),))

    # ---------------------------------------------------------------------------------------- replies
    def entry_reply(self, entry: Entry, chat: ChatKind = "private") -> Reply:
        key = (entry.id, chat)
        reply = self._entry_replies.get(key)
        if reply is None:
            reply = self._entry_replies[key] = self._render_entry(entry, chat)
        return reply

    def _render_entry(self, entry: Entry, chat: ChatKind) -> Reply:
        text = entry_html(entry.title, entry.answer)
        offer = qn.offer_text(self.kb, entry)
        buttons = [Button(self._related_label(r), data=f"e:{r.id}") for r in self._related(entry)]
        if self.kb.questionnaire is not None:
            check = (
                Button(offer, data=f"c:{entry.id}")
                if chat == "private"
                else Button(offer, start_payload=f"check-{entry.id}")
            )
            buttons.append(check)
        footer = f"\n\n{italic(self.kb.meta.disclaimer)}" if entry.kind == "cause" else ""
        return Reply(text + footer, buttons=rows(buttons) + self._feedback_row(entry), entry_id=entry.id)

    @staticmethod
    def _feedback_row(entry: Entry) -> tuple[tuple[Button, ...], ...]:
        """👍/👎 under every answer, on one row; left out for an id too long for a button's 64 bytes."""
        if len(f"f:-:{entry.id}".encode()) > MAX_CALLBACK_BYTES:
            return ()
        return ((Button("👍", data=f"f:+:{entry.id}"), Button("👎", data=f"f:-:{entry.id}")),)

    def _related(self, entry: Entry) -> list[Entry]:
        related = [self.kb.get(r) for r in entry.related]
        return [e for e in related if e is not None]

    def _related_label(self, entry: Entry) -> str:
        prefix = {"cause": "Cause", "fix": "Fix", "faq": "FAQ"}.get(entry.kind, "")
        return f"{prefix}: {entry.button_label}" if prefix else entry.button_label

    def follow_up_reply(self, follow: ctx.FollowUp, chat: ChatKind) -> Reply:
        """An entry given for a follow-up, saying what the follow-up was understood to be about."""
        label = follow.about.button_label
        # "About tight hamstrings:" for a cause; other labels ("Improve your form") are quoted
        about = label[:1].lower() + label[1:] if label[1:2].islower() else label
        about = about if follow.about.kind == "cause" else f"“{label}”"
        reply = self.entry_reply(follow.answer, chat)
        if follow.picked:
            return reply
        return dataclasses.replace(reply, text=f"{italic(f'About {about}:')}\n\n{reply.text}")

    def partial_reply(self, m: Match) -> Reply:
        """Something the bot does not cover, near something it does: said honestly, with the nearest
        leg-press answers as buttons."""
        text = (self.kb.small_talk or SmallTalk(())).partial
        buttons = [Button(c.entry.title, data=f"e:{c.entry.id}") for c in m.alternatives[:3]]
        return Reply(esc(text), buttons=rows(buttons))

    def about_what_reply(self) -> Reply:
        text = (self.kb.small_talk or SmallTalk(())).about_what
        return Reply(esc(text), buttons=self.menu_buttons())

    def did_you_mean_reply(self, m: Match) -> Reply:
        seen: list[Entry] = []
        for c in m.candidates:
            if c.entry not in seen:
                seen.append(c.entry)
        buttons = [Button(self._related_label(e), data=f"e:{e.id}") for e in seen[:3]]  # as under answers
        return Reply("I'm not sure I understood. Did you mean…", buttons=rows(buttons))

    def no_match_reply(self) -> Reply:
        return Reply(
            "Sorry, I can't answer that one. I only know about lower-back pain on the leg press: "
            "why it happens and what to do about it.\n\n"
            "Try asking in your own words (for example, “why does my back hurt after leg press?”), "
            f"or browse: {self.commands_hint()}",
            buttons=self.menu_buttons(),
        )

    def commands_hint(self) -> str:
        return "/causes, /fixes, /faq, or /check for a quick personal check."

    def menu_buttons(self) -> tuple[tuple[Button, ...], ...]:
        menu = [Button("Causes", data="l:cause"), Button("Fixes", data="l:fix"), Button("FAQ", data="l:faq")]
        return (tuple(menu),)

    def list_reply(self, kind: str) -> Reply:
        entries = self.kb.of_kind(kind)
        buttons = [Button(e.button_label if kind != "faq" else e.title, data=f"e:{e.id}") for e in entries]
        return Reply(f"{bold(KIND_TITLES[kind])}\n\n{esc(LIST_PROMPTS[kind])}", buttons=rows(buttons))

    def welcome_reply(self) -> Reply:
        meta = self.kb.meta
        text = (
            f"Hi! I'm {bold(meta.bot_name)}. Tell me, in your own words, what happens to your lower back "
            "on the leg press, and I'll explain the likely causes and what to do about it.\n\n"
            f"Browse {self.commands_hint()}\n\n{italic(meta.disclaimer)}"
        )
        return Reply(text, buttons=self.menu_buttons())

    def help_reply(self, where: str = HELP_ON_TELEGRAM) -> Reply:
        """The commands, then `where`: how to reach the bot where the person is (a door passes its own)."""
        lines = "\n".join(f"/{c} – {esc(d)}" for c, d in COMMAND_MENU)
        text = (
            "Ask me anything about lower-back pain on the leg press, in your own words. For example:\n"
            "• “why does my back hurt after leg press?”\n"
            "• “where should my feet go?”\n"
            "• “do I need a belt?”\n\n"
            f"{lines}\n\n{esc(where)}"
        )
        return Reply(text, buttons=self.menu_buttons())

    def about_reply(self) -> Reply:
        meta = self.kb.meta
        source = link(meta.source_title, meta.source_url) if meta.source_url else italic(meta.source_title)
        about = f"{esc(meta.about)}\n\n" if meta.about else ""
        return Reply(f"{about}Source: {source}\n\n{italic(meta.disclaimer)}")

    # ---------------------------------------------------------------------------------------- inline
    def inline_results(self, query: str, limit: int = 5) -> Sequence[Entry]:
        """Entries for inline mode: the best matches, or all causes when the query is empty."""
        if not query.strip():
            return self.kb.of_kind("cause")
        return [c.entry for c in self.matcher.search(query, limit)]
