"""What a source said about one symbol, and when: the unit every quote source produces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class SourceError(Exception):
    """A source's answer that is not a quote (HTML, empty, malformed, implausible).

    The message names what was wrong, never a secret; the caller adds the source's name.
    """


@dataclass(frozen=True)
class Observation:
    symbol: str  # our code (conversation/symbols.py): USDTRY, BTC, XU100, ONS, THYAO...
    price: float
    previous_close: float | None  # the level the day's change is measured from; None when the source has none
    as_of: datetime  # aware: when the source says this price was current
    source: str  # the source's name in bots.yaml
