"""Retrying a database call through an outage: nothing the runner decided is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRYABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
             asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CrashShutdownError, asyncio.TimeoutError)


async def retrying(call: Callable[[], Awaitable[T]], *, max_backoff: float = 2.0) -> T:
    delay = 0.05
    while True:
        try:
            return await call()
        except RETRYABLE as error:
            log.warning("db.retry", error=type(error).__name__, retry_in=round(delay, 2))
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
