"""The batch writer: many rows, one round trip, a future per batch.

Rows submitted while a write is in flight form the next batch, so batches grow
with load by themselves and a lone message is written at once. A failed write
(PostgreSQL down, connection lost) is retried with backoff and nothing is
dropped: the pollers wait on the futures before they confirm their offsets.
An outage is reported through the process's shared database state
(db/retry.py: a line when it starts, a summary while it lasts, a line when it
ends), not once per retry.
A row PostgreSQL refuses outright (a value it cannot hold) is found by writing
the batch row by row, logged and counted; the rest of its batch lands.
Edited messages travel the same way as EditRows, inserted after the messages.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import structlog

from piyasa_bot.db.queries import EditRow, MessageRow, insert_edits, insert_messages
from piyasa_bot.db.retry import DATABASE, MAX_BACKOFF, RETRYABLE, Outage

log = structlog.get_logger(__name__)

Row = MessageRow | EditRow
# A value PostgreSQL (or its driver) will never accept: retrying cannot help, the row is refused.
REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError, TypeError)


class MessageWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_batch: int = 1000,
        max_backoff: float = MAX_BACKOFF,
        outage: Outage | None = None,
    ) -> None:
        self._pool = pool
        self._outage = DATABASE if outage is None else outage
        self._max_batch = max_batch
        self._max_backoff = max_backoff
        self._rows: list[Row] = []
        self._batch: asyncio.Future[None] | None = None
        self._writing: asyncio.Future[None] | None = None  # the batch being written now
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.rows_written = 0
        self.batches_written = 0
        self.write_failures = 0
        self.rows_rejected = 0  # refused by PostgreSQL itself (a value it cannot hold): logged, not retried
        self.max_backlog = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    def submit(self, row: Row) -> asyncio.Future[None]:
        """Queue one row; the future resolves once it is committed."""
        if self._closing:
            raise RuntimeError("the writer is closed")
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        self._rows.append(row)
        self.max_backlog = max(self.max_backlog, len(self._rows))
        self._wake.set()
        return self._batch

    async def flush(self) -> None:
        """Wait until every row submitted so far is committed (batches commit in order)."""
        latest = self._batch or self._writing
        if latest is not None:
            await asyncio.shield(latest)

    @property
    def backlog(self) -> int:
        return len(self._rows)

    async def close(self) -> None:
        """Write everything submitted so far, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Let the poller that woke us finish handing over its whole batch.
            await asyncio.sleep(0)
            while self._rows:
                rows, batch = self._rows, self._batch
                self._rows, self._batch, self._writing = [], None, batch
                for first in range(0, len(rows), self._max_batch):
                    await self._write(rows[first : first + self._max_batch])
                assert batch is not None
                batch.set_result(None)
                self._writing = None
            if self._closing:
                return

    async def _write(self, rows: list[Row]) -> None:
        try:
            await self._insert(rows)
        except REFUSED as error:  # PostgreSQL cannot hold a value: find the row, keep every other
            if len(rows) > 1:
                for row in rows:
                    await self._write([row])
                return
            self.rows_rejected += 1
            log.error(
                "db.row_rejected",
                chat_id=rows[0].chat_id,
                telegram_message_id=rows[0].telegram_message_id,
                error=f"{type(error).__name__}: {error}",
            )

    async def _insert(self, rows: list[Row]) -> None:
        """Insert, retrying through a database outage (or anything unforeseen) until it lands."""
        messages = [row for row in rows if isinstance(row, MessageRow)]
        edits = [row for row in rows if isinstance(row, EditRow)]
        delay = 0.05
        while True:
            started = time.perf_counter()
            try:
                async with self._pool.acquire() as conn:
                    # Messages first: an edit in the same batch then finds the message it marks.
                    # No transaction needed: both inserts skip what is stored, so a retry is safe.
                    inserted = await insert_messages(conn, messages) if messages else 0
                    inserted += await insert_edits(conn, edits) if edits else 0
            except REFUSED:
                raise
            except Exception as error:  # never drop a row, never let the writer die: try again
                self.write_failures += 1
                if isinstance(error, RETRYABLE):
                    self._outage.failed(error)  # the database is away: its state says so, not every retry
                else:  # not an outage but something nobody foresaw: every time, with what it was
                    log.error(
                        "db.write_retry", rows=len(rows), error=f"{type(error).__name__}: {error}", retry_in=delay
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            self._outage.succeeded()
            self.rows_written += inserted
            self.batches_written += 1
            log.debug(
                "db.batch_written",
                rows=len(rows),
                inserted=inserted,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return
