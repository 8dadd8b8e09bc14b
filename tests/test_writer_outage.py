"""The message writer through a database outage: every row lands, and the log says when, not how often."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.db.pool import open_pool
from piyasa_bot.db.queries import MessageRow
from piyasa_bot.db.retry import Outage
from piyasa_bot.ingest.writer import MessageWriter
from tests.log_capture import capture_log_lines

pytestmark = pytest.mark.slow

log_lines = capture_log_lines
CHAT = -1001000000001


def person_row(message_id: int) -> MessageRow:
    return MessageRow(CHAT, CHAT, message_id, None, 42, f"mesaj {message_id}", None, True, "text", None, None, None)


async def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends_and_every_row_lands(
    spare_postgres: EmbeddedPostgres, log_lines: io.StringIO
) -> None:
    pool = await open_pool(spare_postgres.dsn())
    outage = Outage(summary_every=60.0)
    writer = MessageWriter(pool, max_backoff=0.1, outage=outage)
    writer.start()
    try:
        await writer.submit(person_row(1))
        spare_postgres.stop()
        landed = [writer.submit(person_row(2))]
        while writer.write_failures < 20:  # a retry every 0.1 s: twenty retries, as many lines before
            await asyncio.sleep(0.05)
        landed.append(writer.submit(person_row(3)))
        await asyncio.to_thread(spare_postgres.start)
        await asyncio.wait_for(asyncio.gather(*landed), 30)
        stored = await pool.fetchval("SELECT array_agg(telegram_message_id ORDER BY 1) FROM messages")
    finally:
        await writer.close()
        pool.terminate()
    assert stored == [1, 2, 3]
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if '"db.' in line]
    lines = [line for line in lines if line["event"] != "db.migrated"]
    assert [line["event"] for line in lines] == ["db.unavailable", "db.available"]
    assert lines[-1]["failed_calls"] >= 20 and not outage.down
