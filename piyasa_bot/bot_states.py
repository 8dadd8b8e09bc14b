"""Each bot's polling state and identity in the `bots` table, written off the poll loop.

The poller reports every change (running, retrying, conflict, disabled,
stopped) through a plain callback; the rows are written here, one at a time
in the background, the newest state of a bot winning: a bot that flaps while
the database is slow or away is written once, with where it ended up. What
`status` shows is therefore at most one write behind, never a stale error.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from piyasa_bot.bots import BotHandle
from piyasa_bot.db import queries
from piyasa_bot.polling import BotState

log = structlog.get_logger(__name__)

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
RETRY_EVERY = 1.0  # seconds between tries while the database is away


class BotStates:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._latest: dict[str, tuple[BotHandle, BotState, str | None]] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def note(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        """Record a state change (the poller's callback: returns at once)."""
        self._latest[handle.name] = (handle, state, detail)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bot-states")

    async def close(self) -> None:
        """Write what is still noted, then stop (the caller bounds how long that may take)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._latest:
                name = next(iter(self._latest))
                handle, state, detail = self._latest.pop(name)
                if not await self._write(handle, state, detail):
                    self._latest.setdefault(name, (handle, state, detail))  # unless a newer one came meanwhile
                    await asyncio.sleep(RETRY_EVERY)
            if self._closing:
                return

    async def _write(self, handle: BotHandle, state: BotState, detail: str | None) -> bool:
        try:
            if state is BotState.RUNNING and handle.telegram_id:
                await queries.set_bot_identity(self._pool, handle.db_id, handle.telegram_id, handle.username)
            await queries.set_bot_state(self._pool, handle.db_id, state.value, detail)
        except _DB_ERRORS as error:
            if not self._failing:  # one line when writes start failing, one when they work again
                log.warning(
                    "db.state_not_saved",
                    bot=handle.name,
                    state=state.value,
                    error=type(error).__name__,
                    action="retrying every second",
                )
            self._failing = True
            return False
        if self._failing:
            log.info("db.states_saved_again")
            self._failing = False
        return True
