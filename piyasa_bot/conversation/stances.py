"""What a bot thinks of a subject, over time: changed by the market or slowly, never on a whim.

Three layers, each pure given the clock the caller passes:

- `baseline(bot, topic, now)`: the persona's configured stance (bots.yaml
  persona.stances), else a seeded view that holds for a few days (3 to 7,
  per bot and topic) and changes only at an Istanbul midnight.
- `Stances.of(bot, topic, now)`: the baseline, unless the market made a big
  move against it today (the topic's reference symbol beyond twice its
  typical daily move); then the bot goes with the move for the rest of that
  day, even if the move fades. A new day starts from the baseline again.
- `StanceMemory`: what each bot said about each symbol in the last two
  hours. Before taking a side the bot asks `allowed`, and takes none
  (neutral) rather than the opposite of what it just said.

`Views.take` is the one call the composer makes: the day's stance, checked
against the memory, and noted in it.

The objects keep only the latest entry per (bot, topic) or (bot, symbol),
so they stay as small as the roster. They live in the process: after a
restart a view turned by the market earlier that day is back at its
baseline unless the move is still big, and the two hours start empty.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.quote import Direction, MarketView
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.roster import BotConfig, Topic

Stance = Literal["bullish", "bearish", "neutral"]

# The symbol whose day decides a topic's big moves; macro has none (it changes only slowly).
REFERENCE: dict[Topic, str | None] = {
    "bist": "XU100",
    "usdtry": "USDTRY",
    "gold": "GRAM",
    "crypto": "BTC",
    "macro": None,
}
BIG_MOVE = 2.0  # a day's move beyond this many typical daily moves changes a view against it
MEMORY_WINDOW = timedelta(hours=2)


def baseline(bot: BotConfig, topic: Topic, now: datetime) -> Stance:
    """The configured stance, else a seeded one that lasts 3 to 7 days.

    crc32 rather than hash(): Python salts str hashes per process.
    """
    configured = bot.persona.stances.get(topic)
    if configured:
        return configured
    key = f"{bot.name}:{topic}"
    spread = zlib.crc32(key.encode())
    length = 3 + spread % 5
    epoch = (istanbul(now).date().toordinal() + spread // 5 % length) // length
    roll = zlib.crc32(f"{key}:{epoch}".encode()) % 100
    bullish_share = {"low": 20, "medium": 30, "high": 45}[bot.persona.risk]
    if roll < bullish_share:
        return "bullish"
    if roll < bullish_share + 25:
        return "bearish"
    return "neutral"


def big_move(market: MarketView, topic: Topic, now: datetime) -> Direction | None:
    """ "up" or "down" when the topic's reference symbol moved more than BIG_MOVE typical days today."""
    code = REFERENCE[topic]
    quote = market.quote(code, now) if code else None
    if code is None or quote is None or not quote.change_known:
        return None
    if abs(quote.change_percent) <= BIG_MOVE * SYMBOLS[code].daily_vol * 100:
        return None
    return "up" if quote.change_percent > 0 else "down"


@dataclass(frozen=True)
class _Held:
    stance: Stance
    day: date  # the Istanbul day it holds for


class Stances:
    """Each bot's stance per topic, moved by the market's big moves within a day."""

    def __init__(self, market: MarketView) -> None:
        self._market = market
        self._held: dict[tuple[str, Topic], _Held] = {}

    def of(self, bot: BotConfig, topic: Topic, now: datetime) -> Stance:
        day = istanbul(now).date()
        held = self._held.get((bot.name, topic))
        if held is None or held.day != day:
            held = _Held(baseline(bot, topic, now), day)
        move = big_move(self._market, topic, now)
        if move is not None and _against(held.stance, move):
            held = _Held("bullish" if move == "up" else "bearish", day)
        self._held[(bot.name, topic)] = held
        return held.stance


@dataclass(frozen=True)
class Said:
    """What a bot last said about a symbol: its side and the day's direction it saw."""

    stance: Stance
    direction: str | None
    at: datetime


class StanceMemory:
    """What each bot said about each symbol lately, so that it does not say the opposite."""

    def __init__(self, window: timedelta = MEMORY_WINDOW) -> None:
        self._window = window
        self._last: dict[tuple[str, str], Said] = {}
        self._sides: dict[tuple[str, str], Said] = {}  # the last bullish or bearish word

    def note(self, bot: str, symbol: str, stance: Stance, direction: str | None, at: datetime) -> None:
        said = Said(stance, direction, at)
        self._last[(bot, symbol)] = said
        if stance != "neutral":
            self._sides[(bot, symbol)] = said

    def allowed(self, bot: str, symbol: str, stance: Stance, at: datetime) -> bool:
        """False when `stance` is the opposite side of one the bot took on `symbol` within the window."""
        side = self._sides.get((bot, symbol))
        if stance == "neutral" or side is None or side.stance == stance:
            return True
        return not timedelta(0) <= at - side.at < self._window

    def last(self, bot: str, symbol: str, at: datetime) -> Said | None:
        """What the bot last said about `symbol`, if within the window."""
        said = self._last.get((bot, symbol))
        return said if said is not None and timedelta(0) <= at - said.at < self._window else None


class Views:
    """The side a bot takes in a message: its stance today, never the opposite of what it just said."""

    def __init__(self, market: MarketView) -> None:
        self.stances = Stances(market)
        self.memory = StanceMemory()

    def take(self, bot: BotConfig, topic: Topic, symbol: str, direction: str | None, now: datetime) -> Stance:
        """The stance for a message on `symbol` (of `topic`) at `now`, noted as said.

        A bot whose view turned (a big move) within two hours of saying the opposite
        says neither for now: neutral, until the window has passed.
        """
        view = self.stances.of(bot, topic, now)
        if not self.memory.allowed(bot.name, symbol, view, now):
            view = "neutral"
        self.memory.note(bot.name, symbol, view, direction, now)
        return view


def _against(stance: Stance, move: Direction) -> bool:
    """Whether a big move in `move`'s direction goes against `stance` (any big move moves a neutral view)."""
    return stance == "neutral" or (stance == "bullish") != (move == "up")
