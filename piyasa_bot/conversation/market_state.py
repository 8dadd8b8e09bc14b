"""What a simulated market needs to go on where it was: its seed and the levels it last quoted.

The market's prices are a pure function of (seed, symbol, moment), so the
seed alone continues the same walk after a restart. The levels, read at
`as_of`, make it continue even when the model itself changed in between (a
band or a volatility edited in symbols.py): the restored market starts from
the stored level and eases into the new model's path over a few days (see
`Anchor`). With an unchanged model every anchor is 1 and prices are exactly
those the old process would have quoted.

The state is plain data with a JSON form; storing it is the caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FORMAT = 1
# The gap between a stored level and the model's path halves about every 3.5 session days.
EASE_DAYS = 5.0


class MarketStateError(ValueError):
    """A stored market state that cannot be read (hand-edited, or from an unknown version)."""


@dataclass(frozen=True)
class MarketState:
    seed: int
    as_of: datetime | None = None  # when `levels` were read; None for a market never quoted
    levels: Mapping[str, float] = field(default_factory=dict)  # walked symbol -> level (POLICY: the rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seed": str(self.seed),  # 64 bits: a string, so no JSON reader turns it into a float
            "as_of": self.as_of.isoformat() if self.as_of is not None else None,
            "levels": dict(self.levels),
        }

    @classmethod
    def from_json(cls, data: Any) -> MarketState:
        if not isinstance(data, dict):
            raise MarketStateError(f"a market state is a JSON object, not {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise MarketStateError(f"market state format {data.get('format')!r}: this version reads {FORMAT}")
        try:
            seed = int(data["seed"])
            as_of = datetime.fromisoformat(data["as_of"]) if data.get("as_of") is not None else None
            levels = {str(code): float(level) for code, level in dict(data.get("levels") or {}).items()}
        except (KeyError, TypeError, ValueError) as error:
            raise MarketStateError(f"market state unreadable: {type(error).__name__}: {error}") from None
        if as_of is not None and as_of.utcoffset() is None:
            raise MarketStateError("market state as_of has no time zone")
        bad = sorted(code for code, level in levels.items() if not (math.isfinite(level) and level > 0))
        if bad:
            raise MarketStateError(f"market state levels not positive: {', '.join(bad)}")
        return cls(seed, as_of, levels)


@dataclass(frozen=True)
class Anchor:
    """A correction factor exp(log_ratio * w): w is 1 up to `at`, then decays with EASE_DAYS.

    `at` is a session coordinate (day ordinal + fraction of the session), so
    the correction does not fade while a market is closed. Anchors compose:
    re-anchoring a corrected market at a later moment yields the same factor.
    """

    at: float
    log_ratio: float

    def factor(self, moment: float) -> float:
        if moment <= self.at:
            return math.exp(self.log_ratio)
        return math.exp(self.log_ratio * math.exp(-(moment - self.at) / EASE_DAYS))
