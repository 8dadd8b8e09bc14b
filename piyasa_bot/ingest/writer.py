"""The batch writer: many rows, one round trip, a future per batch.

Rows submitted while a write is in flight form the next batch, so batches grow
with load by themselves and a lone message is written at once. A failed write
(PostgreSQL down, connection lost) is retried with backoff and nothing is
dropped: the pollers wait on the futures before they confirm their offsets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog

from piyasa_bot.db.queries import MessageRow, insert_messages
from piyasa_bot.db.retry import RETRYABLE

log = structlog.get_logger(__name__)

InsertRows = Callable[[Sequence[MessageRow]], Awaitable[int]]



class MessageWriter:
    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 1000, max_backoff: float = 2.0) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._max_backoff = max_backoff
        self._rows: list[MessageRow] = []
        self._batch: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.rows_written = 0
        self.batches_written = 0
        self.write_failures = 0
        self.max_backlog = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-writer")

    def submit(self, row: MessageRow) -> asyncio.Future[None]:
        """Queue one row; the future resolves once it is committed."""
        if self._closing:
            raise RuntimeError("the writer is closed")
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        self._rows.append(row)
        self.max_backlog = max(self.max_backlog, len(self._rows))
        self._wake.set()
        return self._batch

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
                self._rows, self._batch = [], None
                for first in range(0, len(rows), self._max_batch):
                    await self._write(rows[first : first + self._max_batch])
                assert batch is not None
                batch.set_result(None)
            if self._closing:
                return

    async def _write(self, rows: list[MessageRow]) -> None:
        delay = 0.05
        while True:
            started = time.perf_counter()
            try:
                async with self._pool.acquire() as conn:
                    inserted = await insert_messages(conn, rows)
            except RETRYABLE as error:
                self.write_failures += 1
                log.warning("db.write_retry", rows=len(rows), error=type(error).__name__, retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            self.rows_written += inserted
            self.batches_written += 1
            log.debug("db.batch_written", rows=len(rows), inserted=inserted,
                      ms=round((time.perf_counter() - started) * 1000, 2))
            return
