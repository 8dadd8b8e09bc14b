"""A circuit breaker for the text endpoint: stop calling it while it keeps failing.

Closed: every call goes through. After `threshold` failures in a row it opens
for a cool-down; then one trial call is let through (half-open). A good
trial closes it; a bad one opens it again for twice as long, up to
`max_cooldown`. Time comes from the injected clock (seconds, monotonic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Ticket = Literal["call", "trial"]


class Breaker:
    def __init__(
        self, clock: Callable[[], float], *, threshold: int = 3, cooldown: float = 60.0, max_cooldown: float = 600.0
    ) -> None:
        self._clock = clock
        self._threshold = threshold
        self._base_cooldown = cooldown
        self._max_cooldown = max_cooldown
        self._cooldown = cooldown
        self._failures = 0
        self._open_until: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        if self._open_until is None:
            return "closed"
        return "half-open" if self._trial_in_flight or self._clock() >= self._open_until else "open"

    @property
    def cooldown(self) -> float:
        """The length of the current (or next) open period, in seconds."""
        return self._cooldown

    def admit(self) -> Ticket | None:
        """May a call go out now? None: no (open, or a trial is already out)."""
        if self._open_until is None:
            return "call"
        if self._trial_in_flight or self._clock() < self._open_until:
            return None
        self._trial_in_flight = True
        return "trial"

    def succeeded(self) -> bool:
        """Record a good answer; True if that closed an open breaker."""
        was_open = self._open_until is not None
        self._failures, self._open_until, self._trial_in_flight = 0, None, False
        self._cooldown = self._base_cooldown
        return was_open

    def failed(self, ticket: Ticket) -> bool:
        """Record a failure; True if the breaker (re)opened because of it."""
        if ticket == "trial":
            self._trial_in_flight = False
            self._cooldown = min(self._cooldown * 2, self._max_cooldown)
            self._open_until = self._clock() + self._cooldown
            return True
        if self._open_until is not None:
            return False  # a call from before it opened: already counted as open
        self._failures += 1
        if self._failures < self._threshold:
            return False
        self._open_until = self._clock() + self._cooldown
        return True

    def abandoned(self, ticket: Ticket) -> None:
        """The call was cancelled before it had an answer: it proves nothing either way."""
        if ticket == "trial":
            self._trial_in_flight = False

    def __repr__(self) -> str:
        return f"Breaker(state={self.state!r}, failures={self._failures}, cooldown={self._cooldown:g})"
