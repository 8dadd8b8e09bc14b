"""Retry delays that grow, jitter, and never leave their bounds.

aiogram's `Backoff` draws each delay from a normal distribution around the
previous one with an absolute sigma: with a minimum of 0.2 s and a jitter of
0.2 a draw goes negative, the next one multiplies the negative value, and a
failing bot ended up polling in a tight loop (a delay of about -1e245 s).
Here the jitter is relative and every delay is clamped to [min_delay, max_delay].
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    min_delay: float
    max_delay: float
    factor: float = 2.0
    jitter: float = 0.2  # each delay is scaled by a uniform draw in [1 - jitter, 1 + jitter]

    def __post_init__(self) -> None:
        if not 0 < self.min_delay <= self.max_delay:
            raise ValueError("backoff wants 0 < min_delay <= max_delay")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff wants factor >= 1 and 0 <= jitter < 1")


class Backoff:
    """The delays of one run of failures: `next(backoff)`, then `reset()` after a success."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self._failures = 0

    def __iter__(self) -> Backoff:
        return self

    def __next__(self) -> float:
        policy = self.policy
        # The exponent is capped so that the float cannot overflow however long the outage.
        base = policy.min_delay * policy.factor ** min(self._failures, 64)
        self._failures += 1
        delay = min(base, policy.max_delay) * self._rng.uniform(1 - policy.jitter, 1 + policy.jitter)
        return min(max(delay, policy.min_delay), policy.max_delay)

    @property
    def failures(self) -> int:
        return self._failures

    def reset(self) -> None:
        self._failures = 0
