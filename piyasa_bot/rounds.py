"""One background task per named job, each doing a round and sleeping between rounds until closed.

The quote sources (quotes/poller.py) and the news feeds (news/desk.py) are
such jobs: a round is one fetch, the wait its own (a fixed interval, or a
backoff that grows while the source fails). A round that raises is a bug: it
is logged with the job's name and the job goes on, never ending unseen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    round: Callable[[], Awaitable[object]]
    wait: Callable[[], float]  # seconds until the next round, asked after each
    crashed: Callable[[], None] = lambda: None  # told when a round raised (e.g. to back off)


class Rounds:
    def __init__(self, event: str) -> None:
        self.event = event  # the log event of a round that raised, e.g. "quotes.poll_crashed"
        self._tasks: list[asyncio.Task[None]] = []
        self._done: dict[str, asyncio.Event] = {}

    def start(self, prefix: str, jobs: list[Job]) -> None:
        if self._tasks:
            return
        self._done = {job.name: asyncio.Event() for job in jobs}
        self._tasks = [asyncio.create_task(self._run(job), name=f"{prefix}:{job.name}") for job in jobs]

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def completed(self, name: str) -> None:
        """Wait until job `name` completed a round (good or failed) after this call: for tests."""
        event = self._done[name]
        event.clear()
        await event.wait()

    async def _run(self, job: Job) -> None:
        while True:
            try:
                await job.round()
            except Exception:  # a bug must not end this job unseen
                log.exception(self.event, job=job.name)
                job.crashed()
            self._done[job.name].set()
            await asyncio.sleep(job.wait())
