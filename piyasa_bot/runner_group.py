"""Several runners in one process on one database: a fleet to try against the emulator.

`simulate --runners N` and `loadtest --runners N` start N runners, each with
its own pool, listener, HTTP session and place in the fleet, as N processes
would have; the roster is spread over them by their leases. The group adds
up what the runs report (stored, sent, answered...) and finds the runner
directing a chat. One runner is a group of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, Self

from piyasa_bot.answering import AnswerCounts
from piyasa_bot.runner import Runner

SHARE_WAIT = 20.0  # seconds for every runner to hold its share after the last one started


class RunnerGroup:
    def __init__(self, make: Callable[[int], Runner], count: int) -> None:
        if count < 1:
            raise ValueError("a fleet needs at least one runner")
        self._make = make
        self.count = count
        self.runners: list[Runner] = []
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            for index in range(self.count):
                self.runners.append(await self._stack.enter_async_context(self._make(index)))
            await self.wait_shared()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._stack.aclose()

    @property
    def first(self) -> Runner:
        return self.runners[0]

    async def wait_shared(self, timeout: float = SHARE_WAIT) -> None:
        """Until every bot of the roster is polled by exactly one runner and, with several, each has some."""
        names = {bot.name for bot in self.first.loaded.roster.bots}
        deadline = time.monotonic() + timeout
        while True:
            polled = [set(runner.pollers) for runner in self.runners]
            spread = len(self.runners) == 1 or all(polled) or len(names) < len(self.runners)
            if set().union(*polled) == names and sum(map(len, polled)) == len(names) and spread:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the fleet did not share the roster within {timeout} s: {list(map(len, polled))}")
            await asyncio.sleep(0.1)
        for runner in self.runners:
            await runner.wait_polling(timeout=max(deadline - time.monotonic(), 1.0))

    def director_of(self, chat_id: int) -> Runner:
        """The runner directing this chat (the first, with the conversation off)."""
        for runner in self.runners:
            if runner.rooms is not None and chat_id in runner.rooms.directors:
                return runner
        return self.first

    # --- the sums of what each runner counts ------------------------------------------------

    @property
    def stored(self) -> int:
        """People's messages stored: rows the writers inserted, less the bots' own (each runner's recorder
        also hands the writer the copies another runner stored first; the database keeps one)."""
        if len(self.runners) == 1:
            return self.first.ingest.recorder.stored
        return max(sum(runner.writer.rows_written for runner in self.runners) - self.sent, 0)

    @property
    def sent(self) -> int:
        return sum(runner.outbox.counts.sent for runner in self.runners)

    @property
    def backlog(self) -> int:
        return sum(runner.outbox.backlog for runner in self.runners)

    @property
    def answer_counts(self) -> AnswerCounts:
        total = AnswerCounts()
        for runner in self.runners:
            if runner.rooms is None:
                continue
            counts = runner.rooms.counts
            for field in fields(AnswerCounts):
                if field.name != "skipped":
                    setattr(total, field.name, getattr(total, field.name) + getattr(counts, field.name))
            for reason, count in counts.skipped.items():
                total.skipped[reason] = total.skipped.get(reason, 0) + count
        return total

    def outbox_counts(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for runner in self.runners:
            for name, value in asdict(runner.outbox.counts).items():
                total[name] = max(total.get(name, 0), value) if name == "max_queue" else total.get(name, 0) + value
        return total

    @property
    def max_write_backlog(self) -> int:
        return max(runner.writer.max_backlog for runner in self.runners)

    @property
    def updates_failed(self) -> int:
        return sum(runner.ingest.updates_failed for runner in self.runners)

    async def drain(self, timeout: float) -> None:
        """Every runner's chatter stopped and its answers out; a runner's rows queued for another's bots too."""
        await asyncio.gather(*(runner.drain(timeout) for runner in self.runners))
        await asyncio.gather(*(runner.outbox.drain_until_idle(timeout) for runner in self.runners))
