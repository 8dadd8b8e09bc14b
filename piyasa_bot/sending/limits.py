"""Send limits: aiolimiter buckets for pace, exact windows for Telegram's counts.

Telegram counts messages in windows: 20 a minute from one bot into one group,
about one a second into one chat, about 30 a second overall. A leaky bucket
of 20 per 60 s lets a burst of 20 through and then one every 3 s, which is 39
in the first minute; a bucket of one per 3 s keeps every window under 20 but
makes five answers wait 15 s. So each (bot, chat) pair has an aiolimiter
bucket of one send a second and a log of its own sends that refuses the 21st
in any window; the roster shares one global bucket. The windows are a second
longer than Telegram's, for the jitter between taking a slot and Telegram
receiving the request.

A 429 pauses the bot for its `retry_after` (Telegram's flood wait is per
token), capped: see `RetryAfterPauses`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

import structlog
from aiolimiter import AsyncLimiter

from piyasa_bot.roster import Limits

log = structlog.get_logger(__name__)

WINDOW = 60.0 + 1.0  # Telegram's minute, plus jitter margin
PER_CHAT_SPACING = 1.05  # "about one message a second in one chat"
GLOBAL_WINDOW = 1.0 + 0.25  # the second, plus room for a busy sender or receiver to shift a request
RETRY_AFTER_CAP = 60.0  # seconds: the longest one 429 may hold a bot before it tries again


def spaced(per_window: float, window: float, margin: float) -> AsyncLimiter:
    """A bucket of one: at most `per_window` acquisitions in any `window` seconds."""
    return AsyncLimiter(1, window / per_window * margin)


class SendWindow:
    """The times of this process's own sends in the trailing window: an exact count."""

    def __init__(self, limit: int, span: float = WINDOW) -> None:
        self.limit = limit
        self.span = span
        self._times: deque[float] = deque()

    def count(self, now: float) -> int:
        while self._times and self._times[0] <= now - self.span:
            self._times.popleft()
        return len(self._times)

    def has_room(self, now: float) -> bool:
        return self.count(now) < self.limit

    def record(self, now: float) -> None:
        self._times.append(now)

    def until_room(self, now: float) -> float:
        """Seconds until the oldest send leaves the window (0 when there is room)."""
        if self.count(now) < self.limit:
            return 0.0
        if self.limit <= 0:
            return self.span  # a window of no sends (chatter's share of per_chat_per_minute: 1) never has room
        return max(self._times[-self.limit] + self.span - now, 0.001)


@dataclass
class PairBuckets:
    """One bot in one chat: a pace bucket, a window for every message, a smaller one for chatter."""

    pace: AsyncLimiter
    window: SendWindow
    chatter: SendWindow
    _pace_free_at: float = field(default=0.0, init=False)  # when the pace bucket has room again, about

    def has_room(self, chatter: bool, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if chatter and not self.chatter.has_room(now):
            return False
        return self.window.has_room(now) and self.pace.has_capacity()

    def until_room(self, chatter: bool, now: float | None = None) -> float:
        """Seconds until `has_room` holds (0 when it does): how long a queue may sleep instead of polling."""
        now = time.monotonic() if now is None else now
        if self.has_room(chatter, now):
            return 0.0
        waits = [self._pace_free_at - now, self.window.until_room(now)]
        if chatter:
            waits.append(self.chatter.until_room(now))
        # The pace estimate can be a hair early against aiolimiter's own clock: never 0 here.
        return max(*waits, 0.01)

    async def take(self, chatter: bool) -> None:
        await self.pace.acquire()
        now = time.monotonic()
        self._pace_free_at = now + self.pace.time_period / self.pace.max_rate
        self.window.record(now)
        if chatter:
            self.chatter.record(now)


class RetryAfterPauses:
    """Bots that Telegram asked to wait (429 + retry_after), and until when (monotonic).

    Obeyed, but capped: one bad value (a 120 s flood wait, or a proxy's
    nonsense) must not silence a bot for longer than the cap; if Telegram
    meant it, the next attempt gets another 429 and waits again.
    """

    def __init__(self, cap: float = RETRY_AFTER_CAP) -> None:
        self.cap = cap
        self._until: dict[str, float] = {}

    def pause(self, bot: str, retry_after: float) -> float:
        """Hold the bot for `retry_after` seconds, at most the cap; returns the pause applied."""
        seconds = min(max(float(retry_after), 0.0), self.cap)
        if retry_after > self.cap:
            log.warning("send.retry_after_capped", bot=bot, retry_after=retry_after, capped_to=self.cap)
        self._until[bot] = max(self._until.get(bot, 0.0), time.monotonic() + seconds)
        return seconds

    def remaining(self, bot: str, now: float | None = None) -> float:
        """Seconds the bot is still paused (0: not paused)."""
        until = self._until.get(bot)
        if until is None:
            return 0.0
        left = until - (time.monotonic() if now is None else now)
        if left <= 0:
            del self._until[bot]  # over: nothing kept per bot that is not paused
            return 0.0
        return left

    def forget(self, bot: str) -> None:
        self._until.pop(bot, None)


@dataclass
class SendLimits:
    """The roster's global bucket, the buckets of every (bot, chat) pair, and the bots paused by a 429."""

    limits: Limits
    global_bucket: AsyncLimiter = field(init=False)
    global_window: SendWindow = field(init=False)
    pauses: RetryAfterPauses = field(default_factory=RetryAfterPauses, init=False)
    _pairs: dict[tuple[str, int], PairBuckets] = field(default_factory=dict, init=False)
    # This runner's part of the roster-wide limit: in a fleet, its share of the roster's bots.
    share: float = field(default=1.0, init=False)

    def __post_init__(self) -> None:
        self._set_global(self.limits)

    def _set_global(self, limits: Limits) -> None:
        # The bucket spreads sends evenly; the window makes sure no second ever holds more.
        per_second = limits.global_per_second * self.share
        self.global_bucket = spaced(max(per_second, 0.5), 1.0, 1.0)
        self.global_window = SendWindow(max(1, int(per_second)), GLOBAL_WINDOW)

    def set_share(self, share: float) -> None:
        """The fleet split the roster anew: this runner may send `share` of the roster-wide limit.

        The shares of all runners add up to one, so together they stay within the limit.
        """
        share = min(max(share, 0.0), 1.0)
        if share != self.share:
            self.share = share
            self._set_global(self.limits)

    def seed(self, bot: str, chat_id: int, ages: list[float]) -> None:
        """Sends this bot made into this chat `ages` seconds ago under another runner: they still count."""
        now, pair = time.monotonic(), self.pair(bot, chat_id)
        for age in sorted(ages, reverse=True):
            pair.window.record(now - age)

    async def enter_global_window(self) -> None:
        """Wait for room in the roster-wide window and take it: call right before the request goes out,
        so that time spent in a busy loop between the bucket and the wire is not outside the count."""
        while not self.global_window.has_room(time.monotonic()):
            await asyncio.sleep(self.global_window.until_room(time.monotonic()))
        self.global_window.record(time.monotonic())

    def until_room(self, bot: str, chat_id: int, chatter: bool) -> float:
        """Seconds until this bot may send (chatter, or an answer) into this chat: 0 when it may now."""
        return max(self.pauses.remaining(bot), self.pair(bot, chat_id).until_room(chatter))

    def holding(self, bot: str, chat_id: int, chatter: bool) -> str | None:
        """Which limit holds this bot's next message in this chat now: "retry_after", "chat", or None."""
        if self.pauses.remaining(bot):
            return "retry_after"
        return None if self.pair(bot, chat_id).has_room(chatter) else "chat"

    def pair(self, bot: str, chat_id: int) -> PairBuckets:
        buckets = self._pairs.get((bot, chat_id))
        if buckets is None:
            per_minute = self.limits.per_chat_per_minute
            # Chatter may use only its share of the window, so answers always find room.
            chatter_slots = int(per_minute * (1 - self.limits.answer_share))
            buckets = PairBuckets(
                pace=AsyncLimiter(1, PER_CHAT_SPACING),
                window=SendWindow(per_minute),
                chatter=SendWindow(chatter_slots),
            )
            self._pairs[(bot, chat_id)] = buckets
        return buckets

    def update(self, limits: Limits) -> None:
        """New limits from a live bots.yaml edit; what each pair already sent still counts."""
        self.limits = limits
        self._set_global(limits)
        for pair in self._pairs.values():
            pair.window.limit = limits.per_chat_per_minute
            pair.chatter.limit = int(limits.per_chat_per_minute * (1 - limits.answer_share))
