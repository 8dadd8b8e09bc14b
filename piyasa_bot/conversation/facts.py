"""From a market quote to the words and numbers a sentence can use.

Each bot picks its own wording (a spoken name, an adverb) with its rng, but
the numbers and the direction come from the one shared market, so two bots
talking about BIST at the same moment agree on them. What is not known (no
fresh quote, no previous close) is simply not among the slots, and no clause
that needs it is chosen.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from piyasa_bot.conversation.phrases_market import ADVERBS, MOVE, MOVED
from piyasa_bot.conversation.quote import Direction, MacroFacts, MarketView, Quote
from piyasa_bot.conversation.stances import Stance, baseline
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import MONTHS, format_day, format_number, format_percent
from piyasa_bot.roster import BotConfig, Topic

__all__ = ["Facts", "Stance", "gather", "stance"]  # Stance lives in stances.py; clauses imports it from here


@dataclass(frozen=True)
class Facts:
    symbol: str
    topic: Topic
    quote: Quote | None  # None: no fresh quote, so the bot talks about the subject without numbers
    slots: dict[str, str]  # only what is known: a template naming another slot is not used

    @property
    def direction(self) -> Direction | None:
        """The day's direction the facts can state; None for the policy rate and unknown changes."""
        if self.symbol == "POLICY" or self.quote is None:
            return None
        return self.quote.direction

    @property
    def fact_key(self) -> str:
        """Which family of fact clauses describes this quote (clauses.fact)."""
        quote = self.quote
        if quote is None:
            return "numberless"
        if self.symbol == "POLICY":
            return "policy"
        if not quote.change_known:
            return "level" if quote.is_open else "closed_level"
        if not quote.is_open:
            return "closed_flat" if quote.direction == "flat" else "closed_move"
        return quote.direction or "flat"


def gather(market: MarketView, symbol: str, now: datetime, rng: random.Random) -> Facts:
    spec = SYMBOLS[symbol]
    quote = market.quote(symbol, now)
    slots = {"sym": rng.choice(spec.spoken)}
    if quote is None:
        return Facts(symbol, spec.topic, None, slots)
    if symbol == "POLICY":
        slots["rate"] = format_percent(quote.price, 0 if quote.price == int(quote.price) else 2)
        slots.update(_macro_slots(market.macro_facts()))
        return Facts(symbol, spec.topic, quote, slots)
    slots["price"] = format_number(quote.price, spec.decimals) + spec.unit
    slots.update(_levels(quote.price, spec.step))
    direction = quote.direction
    if direction is not None:
        size = abs(quote.change_percent)
        magnitude = "small" if size < 0.5 else "big" if size > 2 * spec.daily_vol * 100 else "mid"
        slots["pct"] = format_percent(quote.change_percent)
        slots["move"] = rng.choice(MOVE[direction]) if direction != "flat" else "yatay"
        slots["moved"] = rng.choice(MOVED[direction]) if direction != "flat" else "yatay"
        slots["adv"] = rng.choice(ADVERBS[(direction, magnitude)]) if direction != "flat" else ""
    return Facts(symbol, spec.topic, quote, slots)


def _macro_slots(macro: MacroFacts) -> dict[str, str]:
    """{inflation}, {inflation_month} and {mpc}, for the ones the operator gave."""
    slots = {}
    if macro.inflation is not None:
        slots["inflation"] = format_percent(macro.inflation)
        if macro.inflation_month is not None:
            slots["inflation_month"] = MONTHS[macro.inflation_month - 1]
    if macro.next_mpc is not None:
        slots["mpc"] = format_day(macro.next_mpc)
    return slots


def _levels(price: float, step: float) -> dict[str, str]:
    """Round support and resistance levels around `price`, at least 0.3 steps away."""
    decimals = 0 if step >= 1 else 2
    support = math.floor(price / step) * step
    if price - support < 0.3 * step:
        support -= step
    resistance = math.ceil(price / step) * step
    if resistance - price < 0.3 * step:
        resistance += step
    return {
        "support": format_number(support, decimals),
        "resistance": format_number(resistance, decimals),
        "support2": format_number(support - 2 * step, decimals),
        "resistance2": format_number(resistance + 2 * step, decimals),
    }


def stance(bot: BotConfig, topic: Topic, now: datetime) -> Stance:
    """The persona's stance on a topic without the market's say: its configured one, else a seeded
    view that lasts a few days (stances.baseline; stances.Stances adds the market's big moves)."""
    return baseline(bot, topic, now)
