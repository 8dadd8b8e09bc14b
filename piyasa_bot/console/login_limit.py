"""At most 5 failed sign-ins per 10 minutes per client address and per user name, in bounded memory.

Keyed both ways: one address cannot try many names, many addresses cannot
try one name. Each key keeps the times of its last failures only; beyond
`max_keys` the key whose last failure is oldest is forgotten first. Behind a
reverse proxy every client shares the proxy's address, and so its limit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

FAILURES = 5
WINDOW = 600.0  # seconds
MAX_KEYS = 10_000


class LoginLimit:
    def __init__(
        self,
        failures: int = FAILURES,
        window: float = WINDOW,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = failures
        self._window = window
        self._max_keys = max_keys
        self._clock = clock
        self._recent: OrderedDict[str, deque[float]] = OrderedDict()  # least recently failed first

    def retry_after(self, *keys: str) -> float | None:
        """Seconds until any of `keys` may try again, or None when none of them is at its limit."""
        self._forget_expired()
        now = self._clock()
        waits: list[float] = []
        for key in keys:
            times = self._recent.get(key)
            if times is not None and len(times) == self._failures:  # full: the oldest kept is the 5th last
                waits.append(times[0] + self._window - now)
        wait = max(waits, default=0.0)
        return wait if wait > 0 else None

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            times = self._recent.pop(key, None) or deque(maxlen=self._failures)
            times.append(now)
            self._recent[key] = times
        while len(self._recent) > self._max_keys:
            self._recent.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._recent.pop(key, None)

    @property
    def tracked(self) -> int:
        return len(self._recent)

    def _forget_expired(self) -> None:
        horizon = self._clock() - self._window
        while self._recent:
            key, times = next(iter(self._recent.items()))
            if times[-1] > horizon:
                break
            del self._recent[key]


def address_key(address: str) -> str:
    return f"address:{address}"


def name_key(name: str) -> str:
    return f"name:{name.casefold()}"


def minutes(seconds: float) -> int:
    """A wait as the page says it: whole minutes, at least 1."""
    return max(1, math.ceil(seconds / 60))
