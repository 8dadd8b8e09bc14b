"""The database as the fleet's bus: one LISTEN connection, its channels handed to who cares.

Notifications arrive at commit, so what they announce is visible to the
listener's next query. A connection that dies loses what was sent meanwhile:
the bus reconnects (soon, then at most every second) and says so through
`on_reconnected`, and every listener also looks on its own schedule (the
periodic catch-up), so a lost notification only delays a message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from functools import partial

import asyncpg
import structlog

from piyasa_bot.db.retry import DATABASE_ERRORS

log = structlog.get_logger(__name__)

Handler = Callable[[str], None]  # the payload

MESSAGES_CHANNEL = "piyasa_messages"  # "<lowest id> <highest id>" of one insert into messages (sql/0013)
OUTBOX_CHANNEL = "piyasa_outbox"  # a bot's database id: a row was queued for it by another runner
STEERING_CHANNEL = "piyasa_steering"  # the operator steered a chat or a bot (payload: the runner that saved it)


class Bus:
    def __init__(
        self,
        dsn: str,
        runner: str,
        handlers: Mapping[str, Handler],
        *,
        on_reconnected: Callable[[], None] | None = None,
    ) -> None:
        self._dsn = dsn
        self._runner = runner
        self._handlers = dict(handlers)
        self._on_reconnected = on_reconnected
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_listening(), name="fleet-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5.0)  # a database away now: the bus keeps trying

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _keep_listening(self) -> None:
        delay, first = 0.05, True
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=5.0, server_settings={"application_name": f"{self._runner} bus"}
                )
            except DATABASE_ERRORS:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            try:
                closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(partial(_closed, closed))
                for channel in self._handlers:
                    await conn.add_listener(channel, self._deliver)
                self.connected.set()
                if not first and self._on_reconnected is not None:
                    self._on_reconnected()
                first, delay = False, 0.05
                await self._watch(conn, closed)
            except DATABASE_ERRORS as error:
                log.warning(
                    "fleet.bus_lost", error=type(error).__name__, then="reconnecting; the catch-up covers the gap"
                )
            finally:
                self.connected.clear()
                conn.terminate()

    @staticmethod
    async def _watch(conn: asyncpg.Connection, closed: asyncio.Future[None]) -> None:
        """Until the connection dies; a cut network is not always noticed, so ask it something now and then."""
        while not closed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(closed), 2.0)
            if not closed.done():
                await conn.fetchval("SELECT 1", timeout=2.0)

    def _deliver(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(payload)
        except Exception as error:  # noqa: BLE001 - one listener's bug must not stop the others' notifications
            log.error("fleet.bus_handler_failed", channel=channel, error=f"{type(error).__name__}: {error}")


def _closed(closed: asyncio.Future[None], _conn: object) -> None:
    if not closed.done():
        closed.set_result(None)
