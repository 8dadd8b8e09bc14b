"""Each bot's polling state and identity in the `bots` table, written off the poll loop, in batches.

The poller reports every change (running, retrying, conflict, disabled,
stopped) through a plain callback; the rows are written here in the
background. Changes are collected for `collect_for` seconds and written
with one `set_bot_states` in one transaction: at start 1,000 bots change
state within a second, and one write per change cost 3,000 statements. The
newest state of a bot wins, so a bot that flaps while the database is slow
or away is written once, with where it ended up; what `status` shows is at
most one batch behind, never a stale error.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from piyasa_bot.bots import BotHandle
from piyasa_bot.db import queries
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.polling import BotState
from piyasa_bot.redaction import DEFAULT as REDACT

log = structlog.get_logger(__name__)

RETRY_EVERY = 1.0  # seconds between tries while the database is away
COLLECT_FOR = 0.1  # seconds of changes written together: the start-up burst in one batch, status barely later


class BotStates:
    def __init__(self, pool: asyncpg.Pool, *, collect_for: float = COLLECT_FOR) -> None:
        self._pool = pool
        self._collect_for = collect_for
        self._latest: dict[str, queries.BotStateRow] = {}  # bot name -> its newest row not yet written
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.batches_written = 0

    def note(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        """Record a state change (the poller's callback: returns at once)."""
        identified = state is BotState.RUNNING and bool(handle.telegram_id)
        row = queries.BotStateRow(
            handle.db_id,
            state.value,
            # An error text may echo a request URL (an HTML error page, a redirect): never store a token.
            REDACT.optional(detail),
            handle.telegram_id if identified else None,
            handle.username if identified else None,
        )
        self._merge(handle.name, row)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bot-states")

    def _merge(self, name: str, row: queries.BotStateRow) -> None:
        """The newest state wins; an identity not written yet is kept even if a later state brings none."""
        earlier = self._latest.get(name)
        if row.telegram_id is None and earlier is not None and earlier.telegram_id is not None:
            row = row._replace(telegram_id=earlier.telegram_id, username=earlier.username)
        self._latest[name] = row

    async def close(self) -> None:
        """Write what is still noted, then stop (the caller bounds how long that may take)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing:
                await asyncio.sleep(self._collect_for)  # let the rest of a burst join this batch
            self._wake.clear()
            while self._latest:
                batch, self._latest = self._latest, {}
                if not await self._write(list(batch.values())):
                    for name, row in batch.items():  # unless a newer one came meanwhile
                        newer = self._latest.pop(name, None)
                        self._latest[name] = row
                        if newer is not None:
                            self._merge(name, newer)
                    await asyncio.sleep(RETRY_EVERY)
            if self._closing:
                return

    async def _write(self, rows: list[queries.BotStateRow]) -> bool:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await queries.set_bot_states(conn, rows)
        except DATABASE_ERRORS as error:
            if not self._failing:  # one line when writes start failing, one when they work again
                log.warning(
                    "db.state_not_saved",
                    bots=len(rows),
                    error=type(error).__name__,
                    action="retrying every second",
                )
            self._failing = True
            return False
        self.batches_written += 1
        if self._failing:
            log.info("db.states_saved_again")
            self._failing = False
        return True
