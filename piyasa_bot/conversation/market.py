"""A simulated market that every bot quotes from, so they agree on the day.

Prices are a pure function of (seed, symbol, moment): the seed is drawn once
from the caller's Random, then each symbol's daily close comes from a slow
seeded wave inside its band plus a seeded daily shock, and the path within a
session is a seeded Brownian bridge from the previous close to that day's
close. Asking in any order gives the same answer, and a session opens where
the previous one closed.

`state(now)` is what a restart needs to go on with the same market
(market_state.py); `Market.from_state` builds one from it.
"""

from __future__ import annotations

import math
import random
from array import array
from datetime import date, datetime, timedelta
from typing import TypeVar

import piyasa_bot.conversation.bist_calendar as bist_calendar
from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.market_state import Anchor, MarketState
from piyasa_bot.conversation.quote import Direction, MacroFacts, Quote
from piyasa_bot.conversation.symbols import EURUSD, SYMBOLS, TROY_OUNCE_GRAMS, Symbol

K = TypeVar("K")
V = TypeVar("V")
_XU100_PIVOT = 10_000.0
# Bounded caches: a path is 1,441 doubles (11 KiB as an array); a day's quotes use ~25 of them.
_PATHS_KEPT = 96
_CLOSES_KEPT = 512
_DERIVED = ("POLICY", "GRAM", "EURTRY")  # quoted from other symbols, never walked themselves


# The symbols whose own path the market walks: every quote is made of these.
WALKED: dict[str, Symbol] = {EURUSD.code: EURUSD} | {
    code: spec for code, spec in SYMBOLS.items() if code not in _DERIVED
}


class Market:
    def __init__(self, rng: random.Random) -> None:
        self._paths: dict[tuple[str, int], array[float]] = {}
        self._closes: dict[tuple[str, int], float] = {}
        self._shapes: dict[str, tuple[float, float, float, float]] = {}
        self._anchors: dict[str, Anchor] = {}
        self._seed = 0
        self._policy_rate = 0.0
        self._reseed(rng.getrandbits(64))

    def _reseed(self, seed: int) -> None:
        self._seed = seed
        self._paths.clear()
        self._closes.clear()
        self._shapes.clear()
        self._anchors.clear()
        shape = random.Random(f"{seed}:policy")
        self._policy_rate = shape.randrange(int(SYMBOLS["POLICY"].low * 2), int(SYMBOLS["POLICY"].high * 2) + 1) / 2

    @classmethod
    def from_state(cls, state: MarketState) -> Market:
        """The market that `state` was read from, going on from its levels."""
        market = cls(random.Random(0))
        market._reseed(state.seed)
        if state.as_of is None:
            return market
        policy = SYMBOLS["POLICY"]
        if "POLICY" in state.levels:
            market._policy_rate = min(max(state.levels["POLICY"], policy.low), policy.high)
        for code, level in state.levels.items():
            spec = WALKED.get(code)
            if spec is None:
                continue  # a symbol this version no longer has
            moment, model = market._level(spec, state.as_of)
            if model > 0 and level != model:
                market._anchors[code] = Anchor(moment, math.log(level / model))
        return market

    def state(self, now: datetime) -> MarketState:
        """The seed and every walked level at `now`: enough for `from_state` to go on from here."""
        levels = {code: self._level(spec, now)[1] for code, spec in WALKED.items()}
        levels["POLICY"] = self._policy_rate
        return MarketState(self._seed, now, levels)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(SYMBOLS)

    def knows(self, symbol: str) -> bool:
        return symbol in SYMBOLS

    def macro_facts(self) -> MacroFacts:
        return MacroFacts()  # the simulation invents no inflation print and no meeting date

    def quote(self, symbol: str, now: datetime) -> Quote:
        if symbol == "POLICY":
            return Quote(symbol, self._policy_rate, self._policy_rate, False)
        if symbol == "GRAM":
            ons, usd = self.quote("ONS", now), self.quote("USDTRY", now)
            factor = 1.0 / TROY_OUNCE_GRAMS
            return Quote(
                symbol, ons.price * usd.price * factor, _reference(ons) * _reference(usd) * factor, usd.is_open
            )
        if symbol == "EURTRY":
            eur, usd = self._raw(EURUSD, now), self.quote("USDTRY", now)
            return Quote(symbol, eur.price * usd.price, _reference(eur) * _reference(usd), usd.is_open)
        spec = SYMBOLS[symbol]
        own = self._raw(spec, now)
        if not spec.beta:
            return own
        # A BIST stock moves with the index: scale its own path by the index level.
        index = self._raw(SYMBOLS["XU100"], now)
        return Quote(
            symbol,
            own.price * (index.price / _XU100_PIVOT) ** spec.beta,
            _reference(own) * (_reference(index) / _XU100_PIVOT) ** spec.beta,
            own.is_open,
        )

    def direction(self, symbol: str, now: datetime) -> Direction:
        return self.quote(symbol, now).direction or "flat"  # the simulated market always knows the change

    # -- the walk -------------------------------------------------------------

    def _raw(self, spec: Symbol, now: datetime) -> Quote:
        day, fraction, is_open = _session_position(spec, istanbul(now))
        previous = _previous_session(spec, day)
        price = self._walk(spec, day, fraction) * self._anchor(spec.code, day.toordinal() + fraction)
        start = self._close(spec, previous) * self._anchor(spec.code, previous.toordinal() + 1.0)
        return Quote(spec.code, _clamp(spec, price), _clamp(spec, start), is_open)

    def _level(self, spec: Symbol, now: datetime) -> tuple[float, float]:
        """(session coordinate, unclamped level) of a walked symbol at `now`, anchors applied."""
        day, fraction, _ = _session_position(spec, istanbul(now))
        moment = day.toordinal() + fraction
        return moment, self._walk(spec, day, fraction) * self._anchor(spec.code, moment)

    def _anchor(self, code: str, moment: float) -> float:
        anchor = self._anchors.get(code)
        return anchor.factor(moment) if anchor is not None else 1.0

    def _walk(self, spec: Symbol, day: date, fraction: float) -> float:
        """The model's level, before anchors and the band's clamp."""
        start, end = self._close(spec, _previous_session(spec, day)), self._close(spec, day)
        path = self._path(spec, day.toordinal())
        offset = path[round(fraction * (len(path) - 1))]
        # Brownian bridge: pinned to 0 at the open and to the day's move at the close.
        return start * math.exp(offset + fraction * math.log(end / start))

    def _close(self, spec: Symbol, day: date) -> float:
        n = day.toordinal()
        key = (spec.code, n)
        close = self._closes.get(key)
        if close is None:
            close = _remember(self._closes, key, self._compute_close(spec, n), _CLOSES_KEPT)
        return close

    def _compute_close(self, spec: Symbol, n: int) -> float:
        if spec.code not in self._shapes:
            shape = random.Random(f"{self._seed}:{spec.code}:shape")
            self._shapes[spec.code] = (
                shape.uniform(40, 120),
                shape.uniform(7, 25),
                shape.uniform(0, math.tau),
                shape.uniform(0, math.tau),
            )
        long_period, short_period, phase1, phase2 = self._shapes[spec.code]
        wave = (
            math.sin(math.tau * n / long_period + phase1) + 0.5 * math.sin(math.tau * n / short_period + phase2)
        ) / 1.5
        centre = math.sqrt(spec.low * spec.high)
        half_width = math.log(spec.high / spec.low) / 2 * 0.75
        shock = random.Random(f"{self._seed}:{spec.code}:{n}:close").gauss(0.0, spec.daily_vol * 0.7)
        shock = max(-2.5 * spec.daily_vol, min(2.5 * spec.daily_vol, shock))
        return centre * math.exp(half_width * wave + shock)

    def _path(self, spec: Symbol, day: int) -> array[float]:
        key = (spec.code, day)
        path = self._paths.get(key)
        if path is None:
            steps = 480 if spec.session == "bist" else 1440
            walk = random.Random(f"{self._seed}:{spec.code}:{day}:path")
            sigma = spec.daily_vol * 0.6 / math.sqrt(steps)
            points = [0.0]
            for _ in range(steps):
                points.append(points[-1] + walk.gauss(0.0, sigma))
            last = points[-1]
            path = _remember(
                self._paths, key, array("d", (p - last * i / steps for i, p in enumerate(points))), _PATHS_KEPT
            )
        return path


def _remember(cache: dict[K, V], key: K, value: V, kept: int) -> V:
    """Add to an insertion-ordered cache, dropping its oldest entries beyond `kept`."""
    cache[key] = value
    while len(cache) > kept:
        del cache[next(iter(cache))]
    return value


def _reference(quote: Quote) -> float:
    """A simulated quote's previous close (it always has one)."""
    return quote.price if quote.previous_close is None else quote.previous_close


def _clamp(spec: Symbol, price: float) -> float:
    return min(max(price, spec.low), spec.high)


def _trades_on(spec: Symbol, day: date) -> bool:
    if spec.session == "crypto":
        return True
    if spec.session == "bist":
        return bist_calendar.is_trading_day(day)  # Turkish public holidays too
    return day.weekday() < 5


def _previous_session(spec: Symbol, day: date) -> date:
    day -= timedelta(days=1)
    while not _trades_on(spec, day):
        day -= timedelta(days=1)
    return day


def _session_position(spec: Symbol, local: datetime) -> tuple[date, float, bool]:
    """(session day, fraction of it elapsed, open?) for Istanbul time `local`."""
    today, clock = local.date(), local.time()
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    if not _trades_on(spec, today):
        return _previous_session(spec, today), 1.0, False
    if spec.session != "bist":
        return today, seconds / 86400, True
    hours = bist_calendar.session(today)
    assert hours is not None  # a trading day has a session
    open_s, close_s = (moment.hour * 3600 + moment.minute * 60 for moment in hours)  # a half day closes at 12:30
    if seconds < open_s:
        return _previous_session(spec, today), 1.0, False
    if seconds >= close_s:
        return today, 1.0, False
    return today, (seconds - open_s) / (close_s - open_s), True
