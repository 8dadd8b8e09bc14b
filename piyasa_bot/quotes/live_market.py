"""The one cache of real quotes: what the sources said, presented as "now" only while it is fresh.

Every bot in every chat asks this one object (one cache, one clock: the
caller's `now`), so they quote the same figure for the same thing at the
same moment. Pure: the fetchers (poller.py) hand it observations; it never
does I/O.

When is a quote "now"?
- BIST (the index, BIST30, stocks): during a session, while younger than the
  source's staleness bound; while the exchange is closed (evenings, weekends,
  Turkish public holidays, bist_calendar.py), the last session's close, as a
  close — only if it was received after that close, so a mid-session price is
  never passed off as the close.
- A daily fixing (the CBRT's bulletin): while it is the latest bulletin due
  (published 15:30 on working days; the previous one stays valid until 17:30,
  in case the new one is late) and younger than the staleness bound.
- Anything else (crypto, futures, FX quotes): while younger than the bound;
  at weekends, when futures and FX do not trade, the last price of the last
  three days as a close.
Otherwise `quote` is None and the bots talk about the subject without numbers.

Gram gold is ons gold × USD/TRY ÷ 31.1035 when no source quotes it; the
policy rate is the operator's (bots.yaml `market.macro`), never the code's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import piyasa_bot.conversation.bist_calendar as bist_calendar
from piyasa_bot.conversation.hours import ISTANBUL, istanbul
from piyasa_bot.conversation.quote import MacroFacts, Quote
from piyasa_bot.conversation.symbols import SYMBOLS, TROY_OUNCE_GRAMS
from piyasa_bot.market_config import Macro
from piyasa_bot.quotes.observation import Observation
from piyasa_bot.quotes.sanity import implausible

BULLETIN_AT = time(15, 30)
BULLETIN_GRACE = timedelta(hours=2)  # a bulletin later than 17:30 leaves the previous one in force until it comes
WEEKEND_CLOSE_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class SourceRule:
    """What the cache needs to know of a source to judge its quotes' freshness."""

    stale_after: float  # seconds
    daily: bool = False  # a once-a-working-day fixing (the CBRT's bulletin)


@dataclass(frozen=True)
class Held:
    """A good observation and when this process (or the one before it) received it."""

    observation: Observation
    received_at: datetime


class LiveMarket:
    def __init__(self, rules: Mapping[str, SourceRule], macro: Macro | None = None) -> None:
        self.rules = dict(rules)
        self.macro = macro or Macro()
        self._held: dict[tuple[str, str], Held] = {}  # (symbol, source) -> the last good observation

    # -- what the sources said ------------------------------------------------------

    def observe(self, observation: Observation, received_at: datetime) -> str | None:
        """Keep a new observation, or say why it is not news (the previous good value stays)."""
        if observation.source not in self.rules:
            return f"unknown source {observation.source!r}"
        if observation.symbol not in SYMBOLS:
            return f"unknown symbol {observation.symbol!r}"
        key = (observation.symbol, observation.source)
        previous = self._held.get(key)
        reason = implausible(observation, previous.observation if previous else None, received_at)
        if reason is not None:
            return reason
        self._held[key] = Held(self._with_reference(observation, previous), received_at)
        return None

    def restore(self, held: Iterable[Held]) -> None:
        """Quotes kept from before a restart (their freshness is judged as for any other)."""
        for item in held:
            observation = item.observation
            if observation.source in self.rules and observation.symbol in SYMBOLS:
                self._held[(observation.symbol, observation.source)] = item

    def held(self) -> list[Held]:
        return list(self._held.values())

    def kept(self, symbol: str, source: str) -> Held | None:
        return self._held.get((symbol, source))

    @staticmethod
    def _with_reference(observation: Observation, previous: Held | None) -> Observation:
        """A daily fixing has no previous close of its own: the last one of an earlier day is it."""
        if observation.previous_close is not None or previous is None:
            return observation
        before = previous.observation
        if istanbul(before.as_of).date() < istanbul(observation.as_of).date():
            return replace(observation, previous_close=before.price)
        if istanbul(before.as_of).date() == istanbul(observation.as_of).date():
            return replace(observation, previous_close=before.previous_close)
        return observation

    # -- what the bots say ----------------------------------------------------------

    def knows(self, symbol: str) -> bool:
        return symbol in SYMBOLS

    def macro_facts(self) -> MacroFacts:
        return macro_facts(self.macro)

    def quote(self, symbol: str, now: datetime) -> Quote | None:
        if symbol == "POLICY":
            rate = self.macro.policy_rate
            return None if rate is None else Quote("POLICY", rate, rate, False)
        best: Quote | None = None
        for source in self.rules:
            held = self._held.get((symbol, source))
            candidate = self._present(held, now) if held is not None else None
            if candidate is not None and (best is None or _newer(candidate, best)):
                best = candidate
        if best is None and symbol == "GRAM":
            return self._gram(now)
        return best

    def ages(self, now: datetime) -> dict[str, float]:
        """Seconds since each symbol's newest held quote was current (fresh or not)."""
        ages: dict[str, float] = {}
        for (symbol, _), held in self._held.items():
            age = (now - held.observation.as_of).total_seconds()
            ages[symbol] = min(age, ages.get(symbol, age))
        return ages

    def _present(self, held: Held, now: datetime) -> Quote | None:
        observation = held.observation
        rule = self.rules[observation.source]
        age = (now - observation.as_of).total_seconds()
        spec = SYMBOLS[observation.symbol]
        if spec.session == "bist":
            if bist_calendar.is_open(now):
                return _quote(observation, is_open=True) if age <= rule.stale_after else None
            close = bist_calendar.last_close(now)
            # The close, as a close: received after it, and from that session rather than an older one.
            if held.received_at >= close and observation.as_of >= close - timedelta(hours=9):
                return _quote(observation, is_open=False)
            return None
        if age > rule.stale_after:
            return None
        if rule.daily:
            return _quote(observation, is_open=True) if observation.as_of >= latest_bulletin(now) else None
        if spec.session != "crypto" and istanbul(now).weekday() >= 5:
            return _quote(observation, is_open=False) if now - observation.as_of <= WEEKEND_CLOSE_WINDOW else None
        return _quote(observation, is_open=True)

    def _gram(self, now: datetime) -> Quote | None:
        ons, usd = self.quote("ONS", now), self.quote("USDTRY", now)
        if ons is None or usd is None:
            return None
        previous = None
        if ons.previous_close is not None and usd.previous_close is not None:
            previous = ons.previous_close * usd.previous_close / TROY_OUNCE_GRAMS
        as_of = min(moment for moment in (ons.as_of, usd.as_of) if moment is not None)
        return Quote("GRAM", ons.price * usd.price / TROY_OUNCE_GRAMS, previous, ons.is_open, as_of)


def macro_facts(macro: Macro) -> MacroFacts:
    """bots.yaml's macro section as the conversation reads it."""
    month = int(macro.inflation_month[5:]) if macro.inflation_month else None
    return MacroFacts(macro.inflation, month, macro.next_mpc)


def _quote(observation: Observation, *, is_open: bool) -> Quote:
    return Quote(observation.symbol, observation.price, observation.previous_close, is_open, observation.as_of)


def _newer(candidate: Quote, best: Quote) -> bool:
    if candidate.as_of is None or best.as_of is None:
        return False
    return candidate.as_of > best.as_of


def latest_bulletin(now: datetime) -> datetime:
    """The publication moment of the latest CBRT bulletin that should be out by `now` (Istanbul time)."""
    local = istanbul(now)
    day = local.date()
    if not (bist_calendar.is_trading_day(day) and local >= _at(day, BULLETIN_AT) + BULLETIN_GRACE):
        day = bist_calendar.previous_trading_day(day)
    return _at(day, BULLETIN_AT)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=ISTANBUL)
