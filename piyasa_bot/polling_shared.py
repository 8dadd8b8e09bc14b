"""What the pollers of one runner share: a wake-up after an outage, and identities before polling."""

from __future__ import annotations

import asyncio
import random

import structlog

log = structlog.get_logger(__name__)


class Recovery:
    """Shared by the pollers of one Bot API: those backing off wake once any call succeeds again.

    After an outage every bot would otherwise wait out its own backoff (up to
    its maximum) although the API answers again.
    """

    def __init__(self, spread: float = 1.0, rng: random.Random | None = None) -> None:
        self.spread = spread  # woken bots retry within this many seconds, not all in one instant
        self._rng = rng or random.Random()
        self._answered = asyncio.Event()
        self._waiting = 0

    def answered(self) -> None:
        """A call succeeded: wake whoever is backing off."""
        if self._waiting:
            self._answered.set()
            self._answered = asyncio.Event()

    async def sleep(self, delay: float) -> bool:
        """Sleep `delay` seconds, or less if the API answers meanwhile; True when woken early."""
        answered = self._answered
        self._waiting += 1
        try:
            await asyncio.wait_for(answered.wait(), delay)
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        await asyncio.sleep(self._rng.uniform(0, self.spread))
        return True


class IdentityGate:
    """Opens once every expected bot is identified or disabled, or `timeout` seconds after the first wait.

    Right after a start the first bot to poll would otherwise handle mentions
    of bots whose getMe has not returned yet (over the internet, 50-400 ms).
    Once open it stays open: a bot added later polls at once.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._pending: set[str] = set()
        self._open = asyncio.Event()

    def expect(self, bot: str) -> None:
        if not self._open.is_set():
            self._pending.add(bot)

    def settled(self, bot: str) -> None:
        self._pending.discard(bot)
        if not self._pending:
            self._open.set()

    async def wait(self) -> None:
        if self._open.is_set():
            return
        try:
            await asyncio.wait_for(self._open.wait(), self.timeout)
        except TimeoutError:
            log.warning("bot.identities_incomplete", waiting_for=sorted(self._pending)[:10], missing=len(self._pending))
            self._open.set()
