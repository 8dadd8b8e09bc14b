"""How long a message keeps trying: until its expiry, never by a count of attempts.

An answer to a person is worth sending for as long as it still makes sense
in the conversation (the roster's `answer_ttl_seconds`, ten minutes by
default): a sendMessage outage of a minute must not fail it after six quick
attempts. Chatter keeps its short expiry. Between attempts the delay grows
and is capped, so that a long outage costs one request per message every
`cap` seconds, and it is jittered (by a factor, never below zero) so that
the messages an outage held do not all come back in the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from piyasa_bot.roster import Limits
from piyasa_bot.sending.outgoing import Outgoing


@dataclass(frozen=True)
class RetryBackoff:
    first: float = 0.5  # seconds after the first failed attempt
    factor: float = 2.0
    cap: float = 15.0
    jitter: float = 0.2  # +-20 %
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed attempts (1 or more)."""
        exponent = min(max(attempts - 1, 0), 64)  # 2.0 ** 1100 would overflow; the cap is reached long before
        base = min(self.first * self.factor**exponent, self.cap)
        return base * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    def next_attempt_at(self, item: Outgoing, now: float) -> float | None:
        """When to try `item` again (wall clock), or None: that would be after its expiry."""
        at = now + self.delay(item.attempts)
        if item.expires_at is not None and at >= item.expires_at:
            return None
        return at


def default_expiry(item: Outgoing, limits: Limits) -> float:
    """For a message put without an expiry: the roster's TTL for its kind, from when it may go."""
    ttl = limits.chatter_ttl_seconds if item.is_chatter else limits.answer_ttl_seconds
    return max(item.created, item.not_before) + ttl


def stale_reason(item: Outgoing) -> str:
    """Why a message ends expired: it waited too long, or kept failing until then."""
    if item.last_error is None:
        return "still queued when it stopped being fresh"
    return f"still failing when it stopped being fresh: {item.last_error} ({item.attempts} attempts)"
