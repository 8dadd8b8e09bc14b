"""The outbox against the emulator: limits kept, answers first, nothing dropped silently."""

from __future__ import annotations

import asyncio
import itertools
import time

import asyncpg
import pytest

from piyasa_bot.sandbox import FaultPlan
from piyasa_bot.sending.outbox import MAX_ANSWERS_WAITING, Outgoing, Priority
from piyasa_bot.sending.store import OutboxRow, OutboxStore
from tests.helpers import make_runner, make_world

pytestmark = pytest.mark.slow


class SentLog:
    """Collects what the outbox reports sent and lets a test await a count."""

    def __init__(self) -> None:
        self.items: list[Outgoing] = []
        self._changed = asyncio.Event()

    def __call__(self, item: Outgoing, _message: object) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 30) -> None:
        async def reached() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), timeout)


async def outbox_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT * FROM outbox ORDER BY id")
    finally:
        await conn.close()


def chatter(bot: str, chat_id: int, text: str, ttl: float = 300) -> Outgoing:
    return Outgoing(bot=bot, chat_id=chat_id, text=text, priority=Priority.CHATTER, expires_at=time.time() + ttl)


async def test_answers_overtake_waiting_chatter_within_the_chat_limit(dsn: str) -> None:
    world = await make_world(3)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            sent = SentLog()
            runner.outbox.on_sent = sent
            for i in range(8):
                await runner.outbox.put(chatter("bot001", world.chat_id, f"sohbet {i}"))
            await sent.wait_for(1)
            for i in range(3):
                await runner.outbox.put(
                    Outgoing(
                        bot="bot001",
                        chat_id=world.chat_id,
                        text=f"cevap {i}",
                        priority=Priority.ANSWER,
                        answers=100 + i,
                    )
                )
            await sent.wait_for(4)
            violations = dict(world.emulator.violations)
    finally:
        await world.emulator.stop()
    assert [item.text for item in sent.items[:4]] == ["sohbet 0", "cevap 0", "cevap 1", "cevap 2"]
    assert sum(violations.values()) == 0
    times = [s.at for s in world.emulator.sent(world.chat_id, "bot001")]
    assert len(times) >= 3
    # About one message a second from a bot into one chat, never a burst.
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))


async def test_rate_limited_sends_are_retried_until_sent(dsn: str) -> None:
    world = await make_world(2, faults=FaultPlan(rate_429=0.6, retry_after=1), seed=11)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            sent = SentLog()
            runner.outbox.on_sent = sent
            await runner.outbox.put(Outgoing(bot="bot000", chat_id=world.chat_id, text="ilk", priority=Priority.ANSWER))
            await runner.outbox.put(
                Outgoing(bot="bot001", chat_id=world.chat_id, text="ikinci", priority=Priority.ANSWER)
            )
            await sent.wait_for(2, timeout=40)
            rate_limited = runner.outbox.counts.rate_limited
    finally:
        await world.emulator.stop()
    assert rate_limited > 0
    assert [r["status"] for r in await outbox_rows(dsn)] == ["sent", "sent"]


async def test_a_bot_removed_from_the_chat_fails_with_the_reason_and_is_marked_inactive(dsn: str) -> None:
    world = await make_world(2)
    world.emulator.remove_member(world.chat_id, "bot001")
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(
                Outgoing(bot="bot001", chat_id=world.chat_id, text="merhaba", priority=Priority.ANSWER)
            )
            await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="x" * 5000, priority=Priority.ANSWER)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    forbidden, too_long = await outbox_rows(dsn)
    assert forbidden["status"] == "failed" and forbidden["reason"].startswith("forbidden")
    assert too_long["status"] == "failed" and "too long" in too_long["reason"]
    conn = await asyncpg.connect(dsn)
    try:
        active = await conn.fetchval("SELECT active FROM bot_chats JOIN bots ON bots.id = bot_id WHERE name = 'bot001'")
    finally:
        await conn.close()
    assert active is False


async def test_chatter_that_cannot_go_out_while_fresh_expires_with_the_reason(dsn: str) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            for i in range(4):
                await runner.outbox.put(chatter("bot000", world.chat_id, f"eski {i}", ttl=1.0))
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    statuses = [r["status"] for r in await outbox_rows(dsn)]
    assert statuses[0] == "sent"
    assert statuses[1:] == ["expired"] * 3
    assert len(world.emulator.sent()) == 1


async def test_pending_answers_go_out_after_a_restart(dsn: str) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(
                Outgoing(
                    bot="bot000",
                    chat_id=world.chat_id,
                    text="birazdan",
                    priority=Priority.ANSWER,
                    not_before=time.time() + 1.5,
                )
            )
        assert world.emulator.sent() == []
        async with make_runner(world, dsn) as runner:
            await runner.wait_resumed()
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert [s.text for s in world.emulator.sent()] == ["birazdan"]
    assert [r["status"] for r in await outbox_rows(dsn)] == ["sent"]


async def test_a_text_the_guard_refuses_is_recorded_failed_and_never_sent(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(
                Outgoing(
                    bot="bot000",
                    chat_id=world.chat_id,
                    priority=Priority.ANSWER,
                    text="Bu hisse kesin kazanç, detaylar t.me/kanal adresinde",
                )
            )
            await runner.outbox.drain_until_idle(timeout=10)
    finally:
        await world.emulator.stop()
    (row,) = await outbox_rows(dsn)
    assert row["status"] == "failed" and row["reason"].startswith("guard:")
    assert world.emulator.sent() == []


async def test_a_message_for_a_group_that_became_a_supergroup_goes_to_the_supergroup(dsn: str) -> None:
    world = await make_world(2, chat_type="group")
    new_id = -1009000000001
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            world.emulator.migrate_chat(world.chat_id, new_id, by_user=1)
            await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="taşındık", reply_to=5, priority=Priority.ANSWER)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    (sent,) = world.emulator.sent()
    assert (sent.chat_id, sent.text, sent.reply_to_message_id) == (new_id, "taşındık", None)
    (row,) = await outbox_rows(dsn)
    assert (row["status"], row["chat_id"]) == ("sent", new_id)


async def test_an_answer_beyond_two_minutes_of_its_bots_queue_expires_at_once(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            later = time.time() + 3600  # typing for an hour: nothing goes out while the test looks
            for i in range(MAX_ANSWERS_WAITING + 1):
                item = Outgoing(
                    bot="bot000", chat_id=world.chat_id, text=f"cevap {i}", priority=Priority.ANSWER,
                    answers=1000 + i, not_before=later,
                )  # fmt: skip
                await runner.outbox.put(item)
            assert runner.outbox.backlog_of(world.chat_id, Priority.ANSWER) == MAX_ANSWERS_WAITING
    finally:
        await world.emulator.stop()
    rows = await outbox_rows(dsn)
    assert [r["status"] for r in rows].count("expired") == 1
    last = rows[-1]
    assert last["status"] == "expired" and f"{MAX_ANSWERS_WAITING} answers of this bot already wait" in last["reason"]


async def test_a_resume_whose_read_went_stale_sends_nothing_twice(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resume reads the pending rows; before the read returns, this process sends one of them and
    closes its row. The stale read still says pending: the row is neither sent again nor closed as unknown."""
    world = await make_world(2)
    read_done, sent = asyncio.Event(), asyncio.Event()
    pending = OutboxStore.pending

    async def read_then_wait(store: OutboxStore, bot_ids: list[int] | None = None) -> list[OutboxRow]:
        rows = await pending(store, bot_ids)
        read_done.set()
        await sent.wait()
        return rows

    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            outbox_id = await runner.outbox.put(
                Outgoing(
                    bot="bot001",
                    chat_id=world.chat_id,
                    text="tek sefer",
                    priority=Priority.ANSWER,
                    not_before=time.time() + 0.5,  # still pending when the resume reads
                )
            )
            monkeypatch.setattr(OutboxStore, "pending", read_then_wait)
            resume = asyncio.create_task(runner.outbox.load_pending())
            await asyncio.wait_for(read_done.wait(), 10)
            await runner.outbox.wait_until(lambda: len(world.emulator.sent(world.chat_id)) == 1, timeout=10)
            await runner.outbox.drain_until_idle(timeout=10)
            sent.set()
            assert await resume == 0
            await runner.outbox.drain_until_idle(timeout=10)
            status = await runner.pool.fetchval("SELECT status FROM outbox WHERE id = $1", outbox_id)
        assert [m.text for m in world.emulator.sent(world.chat_id)] == ["tek sefer"]
        assert status == "sent"
    finally:
        await world.emulator.stop()
