"""Telegram's send limits as exact sliding windows.

Per-bot limits are enforced (429 + retry_after, as Telegram does); the
roster-wide ones are only counted, so a run can prove it never crossed them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EmulatorLimits:
    per_bot_per_second: int = 30
    per_bot_per_chat_per_minute: int = 20
    total_per_second: int = 30
    # Across all bots in one chat; None when the roster promises no such limit
    # (piyasa_bot's per-chat limit is per bot, as Telegram's is).
    per_chat_per_minute: int | None = 20


def limits_for(global_per_second: float, per_bot_chat_per_minute: int) -> EmulatorLimits:
    """The windows a roster's limits promise: all bots together per second, each bot per chat per minute."""
    return EmulatorLimits(
        per_bot_per_second=30,
        per_bot_per_chat_per_minute=per_bot_chat_per_minute,
        total_per_second=int(global_per_second),
        per_chat_per_minute=None,
    )


class SlidingWindow:
    """Timestamps of accepted events in the trailing `span` seconds.

    Each timestamp is appended and evicted once, so counting is amortized O(1).
    """

    __slots__ = ("_times", "span")

    def __init__(self, span: float):
        self.span = span
        self._times: deque[float] = deque()

    def count(self, now: float) -> int:
        times, edge = self._times, now - self.span
        while times and times[0] <= edge:
            times.popleft()
        return len(times)

    def add(self, now: float) -> int:
        """Record one event and return the window's count including it."""
        count = self.count(now) + 1
        self._times.append(now)
        return count

    def retry_after(self, now: float, cap: int) -> int:
        """Whole seconds until one more event fits under `cap` (at least 1)."""
        excess = self.count(now) - cap
        if excess < 0:
            return 0
        freeing = self._times[excess]  # the event whose expiry brings us below cap
        return max(1, math.ceil(freeing + self.span - now))


@dataclass
class LimitBook:
    """All windows of one emulator; `now` is a monotonic clock reading."""

    limits: EmulatorLimits
    violations: dict[str, int] = field(
        default_factory=lambda: {"per_bot_second": 0, "per_bot_chat_minute": 0, "total_second": 0, "chat_minute": 0}
    )
    _bot_second: dict[str, SlidingWindow] = field(default_factory=dict)
    _bot_chat_minute: dict[tuple[str, int], SlidingWindow] = field(default_factory=dict)
    _total_second: SlidingWindow = field(default_factory=lambda: SlidingWindow(1.0))
    _chat_minute: dict[int, SlidingWindow] = field(default_factory=dict)

    def refusal(self, bot: str, chat_id: int, now: float) -> tuple[str, int] | None:
        """(violation kind, retry_after) if this send would break a per-bot limit."""
        second = self._bot_second.get(bot)
        if second is not None:
            wait = second.retry_after(now, self.limits.per_bot_per_second)
            if wait:
                return "per_bot_second", wait
        minute = self._bot_chat_minute.get((bot, chat_id))
        if minute is not None:
            wait = minute.retry_after(now, self.limits.per_bot_per_chat_per_minute)
            if wait:
                return "per_bot_chat_minute", wait
        return None

    def count_refusal(self, kind: str) -> None:
        self.violations[kind] += 1

    def accept(self, bot: str, chat_id: int, now: float) -> None:
        """Record an accepted send; count roster-wide windows it pushes over."""
        self._window(self._bot_second, bot, 1.0).add(now)
        self._window(self._bot_chat_minute, (bot, chat_id), 60.0).add(now)
        if self._total_second.add(now) > self.limits.total_per_second:
            self.violations["total_second"] += 1
        cap = self.limits.per_chat_per_minute
        if cap is not None and self._window(self._chat_minute, chat_id, 60.0).add(now) > cap:
            self.violations["chat_minute"] += 1

    @staticmethod
    def _window(windows: dict, key, span: float) -> SlidingWindow:
        window = windows.get(key)
        if window is None:
            window = windows[key] = SlidingWindow(span)
        return window
