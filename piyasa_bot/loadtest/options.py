"""What a load test run is asked to do (the `loadtest` flags)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadtestOptions:
    bots: int = 50
    users: int = 100
    duration: float = 300.0
    # "off": every bot sees every message; "on": each only what addresses it;
    # "mixed": a few listeners see everything, the rest only what addresses them
    # (how a large roster is run: every message recorded, a fraction of the copies).
    privacy: str = "off"
    seed: int = 1
    # People post this many times faster than the reference's rates (short runs, CI).
    rate_multiplier: float = 1.0
    fault_429: float = 0.0
    fault_5xx: float = 0.0
    slow_api_ms: int = 0
    db_outage: float = 0.0  # seconds PostgreSQL is down, a third of the way in
    runners: int = 1  # a fleet of this many runners (in the load test's process) shares the roster
    chat_id: int = -1001999000001

    @property
    def crowd(self) -> tuple[int, int, int]:
        """People by kind, in the reference's proportions: 60% chat, 20% mention, 20% reply."""
        mention = reply = round(self.users * 0.2)
        return self.users - mention - reply, mention, reply

    LISTENERS = 3

    def privacy_of(self, index: int) -> bool:
        """Privacy mode of the index-th bot."""
        return self.privacy == "on" or (self.privacy == "mixed" and index >= self.LISTENERS)

    @property
    def faulty(self) -> bool:
        return bool(self.fault_429 or self.fault_5xx or self.slow_api_ms or self.db_outage)
