"""The fence: a runner that cannot renew its leases stops polling and sending before they can expire.

Leases are rows in PostgreSQL; a runner cut off from it cannot know whether
another runner took its bots once they expired. So it stands down first (no
getUpdates, no sendMessage) and stands up once a renewal succeeds again.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.fleet.timing import FleetTiming
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import make_runner, make_world, roster_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

POLL_TIMEOUT = 1
QUIET_WINDOW = 1.5  # seconds of watching the request log for a poll or a send that must not come
FAST = FleetTiming(heartbeat=0.5, ttl=3.0, fence_after=1.8, retry=0.2, query_timeout=0.5)


async def until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_runner_cut_off_from_its_database_stands_down_before_its_leases_expire_and_up_after(
    spare_postgres: EmbeddedPostgres,
) -> None:
    world = await make_world(3)
    dsn = spare_postgres.dsn()
    try:
        async with make_runner(
            world,
            dsn,
            roster_of(world, ["bot000", "bot001", "bot002"]),
            poll_timeout=POLL_TIMEOUT,
            metrics_port=0,
            fleet_timing=FAST,
        ) as runner:
            await runner.wait_polling()
            outbox_id = await runner.outbox.put(
                Outgoing(bot="bot001", chat_id=world.chat_id, text="Önce bu.", priority=Priority.ANSWER)
            )
            await runner.outbox.drain_until_idle(timeout=15)

            cut_at = time.monotonic()
            await asyncio.to_thread(spare_postgres.stop)
            await until(lambda: runner.fenced)
            fenced_after = time.monotonic() - cut_at
            assert runner.metrics is not None
            async with aiohttp.ClientSession() as http, http.get(runner.metrics.url + "/healthz") as health:
                assert health.status == 503 and (await health.json())["fenced"] is True
            # A long poll given up at the stand-down still ends on the emulator's side within its timeout.
            await asyncio.sleep(POLL_TIMEOUT + 0.3)
            quiet_from = time.time()
            posted = world.emulator.post(world.chat_id, user_id=9, text="kimse yok mu?")
            await asyncio.sleep(QUIET_WINDOW)
            during = [(r.bot_name, r.method) for r in world.emulator.requests if r.at > quiet_from]
            assert world.emulator.pending("bot000") == 1  # not taken, not confirmed

            await asyncio.to_thread(spare_postgres.start)
            await until(lambda: not runner.fenced)
            await world.emulator.wait_confirmed(timeout=15)  # polling again, the message stored and confirmed
            stored = await runner.pool.fetchval(
                "SELECT count(*) FROM messages WHERE telegram_message_id = $1", posted.message_id
            )
            sent = await runner.pool.fetchval("SELECT status FROM outbox WHERE id = $1", outbox_id)
    finally:
        await world.emulator.stop()
    assert fenced_after < FAST.ttl  # before any lease of its could expire and be taken
    assert during == []  # no getMe, getUpdates or sendMessage from any bot while fenced
    assert stored == 1 and sent == "sent"
