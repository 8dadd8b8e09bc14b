"""Each bot's poll loop kept running: one that ends is logged, counted and started again.

The poll loop itself never ends but by cancellation (any fault is retried
inside it, a rejected token waits for its recheck); should it end anyway,
its supervisor says so and restarts it after a delay that grows with quick
failures. Polling can be paused as a whole (the runner's leases
were not renewed) and resumed: the pollers, with their offsets and identities, stay.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import structlog

from piyasa_bot.polling import BotPoller, BotState, StateListener
from piyasa_bot.redaction import redact

log = structlog.get_logger(__name__)

# A poll loop that ended (it never should) starts again after a delay that doubles with each
# quick failure, from RESTART_MIN up to RESTART_MAX.
RESTART_MIN, RESTART_MAX = 1.0, 60.0
HEALTHY_RUN = 60.0  # a loop that ran this long before ending restarts from the shortest delay again
POLL_STOP_TIMEOUT = 1.0  # seconds for every poll loop to end once cancelled


class PollSupervisor:
    def __init__(self, on_state: StateListener, on_identified: Callable[[str], None]) -> None:
        self._on_state = on_state
        self._on_identified = on_identified  # a bot's getMe answered: the registry may resolve it
        self.pollers: dict[str, BotPoller] = {}
        self.restarts: dict[str, int] = {}  # bot -> times its poll loop ended and was started again
        self.paused = False
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._jitter = random.Random()

    def add(self, poller: BotPoller) -> None:
        """Supervise this bot's polling; it starts at once unless polling is paused."""
        name = poller.handle.name
        self.pollers[name] = poller
        self.restarts.setdefault(name, 0)
        if not self.paused:
            self._start(poller)

    async def remove(self, name: str) -> BotPoller | None:
        """Stop this bot's polling (within POLL_STOP_TIMEOUT) and forget it; None if it was not polled here."""
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=POLL_STOP_TIMEOUT)
        return self.pollers.pop(name, None)

    async def pause(self) -> None:
        """Stop every poll loop; the pollers stay (their offsets, identities, metrics) for `resume`."""
        self.paused = True
        await self._stop_all()

    def resume(self) -> None:
        self.paused = False
        for poller in self.pollers.values():
            if poller.handle.name not in self._tasks:
                self._start(poller)

    async def close(self) -> None:
        self.paused = True
        await self._stop_all()

    async def _stop_all(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=POLL_STOP_TIMEOUT)
            if stuck:
                log.warning("runner.polls_not_stopped", bots=len(stuck), seconds=POLL_STOP_TIMEOUT)

    def _start(self, poller: BotPoller) -> None:
        name = poller.handle.name
        self._tasks[name] = asyncio.create_task(self._supervise(poller), name=f"poll:{name}")

    async def _supervise(self, poller: BotPoller) -> None:
        name = poller.handle.name
        identity = asyncio.create_task(self._note_identity(poller), name=f"identity:{name}")
        quick_failures = 0
        try:
            while True:
                started = time.monotonic()
                try:
                    await poller.run()
                except Exception as error:  # anything the loop did not catch itself
                    ended = redact(f"{type(error).__name__}: {error}")
                else:
                    ended = "returned"  # it never should: a rejected token waits for its recheck inside
                quick_failures = 1 if time.monotonic() - started > HEALTHY_RUN else quick_failures + 1
                delay = min(RESTART_MAX, RESTART_MIN * 2 ** (quick_failures - 1)) * self._jitter.uniform(0.75, 1.0)
                self.restarts[name] += 1
                log.error(
                    "bot.poll_loop_ended",
                    bot=name,
                    error=ended,
                    restarts=self.restarts[name],
                    restart_in=round(delay, 2),
                )
                self._on_state(poller.handle, BotState.RETRYING, f"poll loop ended: {ended}")
                await asyncio.sleep(delay)
        finally:
            identity.cancel()

    async def _note_identity(self, poller: BotPoller) -> None:
        await poller.identified.wait()
        self._on_identified(poller.handle.name)
