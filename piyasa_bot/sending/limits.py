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
class ChatBuckets:
    any_message: AsyncLimiter
    chatter: AsyncLimiter | None  # None when no share is kept for answers


@dataclass
class SendLimits:
    """The global bucket and one pair of buckets per chat (all messages, chatter alone)."""

    limits: Limits
    global_bucket: AsyncLimiter = field(init=False)
    _chats: dict[int, ChatBuckets] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.global_bucket = spaced(self.limits.global_per_second, 1.0, GLOBAL_MARGIN)

    def chat(self, chat_id: int) -> ChatBuckets:
        buckets = self._chats.get(chat_id)
        if buckets is None:
            per_minute = self.limits.per_chat_per_minute
            chatter_share = per_minute * (1 - self.limits.answer_share)
            buckets = ChatBuckets(
                any_message=spaced(per_minute, 60.0, CHAT_MARGIN),
                # Chatter may use only its share, so answers always find room.
                chatter=spaced(chatter_share, 60.0, CHAT_MARGIN) if self.limits.answer_share > 0 else None,
            )
            self._chats[chat_id] = buckets
        return buckets
