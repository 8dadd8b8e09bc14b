"""The database going away: an outage is logged as states, not retries."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable

import asyncpg

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.db.retry import Outage, retrying
from piyasa_bot.logs import configure_logging


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_an_outage_is_logged_when_it_starts_and_ends_not_at_every_retry(
    spare_postgres: EmbeddedPostgres,
) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream, cache_loggers=False)
    dsn = spare_postgres.dsn()
    outage = Outage(summary_every=30.0)

    async def ask() -> int:
        conn = await asyncpg.connect(dsn, timeout=2)
        try:
            return int(await conn.fetchval("SELECT 1"))
        finally:
            await conn.close()

    spare_postgres.stop()
    callers = [asyncio.create_task(retrying(ask, max_backoff=0.2, outage=outage)) for _ in range(5)]
    await until(lambda: outage.failures >= 25)  # five callers, five retries each at least
    failed = outage.failures
    await asyncio.to_thread(spare_postgres.start)
    assert await asyncio.gather(*callers) == [1] * 5
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines() if '"db.' in line]
    assert events == ["db.unavailable", "db.available"]
    back = json.loads(next(line for line in stream.getvalue().splitlines() if '"db.available"' in line))
    assert back["failed_calls"] >= failed and not outage.down


def test_a_long_outage_gets_a_summary_line_every_interval() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream, cache_loggers=False)
    now = [0.0]
    outage = Outage(summary_every=10.0, clock=lambda: now[0])
    for _ in range(200):  # 25 s of a failure every 0.125 s
        outage.failed(ConnectionRefusedError())
        now[0] += 0.125
    outage.succeeded()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if '"db.' in line]
    assert [line["event"] for line in lines] == [
        "db.unavailable",
        "db.still_unavailable",
        "db.still_unavailable",
        "db.available",
    ]
    assert [line.get("failed_calls") for line in lines] == [None, 81, 161, 200]


async def test_a_connection_cut_while_its_reply_was_read_is_retried_not_lost() -> None:
    """The error asyncpg raises when the pool resets a connection the server cut mid-reply (seen in the
    outage load test: an outbox task failed, its row left pending) is part of the outage, retried."""
    outage = Outage()
    calls = []

    async def finish_row() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
        return "UPDATE 1"

    assert await asyncio.wait_for(retrying(finish_row, outage=outage), 5) == "UPDATE 1"
    assert len(calls) == 2 and not outage.down and outage.outages == 1
