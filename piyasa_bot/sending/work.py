"""Background tasks (the outbox's sends, row updates, typing; the fleet's handovers), and waiting for them.

Kept in one set so that the outbox can tell when it is idle and drain on
close, and so that a task that fails by a bug is logged, never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from piyasa_bot.telegram import error_kind

log = structlog.get_logger(__name__)


class BackgroundWork:
    def __init__(self, failed_event: str = "outbox.task_failed") -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._failed_event = failed_event  # what a task that fails is logged as

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def changed(self) -> None:
        """Something a `wait_until` condition may read has changed."""
        self._changed.set()

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._changed.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            # Send outcomes are all handled; this is a bug or a database error that retrying does not cover.
            log.error(self._failed_event, task=task.get_name(), error=error_kind(error), detail=str(error))

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait, without polling, until `condition` holds after some change."""

        async def reached() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), timeout)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the tasks running now (and those they start meanwhile), up to `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
