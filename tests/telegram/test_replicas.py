"""Three replicas of the bot on one PostgreSQL database, as real processes (tests/replicas.py).

Webhook mode: a round-robin forwarder that retries as Telegram does sends each update to the next replica
in turn; one replica is killed with SIGKILL in the middle of a burst, and every message still gets its
reply, in order per person, with at most the replies that were on their way at the kill sent twice. A check
moves from replica to replica tap by tap, and two taps on one check at two replicas at once move it once.
Questions asked through three replicas all reach the one question log.
Polling mode: only one replica polls (the fake Bot API answers a second consumer with 409, as Telegram
does); when it is killed while it answers what it fetched, another takes over within 10 s and nothing is
lost, neither what the dead one had fetched nor what was sent while nobody polled.

The check-expiry note (once, not once per replica) is not here: a bot process has no setting that
shortens its 30 minutes, so test_replica_timers.py runs two replicas in one process on the hand-moved clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import psycopg
import pytest
from fakebot import Call, FakeTelegram, Json, private_chat, user
from helpers import CAUSE_PATHS, NONE
from replicas import (
    NUMBERED,
    SLOTS,
    Cluster,
    Forwarder,
    Replica,
    burst_with_a_kill,
    quiet,
    until,
    until_done_or_still,
    which,
)

from bot.replies import to_plain

PEOPLE = 60  # each sends NUMBERED: 180 updates
RUNS = 5
STILL = 10.0  # seconds without a call after which what is missing is taken as lost (leases are 2 s)
TAKEOVER_SECONDS = 10.0  # polling: another replica polls within this long after the poller died
CHECK_STEPS = 7
# every Bot API call takes this long, as from a server far from Telegram's: the burst outruns the replies,
# so the replica killed has updates in hand (and replies on their way) at the kill
LATENCY = 0.1


@pytest.fixture
def cluster(fake: FakeTelegram, tmp_path: Path, database_url: str) -> Cluster:
    return Cluster(fake, tmp_path, database_url, 3)


def tracebacks(replicas: list[Replica]) -> list[str]:
    """The replicas (still running at the end) whose log has a traceback."""
    return [r.name for r in replicas if "Traceback" in r.log]


# --------------------------------------------------------------------------------- kill -9 in a burst
@pytest.mark.parametrize("run", range(RUNS))
async def test_kill_9_of_one_replica_mid_burst_loses_nothing_and_keeps_each_persons_order(
    fake: FakeTelegram, cluster: Cluster, run: int
) -> None:
    total = PEOPLE * len(NUMBERED)
    kill_after = total * (2 + 3 * run) // (3 * RUNS + 2)  # from early in the burst to late in it
    fake.latency = LATENCY
    await cluster.start()
    try:
        outcome = await burst_with_a_kill(
            fake, cluster, PEOPLE, kill_after, victim=run % 3, first_id=80_000 + 1_000 * run, still=STILL
        )
    finally:
        await cluster.stop()
    print(
        f"run {run + 1}: {outcome.killed} killed after {outcome.killed_after}/{total} replies; "
        f"lost {outcome.lost}, repeated {outcome.repeated}, out of order {len(outcome.out_of_order)}, "
        f"forwarder retries {outcome.retries}"
    )
    assert 0 < outcome.killed_after < total, "killed in the middle of the burst"
    assert outcome.lost == 0, {c: s for c, s in outcome.replies.items() if len(set(s)) < len(NUMBERED)}
    assert not outcome.out_of_order, {c: outcome.replies[c] for c in outcome.out_of_order}
    assert outcome.strangers == 0
    # a reply sent just before the kill, its update not yet marked done, is sent again by the replica
    # that takes the update over: at most one per update the killed replica was handling at the kill
    assert outcome.repeated <= SLOTS, outcome.repeated
    survivors = [r for r in cluster.replicas if r.name != outcome.killed]
    assert not tracebacks(survivors), cluster.log[-4000:]


# ------------------------------------------------------------------------------ a check across replicas
class CheckPerson:
    """One person whose check message is tapped through whichever replica the test names."""

    def __init__(self, fake: FakeTelegram, forwarder: Forwarder, uid: int) -> None:
        self.fake, self.forwarder = fake, forwarder
        self.who = user(uid, "Casey")
        self.chat = private_chat(self.who)
        self.message_id = 0
        self._update_ids = itertools.count(uid * 100)

    def update(self, **content: Json) -> Json:
        return {"update_id": next(self._update_ids), **content}

    async def start_check(self, through: Replica) -> str:
        before = len(self.fake.calls)
        message = self.fake.message(self.chat, self.who, "/check")
        await self.forwarder.post(self.update(message=message), to=through.url)
        question = await self.fake.wait_for(
            lambda c: c.method == "sendMessage" and c.chat_id == self.chat["id"] and self.after(c, before)
        )
        self.message_id = max(m for c, m in self.fake.messages if c == self.chat["id"])
        return to_plain(question.text)

    def after(self, call: Call, before: int) -> bool:
        return self.fake.calls.index(call) >= before

    def data(self, label: str) -> str:
        shown = self.fake.bot_message(self.chat["id"], self.message_id)
        buttons = [b for row in shown["reply_markup"]["inline_keyboard"] for b in row if b["text"] == label]
        assert buttons, f"no button {label!r} on {to_plain(shown['text'])[:200]!r}"
        return str(buttons[0]["callback_data"])

    def tap_update(self, label: str) -> Json:
        shown = self.fake.bot_message(self.chat["id"], self.message_id)
        return self.update(callback_query=self.fake.callback_query(self.who, shown, self.data(label)))

    async def answered(self, update: Json) -> Call:
        """The answer to this tap (every tap is answered, stale or not)."""
        query_id = update["callback_query"]["id"]
        return await self.fake.wait_for(
            lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
        )

    async def edited(self, before: int) -> Call:
        return await self.fake.wait_for(
            lambda c: (
                c.method == "editMessageText"
                and c.chat_id == self.chat["id"]
                and int(c.params.get("message_id", 0)) == self.message_id
                and self.after(c, before)
            )
        )

    async def tap(self, label: str, through: Replica) -> str:
        """Tap a button of the check message through one replica; the message as it then reads."""
        before = len(self.fake.calls)
        update = self.tap_update(label)
        await self.forwarder.post(update, to=through.url)
        notice = (await self.answered(update)).params.get("text")
        assert notice is None, f"tap {label!r} through {through.name}: {notice!r}"
        return to_plain((await self.edited(before)).text)


async def test_a_check_moves_between_replicas_step_by_step(fake: FakeTelegram, cluster: Cluster) -> None:
    await cluster.start()
    r1, r2, r3 = cluster.replicas
    try:
        async with Forwarder(cluster.urls) as forwarder:
            casey = CheckPerson(fake, forwarder, 3001)
            assert f"Quick check · 1/{CHECK_STEPS}" in await casey.start_check(through=r1)
            path = CAUSE_PATHS["Tight hamstrings"]
            taps = zip(path, itertools.cycle([r2, r3, r1]), strict=False)
            for step, (label, replica) in enumerate(taps, 2):
                text = await casey.tap(label, through=replica)
                if step <= CHECK_STEPS:
                    assert f"Quick check · {step}/{CHECK_STEPS}" in text, (replica.name, text[:200])
            assert text.startswith("Your check: what most likely fits"), text[:200]
            top = next(line for line in text.splitlines() if line.startswith("1. "))
            assert top[3:].startswith("Tight hamstrings"), text[:400]
    finally:
        await cluster.stop()
    assert not tracebacks(cluster.replicas), cluster.log[-4000:]


async def test_two_taps_on_one_check_at_two_replicas_at_once_move_it_once(
    fake: FakeTelegram, cluster: Cluster
) -> None:
    await cluster.start()
    r1, r2, r3 = cluster.replicas
    path = CAUSE_PATHS["Tight hamstrings"]
    try:
        async with Forwarder(cluster.urls) as forwarder:
            casey = CheckPerson(fake, forwarder, 3002)
            await casey.start_check(through=r1)
            await casey.tap(NONE, through=r1)
            assert f"Quick check · 3/{CHECK_STEPS}" in await casey.tap(NONE, through=r1)
            before = len(fake.calls)
            # two answers to step 3, tapped at once (two phones), arriving at two replicas at once
            both = [casey.tap_update("During the set"), casey.tap_update("The next day")]
            await asyncio.gather(forwarder.post(both[0], to=r2.url), forwarder.post(both[1], to=r3.url))
            answers = [await casey.answered(u) for u in both]
            await casey.edited(before)
            await quiet(fake, 1.0)  # a second step, if the check forked, is on its way by now
            shown = {
                to_plain(c.text)
                for c in fake.calls[before:]
                if c.method == "editMessageText" and c.chat_id == casey.chat["id"]
            }
            notices = sorted(str(a.params.get("text")) for a in answers)
            assert notices == ["Already answered.", "None"], notices  # one applied, one told politely
            (step,) = shown
            assert f"Quick check · 4/{CHECK_STEPS}" in step, shown
            # and the check goes on from there, wherever the next taps arrive
            assert f"Quick check · 5/{CHECK_STEPS}" in await casey.tap(path[3], through=r2)
            assert f"Quick check · 6/{CHECK_STEPS}" in await casey.tap(path[4], through=r3)
    finally:
        await cluster.stop()
    assert not tracebacks(cluster.replicas), cluster.log[-4000:]


# ------------------------------------------------------------------------------------ the question log
QUESTIONS = (
    "why does my back hurt after leg press?",
    "where should my feet go on the platform",
    "how often should I stretch my hamstrings?",
)


async def test_questions_asked_through_three_replicas_are_all_in_one_question_log(
    fake: FakeTelegram, cluster: Cluster, database_url: str
) -> None:
    people = [user(6000 + i, f"L{i}") for i in range(30)]
    await cluster.start()
    try:
        before = len(fake.calls)
        updates = [
            {
                "update_id": 600_000 + i,
                "message": fake.message(private_chat(p), p, QUESTIONS[i % len(QUESTIONS)]),
            }
            for i, p in enumerate(people)
        ]
        async with Forwarder(cluster.urls) as forwarder:
            await forwarder.post_all(updates)
        answered = {p["id"] for p in people}
        await until_done_or_still(
            fake,
            lambda: answered <= {c.chat_id for c in fake.calls[before:] if c.method == "sendMessage"},
            STILL,
        )
    finally:
        await cluster.stop()  # each replica writes what it has not written yet
    with psycopg.connect(database_url) as conn:
        logged, people_logged = conn.execute(
            "SELECT count(*), count(DISTINCT user_hash) FROM analytics_questions"
        ).fetchone() or (0, 0)
    assert (logged, people_logged) == (len(people), len(people))
    assert not tracebacks(cluster.replicas), cluster.log[-4000:]


# --------------------------------------------------------------------------------------------- polling
async def test_polling_one_replica_polls_and_another_takes_over_after_kill_9(
    fake: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    fake.one_consumer = True  # a second getUpdates ends the first with 409 Conflict, as on Telegram
    fake.latency = LATENCY  # the poller killed has fetched updates it has not answered yet
    cluster = Cluster(fake, tmp_path, database_url, 3, webhook=False)
    people = [user(5000 + i, f"Q{i}") for i in range(20)]
    chats = {p["id"] for p in people}

    def replies(before: int) -> dict[int, list[int]]:
        seen: dict[int, list[int]] = {chat: [] for chat in chats}
        for call in fake.calls[before:]:
            if call.method == "sendMessage" and call.chat_id in seen:
                seen[call.chat_id].append(which(call.text))
        return seen

    async def send(text: str) -> None:
        for person in people:
            await fake.push(message=fake.message(private_chat(person), person, text))

    await cluster.start()
    try:
        before = len(fake.calls)
        await send(NUMBERED[0])
        await until_done_or_still(fake, lambda: all(replies(before).values()), STILL)
        await quiet(fake, 1.0)
        first = replies(before)
        before = len(fake.calls)
        await send(NUMBERED[1])  # fetched by the poller, which is killed while it answers them
        await until(lambda: sum(map(len, replies(before).values())) >= 3)
        poller = cluster.named(fake.polls[-1].client)
        killed_at = time.monotonic()
        await cluster.kill(poller)
        await send(NUMBERED[2])  # sent while nobody polls
        await until_done_or_still(
            fake, lambda: all(len(set(s)) == 2 for s in replies(before).values()), STILL
        )
        await quiet(fake, 2.0)
        rest = replies(before)
    finally:
        await cluster.stop()
    pollers = sorted({p.client for p in fake.polls})
    takeover = min(
        (p.started for p in fake.polls if p.client != poller.name and p.started > killed_at), default=None
    )
    conflicts = [p.client for p in fake.polls if p.conflict]
    after = "never" if takeover is None else f"{takeover - killed_at:.1f} s after"
    repeated = sum(len(seq) - len(set(seq)) for seq in rest.values())
    print(
        f"pollers {pollers}; killed {poller.name}; another polled {after}; 409 conflicts {len(conflicts)}; "
        f"repeated {repeated}"
    )
    assert not conflicts, f"{len(conflicts)} getUpdates ended by another replica's: {sorted(set(conflicts))}"
    assert all(seq == [0] for seq in first.values()), first
    assert all(set(seq) == {1, 2} for seq in rest.values()), rest  # nothing lost
    assert all(seq == sorted(seq) for seq in rest.values()), rest  # each person's order kept
    assert repeated <= SLOTS, rest
    assert takeover is not None and takeover - killed_at <= TAKEOVER_SECONDS
    assert not tracebacks([r for r in cluster.replicas if r is not poller]), cluster.log[-4000:]
