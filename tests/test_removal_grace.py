"""A bot removed from bots.yaml and back a moment later sends what it had queued; one that stays away fails it."""

from __future__ import annotations

import asyncio
import time

import pytest

from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import World, make_runner, make_world, roster_of

pytestmark = pytest.mark.slow


async def queue_answers(runner, world: World, bot: str, count: int) -> list[int]:
    """Answers as the rooms queue them: held back for a typing delay, so still queued when the edit lands."""
    ids = []
    for index in range(count):
        outbox_id = await runner.outbox.put(
            Outgoing(
                bot=bot,
                chat_id=world.chat_id,
                text=f"{bot} cevap {index}",
                priority=Priority.ANSWER,
                not_before=time.time() + 1.0,
            )
        )
        assert outbox_id is not None
        ids.append(outbox_id)
    return ids


async def statuses(runner, ids: list[int]) -> list[tuple[str, str | None]]:
    rows = await runner.pool.fetch("SELECT status, reason FROM outbox WHERE id = ANY($1) ORDER BY id", ids)
    return [(row["status"], row["reason"]) for row in rows]


async def test_a_bot_removed_and_back_within_the_grace_sends_its_queued_answers(dsn: str) -> None:
    world = await make_world(3)
    names = ["bot000", "bot001", "bot002"]
    try:
        async with make_runner(world, dsn, roster_of(world, names)) as runner:
            await runner.wait_polling()
            ids = await queue_answers(runner, world, "bot001", 2)
            await runner.apply(roster_of(world, ["bot000", "bot002"]))  # the editor's first write
            assert "bot001" not in runner.pollers and runner.services.removals.waiting("bot001") == 2
            await runner.apply(roster_of(world, names))  # its second write, a moment later
            await runner.wait_polling()
            await runner.outbox.drain_until_idle(timeout=15)
            sent = sorted(s.text for s in world.emulator.sent(world.chat_id, bot_name="bot001"))
            ended = await statuses(runner, ids)
    finally:
        await world.emulator.stop()
    assert sent == ["bot001 cevap 0", "bot001 cevap 1"]
    assert ended == [("sent", None), ("sent", None)]


async def test_a_bot_that_stays_away_past_the_grace_fails_its_queued_answers_with_the_reason(dsn: str) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn, removal_grace=0.5) as runner:
            await runner.wait_polling()
            ids = await queue_answers(runner, world, "bot001", 2)
            await runner.apply(roster_of(world, ["bot000"]))
            assert (await statuses(runner, ids))[0][0] == "pending"  # within the grace: still waiting
            async with asyncio.timeout(10):
                while (ended := await statuses(runner, ids))[-1][0] == "pending":
                    await asyncio.sleep(0.05)
    finally:
        await world.emulator.stop()
    assert ended == [("failed", "the bot was removed from bots.yaml")] * 2
    assert world.emulator.sent(world.chat_id, bot_name="bot001") == []
