"""The fleet's clock: heartbeat, lease lifetime, fence (no heavy imports: `status` reads it too)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FleetTiming:
    heartbeat: float = 2.0  # seconds between rounds
    ttl: float = 8.0  # a lease not renewed for this long is free: a dead runner's work moves within ~10 s
    fence_after: float = 5.0  # no renewal for this long: stand down (before `ttl` can free the leases)
    retry: float = 0.5  # seconds between rounds while renewals fail
    query_timeout: float = 1.5  # a renewal that takes longer has failed (a cut network answers nothing)
    conflict_pause: float = 60.0  # a bot given up after a 409 is not claimed again by this runner for this long

    @property
    def live_within(self) -> float:
        """A runner silent this long is counted out: its keys are wanted by the others, who claim each the
        moment its lease expires (a heartbeat before), not a heartbeat after."""
        return self.ttl - self.heartbeat
