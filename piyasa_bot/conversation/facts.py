"""From a market quote to the words and numbers a sentence can use.

Each bot picks its own wording (a spoken name, an adverb) with its rng, but
the numbers and the direction come from the shared Market, so two bots
talking about BIST at the same moment agree on them.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.market import Market, Quote
from piyasa_bot.conversation.phrases_market import ADVERBS, MOVE, MOVED
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import format_number, format_percent
from piyasa_bot.roster import BotConfig, Topic

Stance = Literal["bullish", "bearish", "neutral"]


@dataclass(frozen=True)
class Facts:
    symbol: str
    topic: Topic
    quote: Quote
    slots: dict[str, str]

    @property
    def direction(self) -> str | None:
        return None if self.symbol == "POLICY" else self.quote.direction

    @property
    def fact_key(self) -> str:
        """Which FACTS family describes this quote."""
        if self.symbol == "POLICY":
            return "policy"
        if not self.quote.is_open:
            return "closed_flat" if self.quote.direction == "flat" else "closed_move"
        return self.quote.direction


def gather(market: Market, symbol: str, now: datetime, rng: random.Random) -> Facts:
    spec = SYMBOLS[symbol]
    quote = market.quote(symbol, now)
    direction = quote.direction
    size = abs(quote.change_percent)
    magnitude = "small" if size < 0.5 else "big" if size > 2 * spec.daily_vol * 100 else "mid"
    step = spec.step
    level_decimals = 0 if step >= 1 else 2
    support = math.floor(quote.price / step) * step
    if quote.price - support < 0.3 * step:
        support -= step
    resistance = math.ceil(quote.price / step) * step
    if resistance - quote.price < 0.3 * step:
        resistance += step
    slots = {
        "sym": rng.choice(spec.spoken),
        "price": format_number(quote.price, spec.decimals) + spec.unit,
        "pct": format_percent(quote.change_percent),
        "move": rng.choice(MOVE[direction]) if direction != "flat" else "yatay",
        "moved": rng.choice(MOVED[direction]) if direction != "flat" else "yatay",
        "adv": rng.choice(ADVERBS[(direction, magnitude)]) if direction != "flat" else "",
        "support": format_number(support, level_decimals),
        "resistance": format_number(resistance, level_decimals),
        "support2": format_number(support - 2 * step, level_decimals),
        "resistance2": format_number(resistance + 2 * step, level_decimals),
        "rate": format_percent(quote.price, 0 if quote.price == int(quote.price) else 2),
    }
    return Facts(symbol, spec.topic, quote, slots)


def stance(bot: BotConfig, topic: Topic, now: datetime) -> Stance:
    """The persona's stance on a topic, or a mood of the day that stays put all day.

    crc32 rather than hash(): Python salts str hashes per process.
    """
    configured = dict(bot.persona.stances).get(topic)
    if configured:
        return configured
    day = istanbul(now).date().isoformat()
    roll = zlib.crc32(f"{bot.name}:{topic}:{day}".encode()) % 100
    bullish_share = {"low": 20, "medium": 30, "high": 45}[bot.persona.risk]
    if roll < bullish_share:
        return "bullish"
    if roll < bullish_share + 25:
        return "bearish"
    return "neutral"
