"""Connecting: the pool, the migrations at start, and the single-instance lock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from piyasa_bot.db.migrate import apply_migrations
from piyasa_bot.db.retry import MAX_BACKOFF

log = structlog.get_logger(__name__)

INSTANCE_LOCK_KEY = 0x70_69_79_62  # "piyb": the advisory lock key `status` looks for in pg_locks


class AlreadyRunning(RuntimeError):
    pass


async def open_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, command_timeout=30)
    assert pool is not None
    async with pool.acquire() as conn:
        applied = await apply_migrations(conn)
    if applied:
        log.info("db.migrated", applied=[f"{m.version:04d}_{m.name}" for m in applied])
    return pool


async def fresh_database(server_dsn: str, name: str) -> str:
    """Drop and create database `name` on the server; return its DSN (simulations, load tests)."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))


class InstanceLock:
    """A session-level advisory lock: one runner per database, so two never poll the same tokens.

    The lock lives as long as its connection, and a lock that is gone is no
    fence: another process may take it at once. So when the connection dies
    (PostgreSQL restarted, the backend terminated, a check that gets no
    answer within `check_timeout`), `on_lost(reason)` is called once and the
    runner must stop polling and sending. The lock is then asked for again,
    soon and then at least every `retry_every` seconds (polling waits for it: a
    database back from an outage is used within that); it is taken only when no
    other process holds it, and `on_regained()` says so.
    """

    def __init__(
        self,
        dsn: str,
        *,
        on_lost: Callable[[str], None] | None = None,
        on_regained: Callable[[], None] | None = None,
        check_every: float = 2.0,
        check_timeout: float = 5.0,
        retry_every: float = MAX_BACKOFF,
    ) -> None:
        self._dsn = dsn
        self._on_lost = on_lost
        self._on_regained = on_regained
        self.check_every, self.check_timeout, self.retry_every = check_every, check_timeout, retry_every
        self._conn: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._released = False
        self.held = False

    async def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning."""
        if not await self._try_take():
            raise AlreadyRunning("another piyasa_bot runner is already running on this database")

    async def _try_take(self) -> bool:
        conn = await asyncpg.connect(self._dsn, timeout=self.check_timeout)
        try:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", INSTANCE_LOCK_KEY)
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return False
        self._conn, self.held = conn, True
        conn.add_termination_listener(lambda _: self._lost("its connection closed"))
        self._watch = asyncio.get_running_loop().create_task(self._check(conn))
        return True

    async def _check(self, conn: asyncpg.Connection) -> None:
        """A dead connection is not always noticed by the driver (a network cut): ask it something."""
        while not conn.is_closed():
            await asyncio.sleep(self.check_every)
            try:
                await conn.fetchval("SELECT 1", timeout=self.check_timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                self._lost(f"{type(error).__name__} from its connection")
                conn.terminate()
                return

    def _lost(self, reason: str) -> None:
        if self._released or not self.held:
            return
        self.held = False
        log.error(
            "db.instance_lock_lost", reason=reason, consequence="polling and sending stop until the lock is taken again"
        )
        if self._on_lost is not None:
            self._on_lost(reason)
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._retake())

    async def _retake(self) -> None:
        said_taken, delay = False, min(0.05, self.retry_every)
        while not self._released:
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_every)
            try:
                if await self._try_take():
                    log.warning("db.instance_lock_retaken")
                    if self._on_regained is not None:
                        self._on_regained()
                    return
                if not said_taken:  # once: it may hold it for good
                    log.error("db.instance_lock_taken_by_another", retry_every=self.retry_every)
                    said_taken = True
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass  # the database is still away; db.instance_lock_lost said so

    async def release(self) -> None:
        self._released = True
        for task in (self._keeper, self._watch):
            if task is not None:
                task.cancel()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self.held = False
