"""Connecting: the pool and the migrations at start."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from piyasa_bot.db.migrate import apply_migrations

log = structlog.get_logger(__name__)


async def open_pool(dsn: str, *, max_size: int = 10, application_name: str | None = None) -> asyncpg.Pool:
    """A pool, migrated; `application_name` names its sessions (a runner's id: it marks the rows it stores)."""
    settings = {"application_name": application_name} if application_name else None
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, command_timeout=30, server_settings=settings)
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
