"""Is this observation news, or a bad feed? The checks a parsed quote passes before it is believed.

Three rules, each a sign the source is wrong rather than the market:

- a price that is not a finite number above zero (and the same for a previous close);
- an as_of more than FUTURE_SLACK ahead of our clock: clocks drift a little, quotes do not
  come from the future;
- a move of more than MAX_JUMP (50%) from the last good value of the same symbol, when that
  value is less than JUMP_WINDOW (an hour) older than the new one by the sources' own times.
  None of our symbols moves 50% within an hour (BIST's daily limit is 10%); a feed that says
  so has a wrong decimal point, a wrong instrument or a wrong currency. Across a longer gap
  (a night, an outage, a split) such a move is believed: the previous value is too old to
  judge it by.

The caller keeps the last good observation; a rejected one never becomes "previous".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from piyasa_bot.quotes.observation import Observation

MAX_JUMP = 0.5  # a fraction of the previous price, up or down
JUMP_WINDOW = timedelta(hours=1)
FUTURE_SLACK = timedelta(minutes=5)


def implausible(new: Observation, previous: Observation | None, now: datetime) -> str | None:
    """Why `new` cannot be believed, or None. `previous` is the last good observation of the same symbol."""
    if not _positive(new.price):
        return f"{new.symbol} price {new.price} is not a positive number"
    if new.previous_close is not None and not _positive(new.previous_close):
        return f"{new.symbol} previous close {new.previous_close} is not a positive number"
    if new.as_of - now > FUTURE_SLACK:
        return f"{new.symbol} is dated {new.as_of.isoformat()}, ahead of now {now.isoformat()}"
    if previous is None or not _positive(previous.price):
        return None
    if previous.symbol != new.symbol:
        raise ValueError(f"previous is {previous.symbol}, not {new.symbol}")
    gap = abs(new.as_of - previous.as_of)
    move = new.price / previous.price - 1
    if gap < JUMP_WINDOW and abs(move) > MAX_JUMP:
        minutes = gap.total_seconds() / 60
        return f"{new.symbol} moved {move:+.0%} ({previous.price:g} -> {new.price:g}) in {minutes:.0f} min"
    return None


def _positive(number: float) -> bool:
    return math.isfinite(number) and number > 0
