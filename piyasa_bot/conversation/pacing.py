"""How long to wait between two bot messages in a chat.

The rate is ChatConfig.pace messages per hour, times prime_boost inside the
chat's prime hours, times the operator's scale factor. Gaps are exponential
(so the chat does not tick like a metronome) with a little jitter, clipped
so that there are neither bursts nor dead hours.
"""

from __future__ import annotations

import random
from datetime import datetime

from piyasa_bot.conversation.hours import within
from piyasa_bot.roster import ChatConfig

# Clip bounds as multiples of the mean gap: no two messages closer than a
# fifth of the mean, no silence longer than three means.
LOW, HIGH = 0.2, 3.0
# Clipping an exponential at [0.2, 3] means shortens it to 0.969 of the mean;
# drawing from a 1.04x longer exponential brings the clipped mean back to 1.
CLIP_CORRECTION = 1.04
JITTER = 0.1
# Telegram allows 20 messages a minute in a group: never plan closer than this.
MIN_GAP_SECONDS = 3.0


def rate_per_hour(chat: ChatConfig, now: datetime, scale: float = 1.0) -> float:
    boost = chat.prime_boost if is_prime(chat, now) else 1.0
    return chat.pace * boost * scale


def is_prime(chat: ChatConfig, now: datetime) -> bool:
    return bool(chat.prime_hours) and within(chat.prime_hours, now)


def sample_gap(rate: float, rng: random.Random) -> float:
    """Seconds until the next message at `rate` messages per hour (rate > 0)."""
    mean = 3600.0 / rate
    gap = rng.expovariate(1.0 / (mean * CLIP_CORRECTION))
    gap = min(max(gap, LOW * mean), HIGH * mean)
    gap += rng.uniform(-JITTER, JITTER) * mean
    return max(gap, MIN_GAP_SECONDS)
