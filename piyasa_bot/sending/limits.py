"""Send limits as aiolimiter buckets shaped like Telegram's counting windows.

Telegram counts messages in windows (20 a minute in a group); a leaky bucket
of 20 per 60 s lets a burst of 20 through and then one every 3 s, which is 39
in the first minute. So every bucket here has room for one send only and
refills at the allowed rate: no window of the limit's length can ever hold
more than the limit. A small margin absorbs the jitter between taking a
token and the request reaching Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from piyasa_bot.roster import Limits

# Spacing margins: the per-chat window is long, so 2% is ample; the global one
# is a second, where a busy event loop can shift a send by tens of milliseconds.
CHAT_MARGIN = 1.02
GLOBAL_MARGIN = 1.08


def spaced(per_window: float, window: float, margin: float) -> AsyncLimiter:
    """A bucket admitting at most `per_window` acquisitions in any `window` seconds."""
    return AsyncLimiter(1, window / per_window * margin)


@dataclass
class PairBuckets:
    """One bot's buckets in one chat: every message, and chatter alone."""

    any_message: AsyncLimiter
    chatter: AsyncLimiter | None  # None when no share is kept for answers

    def has_room(self, chatter: bool) -> bool:
        if chatter and self.chatter is not None and not self.chatter.has_capacity():
            return False
        return self.any_message.has_capacity()

    async def take(self, chatter: bool) -> None:
        await self.any_message.acquire()
        if chatter and self.chatter is not None:
            await self.chatter.acquire()


@dataclass
class SendLimits:
    """The roster's global bucket and a pair of buckets per (bot, chat)."""

    limits: Limits
    global_bucket: AsyncLimiter = field(init=False)
    _pairs: dict[tuple[str, int], PairBuckets] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.global_bucket = spaced(self.limits.global_per_second, 1.0, GLOBAL_MARGIN)

    def pair(self, bot: str, chat_id: int) -> PairBuckets:
        buckets = self._pairs.get((bot, chat_id))
        if buckets is None:
            per_minute = self.limits.per_chat_per_minute
            chatter_share = per_minute * (1 - self.limits.answer_share)
            buckets = PairBuckets(
                any_message=spaced(per_minute, 60.0, CHAT_MARGIN),
                # Chatter may use only its share, so answers always find room.
                chatter=spaced(chatter_share, 60.0, CHAT_MARGIN) if self.limits.answer_share > 0 else None,
            )
            self._pairs[(bot, chat_id)] = buckets
        return buckets
