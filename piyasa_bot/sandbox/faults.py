"""Faults the emulator can inject, decided by one seeded random source."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


@dataclass
class FaultPlan:
    """Mutable on purpose: tests and the control API change it while running."""

    rate_429: float = 0.0  # sendMessage answered 429 + retry_after (not a violation)
    rate_5xx: float = 0.0  # any method answered 502 Bad Gateway
    slow_ms: int = 0  # every answer delayed by this much
    drop_rate: float = 0.0  # sendMessage/getUpdates: connection closed, no answer
    retry_after: int = 1


class Fault(Enum):
    DROP = "drop"
    BAD_GATEWAY = "5xx"
    RETRY_AFTER = "429"


_DROPPABLE = frozenset({"sendmessage", "getupdates"})


def choose_fault(plan: FaultPlan, rng: random.Random, method: str) -> Fault | None:
    """The fault for this request, if any; `method` is lower-case.

    Draws only for rates that are set, so a run without faults keeps the
    random sequence (and so the rest of the emulator) reproducible.
    """
    if plan.drop_rate and method in _DROPPABLE and rng.random() < plan.drop_rate:
        return Fault.DROP
    if plan.rate_5xx and rng.random() < plan.rate_5xx:
        return Fault.BAD_GATEWAY
    if plan.rate_429 and method == "sendmessage" and rng.random() < plan.rate_429:
        return Fault.RETRY_AFTER
    return None
