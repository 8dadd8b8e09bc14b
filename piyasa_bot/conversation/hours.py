"""Istanbul wall-clock questions: is this moment inside these daily ranges?

bots.yaml writes hours in Istanbul time whatever zone the host runs in, so
every check converts the caller's aware `now` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from piyasa_bot.roster import HourRange

ISTANBUL = ZoneInfo("Europe/Istanbul")


def istanbul(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return now.astimezone(ISTANBUL)


def utc_aware(at: datetime) -> datetime:
    """A timestamp as Telegram and asyncpg give it: aware, a naive one read as UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def within(ranges: Sequence[HourRange], now: datetime) -> bool:
    """True when Istanbul time of `now` falls in any range; no ranges means always."""
    if not ranges:
        return True
    moment = istanbul(now).time()
    return any(hour_range.contains(moment) for hour_range in ranges)
