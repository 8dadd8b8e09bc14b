"""Answers keep trying until they are stale, not for six attempts; a 429's retry_after is obeyed, capped."""

from __future__ import annotations

import random
import time

import asyncpg
import pytest
from structlog.testing import capture_logs

from piyasa_bot.roster import Limits
from piyasa_bot.sending.limits import RETRY_AFTER_CAP, RetryAfterPauses
from piyasa_bot.sending.outbox import Outgoing, Priority
from piyasa_bot.sending.retry import RetryBackoff
from tests.helpers import make_runner, make_world

pytestmark = pytest.mark.slow

QUICK = RetryBackoff(first=0.05, cap=0.2)  # the same policy, on a test's time scale


async def outbox_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT * FROM outbox ORDER BY id")
    finally:
        await conn.close()


def test_the_backoff_grows_to_its_cap_and_never_goes_below_zero() -> None:
    backoff = RetryBackoff(first=0.5, cap=15.0, jitter=0.2, rng=random.Random(1))
    delays = [backoff.delay(attempt) for attempt in range(1, 12)]
    assert 0.4 <= delays[0] <= 0.6
    assert all(12.0 <= d <= 18.0 for d in delays[6:])  # capped, within its jitter
    assert 12.0 <= backoff.delay(5000) <= 18.0  # no overflow after an hour of outage


def test_a_retry_that_would_come_after_the_expiry_is_not_planned() -> None:
    backoff = RetryBackoff(first=1.0, jitter=0.0)
    fresh = Outgoing(bot="ayse", chat_id=-100, text="x", priority=Priority.ANSWER, attempts=1, expires_at=100.0)
    assert backoff.next_attempt_at(fresh, now=50.0) == 51.0
    assert backoff.next_attempt_at(fresh, now=99.5) is None


def test_a_retry_after_beyond_the_cap_is_capped_and_logged() -> None:
    pauses = RetryAfterPauses()
    with capture_logs() as logs:
        applied = pauses.pause("ayse", 120)
        pauses.pause("mehmet", 3)
    assert applied == RETRY_AFTER_CAP == 60.0
    assert RETRY_AFTER_CAP - 1 < pauses.remaining("ayse") <= RETRY_AFTER_CAP
    assert 2 < pauses.remaining("mehmet") <= 3
    assert [(e["event"], e["bot"], e["retry_after"], e["capped_to"]) for e in logs] == [
        ("send.retry_after_capped", "ayse", 120, 60.0)
    ]


async def test_an_answer_outlasts_a_send_outage_longer_than_six_attempts_and_goes_out_once(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            outbox = runner.outbox
            outbox.retry = QUICK
            world.emulator.faults.rate_5xx = 1.0  # the Bot API answers 502 to everything
            await outbox.put(Outgoing(bot="bot000", chat_id=world.chat_id, text="sabır", priority=Priority.ANSWER))
            await outbox.wait_until(lambda: outbox.counts.retried >= 7, timeout=20)  # the old code failed it at 6
            (during,) = await outbox_rows(dsn)
            world.emulator.faults.rate_5xx = 0.0
            await outbox.wait_until(lambda: outbox.counts.sent == 1, timeout=20)
    finally:
        await world.emulator.stop()
    assert (during["status"], during["send_started_at"]) == ("pending", None)  # not failed, not in doubt
    assert [s.text for s in world.emulator.sent()] == ["sabır"]
    (row,) = await outbox_rows(dsn)
    assert row["status"] == "sent" and row["attempts"] > 7


async def test_messages_still_failing_when_they_stop_being_fresh_expire_with_the_last_error(dsn: str) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            runner.outbox.retry = QUICK
            world.emulator.faults.rate_5xx = 1.0
            soon = time.time() + 1.5
            await runner.outbox.put(
                Outgoing(
                    bot="bot000",
                    chat_id=world.chat_id,
                    text="geç kalan cevap",
                    priority=Priority.ANSWER,
                    expires_at=soon,
                )
            )
            await runner.outbox.put(
                Outgoing(
                    bot="bot001",
                    chat_id=world.chat_id,
                    text="geç kalan sohbet",
                    priority=Priority.CHATTER,
                    expires_at=soon,
                )
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert world.emulator.sent() == []
    for row in await outbox_rows(dsn):
        assert row["status"] == "expired"
        assert row["reason"].startswith("still failing when it stopped being fresh: server_error: Bad Gateway")
        assert row["attempts"] >= 2


async def test_an_answer_put_without_an_expiry_gets_the_rosters_answer_ttl(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            before = time.time()
            await runner.outbox.put(
                Outgoing(
                    bot="bot000",
                    chat_id=world.chat_id,
                    text="yarın",
                    priority=Priority.ANSWER,
                    not_before=before + 3600,
                )
            )
    finally:
        await world.emulator.stop()
    (row,) = await outbox_rows(dsn)
    ttl = Limits().answer_ttl_seconds
    assert row["status"] == "pending"
    # From when it may go, not from when it was put: a delayed answer is not born stale.
    assert before + 3600 + ttl - 5 < row["expires_at"].timestamp() < time.time() + 3600 + ttl + 5


async def test_a_bot_told_to_wait_120_s_tries_again_after_the_cap(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            outbox = runner.outbox
            outbox.limits.pauses.cap = 1.0  # the same rule as the 60 s cap, on a test's time scale
            world.emulator.faults.rate_429, world.emulator.faults.retry_after = 1.0, 120
            await outbox.put(Outgoing(bot="bot000", chat_id=world.chat_id, text="sonunda", priority=Priority.ANSWER))
            await outbox.wait_until(lambda: outbox.counts.rate_limited == 1, timeout=10)
            world.emulator.faults.rate_429 = 0.0
            await outbox.wait_until(lambda: outbox.counts.sent == 1, timeout=10)
    finally:
        await world.emulator.stop()
    sends = [r for r in world.emulator.requests if r.method == "sendMessage"]
    assert [r.status for r in sends] == [429, 200]
    assert 0.9 < sends[1].at - sends[0].at < 5  # held for the cap, not for the 120 s asked
