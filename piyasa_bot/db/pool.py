"""Connecting: the pool, the migrations at start, and the single-instance lock."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from piyasa_bot.db.migrate import apply_migrations

log = structlog.get_logger(__name__)

_INSTANCE_LOCK = 0x70_69_79_62


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

    The lock lives as long as its connection; if PostgreSQL goes away, it is
    taken again when the database is back.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._released = False

    async def acquire(self) -> None:
        self._conn = await asyncpg.connect(self._dsn)
        if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", _INSTANCE_LOCK):
            await self._conn.close()
            raise AlreadyRunning("another piyasa_bot runner is already running on this database")
        self._conn.add_termination_listener(lambda _: self._lost())

    def _lost(self) -> None:
        if self._released:
            return
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._retake())

    async def _retake(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.acquire()
                log.info("db.instance_lock_retaken")
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, AlreadyRunning) as error:
                log.warning("db.instance_lock_lost", error=f"{type(error).__name__}: {error}", retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def release(self) -> None:
        self._released = True
        if self._keeper is not None:
            self._keeper.cancel()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
