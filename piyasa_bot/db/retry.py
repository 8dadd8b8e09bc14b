"""Retrying a database call through an outage: nothing the runner decided is lost.

During an outage every caller retries on its own, and a line per retry made
about eight a second. What is logged is the database's state instead: one
line when it becomes unreachable, a summary every `summary_every` seconds
while it stays so, one line when it answers again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRYABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # asyncpg's "cannot switch to state ...": a pooled connection whose server went away while it was
    # idle, or cut it mid-reply (a shutdown) so that the pool's reset fails when it is released. The
    # pool drops that connection; a new one serves the retry. (One used twice at once is an
    # InterfaceError, not this.)
    asyncpg.InternalClientError,
    asyncio.TimeoutError,
)
# Everything the database, or the way to it, can raise: what a caller that gives up (logs, answers
# "not saved", keeps its last value) rather than retries catches.
DATABASE_ERRORS = (*RETRYABLE, asyncpg.PostgresError)


class Outage:
    """The reachability of one database as its callers see it, logged on change and periodically."""

    def __init__(self, summary_every: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.summary_every = summary_every
        self._clock = clock
        self.since: float | None = None  # when the first failed call of this outage failed
        self.failures = 0  # failed calls in this outage
        self.outages = 0
        self._summarised_at = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        now, kind = self._clock(), type(error).__name__
        self.failures += 1
        if self.since is None:
            self.since, self._summarised_at, self.failures = now, now, 1
            self.outages += 1
            log.warning("db.unavailable", error=kind)
        elif now - self._summarised_at >= self.summary_every:
            self._summarised_at = now
            log.warning(
                "db.still_unavailable", error=kind, down_s=round(now - self.since, 1), failed_calls=self.failures
            )

    def succeeded(self) -> None:
        if self.since is None:
            return
        log.info("db.available", down_s=round(self._clock() - self.since, 1), failed_calls=self.failures)
        self.since, self.failures = None, 0


# Seconds between tries at most: a database back from an outage is used within this, so what arrived
# meanwhile waits the outage plus at most a second (2 s made a 4 s outage cost up to 7 s). A try of a
# database that is down is a refused connection: cheap, and logged only when the state changes.
MAX_BACKOFF = 1.0

# The one database of this process: every caller of `retrying` reports to it unless given another.
DATABASE = Outage()


async def retrying(
    call: Callable[[], Awaitable[T]], *, max_backoff: float = MAX_BACKOFF, outage: Outage | None = None
) -> T:
    outage = DATABASE if outage is None else outage
    delay = 0.05
    while True:
        try:
            result = await call()
        except RETRYABLE as error:
            outage.failed(error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
        else:
            outage.succeeded()
            return result
