"""A quote as the bots speak of it, and the one question every market answers.

Two markets answer it: the simulated one (market.py: seeded, no network, what
`simulate`, `loadtest` and the tests use) and the live one (live_market.py:
what the configured sources said, while it is fresh). A live market may have
nothing fresh to say about a symbol; then `quote` is None and the bots talk
about that subject without numbers rather than with stale ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

Direction = Literal["up", "down", "flat"]
FLAT_PERCENT = 0.1  # a move smaller than this is "yatay"


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: float
    previous_close: float | None  # None: the source gave no reference, so the day's change is unknown
    is_open: bool  # False: `price` is the last session's close
    as_of: datetime | None = None  # when the source said it; None for the simulated market (always now)

    @property
    def change_known(self) -> bool:
        return self.previous_close is not None and self.previous_close > 0

    @property
    def change_percent(self) -> float:
        """The day's change; 0 when it is not known (ask `change_known` first)."""
        if self.previous_close is None or self.previous_close <= 0:
            return 0.0
        return (self.price / self.previous_close - 1.0) * 100.0

    @property
    def direction(self) -> Direction | None:
        """The day's direction, None when the change is not known."""
        if not self.change_known:
            return None
        change = self.change_percent
        if abs(change) < FLAT_PERCENT:
            return "flat"
        return "up" if change > 0 else "down"


@dataclass(frozen=True)
class MacroFacts:
    """What no quote gives: the operator's facts (bots.yaml `market.macro`), never the code's."""

    inflation: float | None = None  # the last annual CPI print, percent
    inflation_month: int | None = None  # 1-12: the month that print is for
    next_mpc: date | None = None  # the next monetary policy committee (PPK) meeting


class MarketView(Protocol):
    """What the composer and the prompt ask of a market."""

    def macro_facts(self) -> MacroFacts:
        """The operator's macro facts (empty for a market that has none)."""

    def knows(self, symbol: str) -> bool:
        """Whether `symbol` is one the bots talk about (a quote may still be missing)."""

    def quote(self, symbol: str, now: datetime) -> Quote | None:
        """The quote to speak from at `now`, or None when there is none fresh enough."""
