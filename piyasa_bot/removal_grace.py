"""A removed bot's queued messages wait out a grace period before they fail: it may be back at once.

An editor that saves bots.yaml in two writes once removed six bots and
re-added them 2 s later, and their 12 queued answers failed "removed from
bots.yaml". So when a bot leaves the roster its queued messages are set
aside (their rows stay pending) for `grace` seconds. If the same bot, by name
and token, is back within it, they go out; if the grace ends first, or the
name comes back with another token (another bot), they fail with the reason.
A stop during the grace leaves the rows pending: the next start sends them
if the bot is in its roster, and fails them otherwise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from piyasa_bot.sending.outbox import Outbox, Outgoing

log = structlog.get_logger(__name__)

REMOVAL_GRACE = 30.0  # seconds; an editor's second write comes within a few
REMOVED_REASON = "the bot was removed from bots.yaml"


@dataclass
class _SetAside:
    token: str
    items: list[Outgoing]
    timer: asyncio.Task[None]


class RemovalGrace:
    def __init__(self, outbox: Outbox, *, grace: float = REMOVAL_GRACE, reason: str = REMOVED_REASON) -> None:
        self._outbox = outbox
        self._reason = reason  # what the messages end with if their bot does not come back
        self.grace = grace
        self._waiting: dict[str, _SetAside] = {}

    def waiting(self, name: str) -> int:
        """How many of this bot's messages wait for it."""
        entry = self._waiting.get(name)
        return len(entry.items) if entry is not None else 0

    def removed(self, name: str, token: str) -> None:
        """The bot left the roster (its polling is stopped): set its queued messages aside."""
        items = self._outbox.set_aside(name)
        if not items:
            return
        timer = asyncio.create_task(self._fail_later(name), name=f"removed:{name}")
        self._waiting[name] = _SetAside(token, items, timer)
        log.info("roster.removed_bot_messages_held", bot=name, queued=len(items), grace_s=self.grace)

    async def added(self, name: str, token: str) -> None:
        """The bot is in the roster (again): its messages set aside go out, if it is the same bot."""
        entry = self._waiting.pop(name, None)
        if entry is None:
            return
        entry.timer.cancel()
        if entry.token == token:
            self._outbox.take_back(entry.items)
            log.info("roster.removed_bot_back", bot=name, queued=len(entry.items))
        else:  # the name now belongs to another bot: the old one is not coming back
            await self._outbox.fail_set_aside(name, entry.items, self._reason)

    async def close(self) -> None:
        """Stop waiting; what is set aside stays pending for the next start."""
        timers = [entry.timer for entry in self._waiting.values()]
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._waiting.clear()

    async def _fail_later(self, name: str) -> None:
        await asyncio.sleep(self.grace)
        entry = self._waiting.pop(name)
        log.info("roster.removed_bot_gone", bot=name, failed=len(entry.items), waited_s=self.grace)
        await self._outbox.fail_set_aside(name, entry.items, self._reason)
