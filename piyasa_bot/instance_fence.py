"""The fence: while this runner cannot renew its leases, it neither polls nor sends.

Leases not renewed expire, and another runner of the fleet takes the bots;
two runners on the same tokens answer 409 to each other's polls and double
the chatter. So before that can happen (fleet/coordinator.py) the runner
stands down: every poll loop stops (the pollers stay, with their offsets,
for metrics and for later), chatter pauses, and the outbox sends nothing
(queued rows stay pending). Once a renewal succeeds it stands up in the
reverse order, with the leases it still holds. The callbacks are plain
functions; the steps run as tasks, one after the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from piyasa_bot.poll_supervision import PollSupervisor

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.sending.outbox import Outbox

log = structlog.get_logger(__name__)


class Chatter:
    """Chatter runs while it is wanted (the runner started and has not drained) and not fenced off."""

    def __init__(self) -> None:
        self.rooms: ChatRooms | None = None  # None until the services exist, or with the conversation off
        self.wanted = False
        self.fenced = False
        self._running = False

    async def follow(self) -> None:
        """Start or stop the directors' turns to match `wanted` and `fenced`."""
        run = self.wanted and not self.fenced
        if self.rooms is None or run == self._running:
            return
        self._running = run
        if run:
            self.rooms.start()
        else:
            await self.rooms.stop_chatter()

    async def roster_applied(self) -> None:
        """ChatRooms.apply starts the turns of every chat that has none: stopped chatter stays stopped."""
        if self.rooms is not None and not self._running:
            await self.rooms.stop_chatter()


class InstanceFence:
    def __init__(self, polls: PollSupervisor, chatter: Chatter) -> None:
        self._polls = polls
        self._chatter = chatter
        self._outbox: Outbox | None = None
        self._steps: asyncio.Task[None] | None = None  # the last stand-down or stand-up
        self.fenced = False

    async def guard(self, outbox: Outbox) -> None:
        """Fence this outbox too (built before the fleet is joined; the fence may be up already)."""
        self._outbox = outbox
        if self.fenced:
            await outbox.pause()

    def lost(self, reason: str) -> None:
        """Renewals failed for too long: stand down."""
        self.fenced = self._chatter.fenced = True
        self._then(self._stand_down)

    def regained(self) -> None:
        """A renewal succeeded: stand up."""
        self.fenced = self._chatter.fenced = False
        self._then(self._stand_up)

    async def close(self) -> None:
        if self._steps is not None:
            self._steps.cancel()
            await asyncio.gather(self._steps, return_exceptions=True)

    def _then(self, step: Callable[[], Awaitable[None]]) -> None:
        previous = self._steps

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await step()

        self._steps = asyncio.create_task(after_previous(), name="instance-fence")

    async def _stand_down(self) -> None:
        await self._polls.pause()  # an update half handled comes again, to whoever polls next
        await self._chatter.follow()
        if self._outbox is not None:
            await self._outbox.pause()  # queued rows stay pending; sends already on the wire finish
        log.warning("runner.fenced", bots=len(self._polls.pollers), until="a lease renewal succeeds again")

    async def _stand_up(self) -> None:
        if self._outbox is not None:
            self._outbox.resume()
        await self._chatter.follow()
        self._polls.resume()
        log.info("runner.unfenced", bots=len(self._polls.pollers))
