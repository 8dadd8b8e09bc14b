"""Which bots' messages this runner may send, and the lease a send is claimed under.

Alone (no fleet: tests, tools), a runner sends for every bot of its registry
and claims nothing. In a fleet, it sends only for the bots whose lease it
holds, and each send is marked under the lease's epoch: a runner that lost
the lease meanwhile (fenced off, taken over) finds its mark refused and sends
nothing (sending/store.py).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class BotLease(NamedTuple):
    runner: str
    epoch: int  # -1: not held (a mark under it is always refused)


class SendRights(Protocol):
    def sends_for(self, bot: str) -> bool:
        """True when this runner queues and sends this bot's messages."""
        ...

    def lease_of(self, bot: str) -> BotLease | None:
        """The lease a send of this bot is claimed under; None: no fleet, nothing to claim."""
        ...

    def refused(self, bot: str) -> None:
        """A claim under the bot's lease was refused (lost, or expired during an outage and not yet
        renewed): the row stays pending; whoever holds the lease after the next renewal queues it."""
        ...


class EveryBot:
    """No fleet: every bot is this runner's."""

    def sends_for(self, bot: str) -> bool:
        return True

    def lease_of(self, bot: str) -> BotLease | None:
        return None

    def refused(self, bot: str) -> None:
        raise AssertionError("nothing is claimed without a fleet, so nothing is refused")
