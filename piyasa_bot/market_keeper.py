"""Keeping the simulated market across restarts: built from its stored state, saved now and then.

    keeper = await MarketKeeper.open(pool, random.Random(rng.random()))
    composer = Composer(keeper.market, ...)
    keeper.start()          # saves every `interval` seconds
    ...
    await keeper.close()    # stops saving and saves once more, before the pool closes

The market's prices follow from its seed, so a restart quotes the same levels
even if the last save is old; the saved levels only matter when the model
changed between versions (see conversation/market_state.py). A save that
fails is logged and tried again at the next interval: the market is chatter,
never a reason to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import structlog

from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.market_state import MarketState, MarketStateError
from piyasa_bot.db import market_store
from piyasa_bot.db.retry import DATABASE_ERRORS

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
SAVE_INTERVAL = 60.0
SAVE_TIMEOUT = 5.0  # the last save at close may not hold the stop up longer than this


def utc_now() -> datetime:
    return datetime.now(UTC)


class MarketKeeper:
    def __init__(
        self, pool: asyncpg.Pool, market: Market, *, clock: Clock = utc_now, interval: float = SAVE_INTERVAL
    ) -> None:
        self.pool = pool
        self.market = market
        self.clock = clock
        self.interval = interval
        self.saved_at: datetime | None = None  # the `as_of` of the last state stored by this keeper
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, pool: asyncpg.Pool, rng: random.Random, *, clock: Clock = utc_now, interval: float = SAVE_INTERVAL
    ) -> MarketKeeper:
        """The stored market, or a new one drawn from `rng` and stored at once.

        Database errors propagate (the runner is starting and cannot go on
        without its database); an unreadable stored state is logged and replaced.
        """
        stored = await market_store.load(pool)
        if stored is None:
            # Ours, or the one another runner stored a moment before.
            stored = await market_store.claim(pool, Market(rng).state(clock()).to_json())
        try:
            state = MarketState.from_json(stored)
        except MarketStateError as error:
            log.warning("market.state_unreadable", error=str(error), action="a new market replaces it")
            market = Market(rng)
            await market_store.save(pool, market.state(clock()).to_json())
            return cls(pool, market, clock=clock, interval=interval)
        log.info("market.resumed", as_of=state.as_of.isoformat() if state.as_of else None)
        return cls(pool, Market.from_state(state), clock=clock, interval=interval)

    def start(self) -> None:
        """Save every `interval` seconds until `stop`."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._save_periodically(), name="market:save")

    async def stop(self) -> None:
        """Stop the periodic saving (a save in progress is cancelled)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Stop, and save the state once more (bounded by SAVE_TIMEOUT). Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.stop()
        await self.save(timeout=SAVE_TIMEOUT)

    async def save(self, *, timeout: float | None = None) -> bool:
        """Store the market's state now; False (and a log line) when the database did not take it."""
        state = self.market.state(self.clock())
        try:
            await asyncio.wait_for(market_store.save(self.pool, state.to_json()), timeout)
        except DATABASE_ERRORS as error:
            log.warning("market.save_failed", error=type(error).__name__, retry_in=self.interval)
            return False
        self.saved_at = state.as_of
        return True

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.save()
            except Exception:  # a bug must not end the saving unseen
                log.exception("market.save_crashed", retry_in=self.interval)
