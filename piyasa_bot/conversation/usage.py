"""How many messages each bot sent in the last hour, across all its chats.

One instance is shared by every chat's Director so that persona.hourly_cap
holds for the bot as a whole, not per chat. Send times are kept as POSIX
seconds in an array (8 bytes each, not a datetime object each): a busy roster
sends tens of thousands of messages in the two hours kept.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)
_WINDOW_S = WINDOW.total_seconds()
_KEYS_KEPT = 4096


class SpeakerUsage:
    def __init__(self) -> None:
        self._sent: dict[str, array[float]] = {}  # sorted send times per bot, POSIX seconds
        # Keys already counted, so observing the same message twice counts once.
        self._keys: set[Hashable] = set()
        self._key_order: deque[Hashable] = deque()

    def record(self, bot_name: str, at: datetime, key: Hashable | None = None) -> None:
        if key is not None:
            key = (bot_name, key)
            if key in self._keys:
                return
            self._keys.add(key)
            self._key_order.append(key)
            if len(self._key_order) > _KEYS_KEPT:
                self._keys.discard(self._key_order.popleft())
        times = self._sent.setdefault(bot_name, array("d"))
        insort(times, at.timestamp())
        # Keep two windows: the director also asks about moments slightly ahead of the newest.
        cut = bisect_right(times, times[-1] - 2 * _WINDOW_S)
        if cut:
            del times[:cut]

    def count(self, bot_name: str, now: datetime) -> int:
        """Messages sent in the hour ending at `now`: (now - 1 h, now]."""
        times = self._sent.get(bot_name)
        if not times:
            return 0
        moment = now.timestamp()
        return bisect_right(times, moment) - bisect_right(times, moment - _WINDOW_S)

    def allows(self, bot_name: str, cap: int, at: datetime) -> bool:
        return self.count(bot_name, at) < cap
