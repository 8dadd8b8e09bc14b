"""The single-instance lock is a fence: a runner that lost it neither polls nor sends until it has it back."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import asyncpg
import pytest

from piyasa_bot.db.pool import INSTANCE_LOCK_KEY
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import make_runner, make_world, roster_of

pytestmark = pytest.mark.slow

POLL_TIMEOUT = 1
QUIET_WINDOW = 1.5  # seconds of watching the request log for a poll or a send that must not come


async def test_a_runner_that_lost_its_lock_to_another_stops_polling_and_sending_until_it_is_free(dsn: str) -> None:
    world = await make_world(4)
    first = ["bot000", "bot001", "bot002"]
    admin = await asyncpg.connect(dsn)
    other = await asyncpg.connect(dsn)  # another runner's lock connection
    try:
        async with make_runner(
            world, dsn, roster_of(world, first), poll_timeout=POLL_TIMEOUT, metrics_port=0
        ) as runner:
            await runner.wait_polling()
            holder = await admin.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted",
                INSTANCE_LOCK_KEY & 0xFFFF_FFFF,
            )
            await admin.execute("SELECT pg_terminate_backend($1)", holder)  # the lock's connection dies...
            await other.execute("SELECT pg_advisory_lock($1)", INSTANCE_LOCK_KEY)  # ...and another takes it
            while not runner.fenced:
                await asyncio.sleep(0.02)
            assert runner.metrics is not None
            async with aiohttp.ClientSession() as http, http.get(runner.metrics.url + "/healthz") as health:
                assert health.status == 503 and (await health.json())["fenced"] is True  # not "running" meanwhile
            # The emulator logs a request when it answers: a long poll the runner gave up at the
            # stand-down still ends on the emulator's side within the poll timeout.
            await asyncio.sleep(POLL_TIMEOUT + 0.3)
            fenced_at = time.time()

            # While fenced: an answer queued and a person's message posted stay where they are.
            outbox_id = await runner.outbox.put(
                Outgoing(bot="bot001", chat_id=world.chat_id, text="Kilit gelince.", priority=Priority.ANSWER)
            )
            posted = world.emulator.post(world.chat_id, user_id=9, text="kimse yok mu?")
            await runner.apply(world.loaded)  # a reload meanwhile: bot003 joins, but does not poll yet
            await asyncio.sleep(QUIET_WINDOW)
            during = [r for r in world.emulator.requests if r.at > fenced_at]
            status = await runner.pool.fetchval("SELECT status FROM outbox WHERE id = $1", outbox_id)
            assert world.emulator.pending("bot000") == 1  # not taken, not confirmed: the other runner's to poll

            await other.execute("SELECT pg_advisory_unlock($1)", INSTANCE_LOCK_KEY)  # the other runner stops
            await world.emulator.wait_confirmed(timeout=15)  # retaken (asked for every second at most), polling again
            await runner.outbox.drain_until_idle(timeout=15)
            sent = [s.text for s in world.emulator.sent(world.chat_id)]
            stored = await runner.pool.fetchval(
                "SELECT count(*) FROM messages WHERE telegram_message_id = $1", posted.message_id
            )
            final = await runner.pool.fetchval("SELECT status FROM outbox WHERE id = $1", outbox_id)
            assert not runner.fenced and "bot003" in runner.pollers
    finally:
        await world.emulator.stop()
        await admin.close()
        await other.close()
    assert [(r.bot_name, r.method) for r in during] == []  # no getMe, getUpdates or sendMessage from any bot
    assert status == "pending"
    assert sent == ["Kilit gelince."] and final == "sent"
    assert stored == 1
