"""The update processor: chats in parallel up to a few slots, each chat in order, bursts queue apart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.telegram.ordering import PerChatUpdateProcessor


def update_in(chat_id: int, update_id: int) -> Update:
    return Update(update_id, message=Message(update_id, datetime.now(UTC), Chat(chat_id, "private")))


async def test_a_burst_from_one_chat_never_holds_the_slots_others_need() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=2)
    release = asyncio.Event()
    order: list[tuple[int, str]] = []

    async def handle(update_id: int, wait: bool) -> None:
        order.append((update_id, "start"))
        if wait:
            await release.wait()
        order.append((update_id, "end"))

    burst = [
        asyncio.create_task(processor.process_update(update_in(1, i), handle(i, wait=True))) for i in range(5)
    ]
    other = asyncio.create_task(processor.process_update(update_in(2, 99), handle(99, wait=False)))
    await asyncio.wait_for(other, 5)  # served while chat 1 is still busy with its first update
    assert order == [(0, "start"), (99, "start"), (99, "end")]
    release.set()
    await asyncio.wait_for(asyncio.gather(*burst), 5)
    chat_one = [i for i, what in order if what == "start" and i != 99]
    assert chat_one == [0, 1, 2, 3, 4]  # in order, one at a time
    assert not processor._locks and not processor._waiting


async def test_no_more_than_the_slots_run_at_once() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=3)
    running = peak = 0
    gate = asyncio.Event()

    async def handle() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    tasks = [asyncio.create_task(processor.process_update(update_in(c, c), handle())) for c in range(10)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert running == 3
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert peak == 3
