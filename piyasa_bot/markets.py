"""The market the bots speak from, as bots.yaml's `market.mode` chooses: simulated or live.

    market = await open_market(pool, roster.market, rng)
    composer = Composer(market.view, ...)
    market.start()      # the simulated market saves its state; the live one fetches its sources
    ...
    await market.close()

Simulated (the default): the seeded market of conversation/market.py, kept
across restarts by MarketKeeper; no network. Live: the configured sources
fetched into one LiveMarket (quotes/). Either way the policy rate is the
operator's when `market.macro.policy_rate` is set.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.registry import Collector

from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.quote import MacroFacts, MarketView, Quote
from piyasa_bot.market_config import Macro, MarketConfig, News
from piyasa_bot.market_keeper import MarketKeeper
from piyasa_bot.news.desk import NewsDesk
from piyasa_bot.quotes.live_market import LiveMarket, macro_facts
from piyasa_bot.quotes.metrics import QuoteCollector
from piyasa_bot.quotes.poller import QuotePoller, rules_of, utc_now

USER_AGENT = "piyasa_bot (+https://github.com/piyasa-bot)"


class WithMacro:
    """A simulated market with the operator's macro facts (bots.yaml): its policy rate, inflation, PPK date."""

    def __init__(self, market: Market, macro: Macro) -> None:
        self.market = market
        self.macro = macro

    def knows(self, symbol: str) -> bool:
        return self.market.knows(symbol)

    def macro_facts(self) -> MacroFacts:
        return macro_facts(self.macro)

    def quote(self, symbol: str, now: datetime) -> Quote | None:
        if symbol == "POLICY" and self.macro.policy_rate is not None:
            rate = self.macro.policy_rate
            return Quote("POLICY", rate, rate, False)
        return self.market.quote(symbol, now)


@dataclass(frozen=True)
class OpenMarket:
    view: MarketView
    keeper: MarketKeeper | None = None  # simulated
    poller: QuotePoller | None = None  # live
    web: aiohttp.ClientSession | None = None  # live: the sources' HTTP session

    @property
    def collectors(self) -> Sequence[Collector]:
        if self.poller is None or not isinstance(self.view, LiveMarket):
            return ()
        return (QuoteCollector(self.view, self.poller, utc_now),)

    def prices(self, clock: Callable[[], datetime] = utc_now) -> Callable[[str], float | None]:
        """Symbol code -> its price now (None when there is no fresh quote): what the simulated people quote."""

        def price(code: str) -> float | None:
            quote = self.view.quote(code, clock())
            return quote.price if quote is not None else None

        return price

    def simulated_state(self, now: datetime) -> dict[str, Any] | None:
        """The simulated market's state as JSON, for a process that must quote the same figures; None when live."""
        return self.keeper.market.state(now).to_json() if self.keeper is not None else None

    def start(self) -> None:
        if self.keeper is not None:
            self.keeper.start()  # saved now and then, so that even a crash resumes near its levels
        if self.poller is not None:
            self.poller.start()

    async def close(self) -> None:
        if self.poller is not None:
            await self.poller.close()
        if self.web is not None:
            await self.web.close()
        if self.keeper is not None:
            await self.keeper.close()


async def open_market(pool: asyncpg.Pool, config: MarketConfig, rng: random.Random) -> OpenMarket:
    if config.mode == "simulated":
        # The stored market if there is one: a restart quotes the levels the last run quoted.
        keeper = await MarketKeeper.open(pool, rng)
        view: MarketView = (
            WithMacro(keeper.market, config.macro) if config.macro.policy_rate is not None else keeper.market
        )
        return OpenMarket(view, keeper=keeper)
    live = LiveMarket(rules_of(config.sources), config.macro)
    web = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
    poller = QuotePoller(live, config.sources, web, pool)
    await poller.restore()  # the last good values, used while they are fresh
    return OpenMarket(live, poller=poller, web=web)


class OpenNews(NewsDesk):
    """The news desk with the HTTP session it owns."""

    async def close(self) -> None:
        await super().close()
        await self.session.close()


async def open_news(pool: asyncpg.Pool, config: News, rng: random.Random) -> NewsDesk | None:
    """The news desk for bots.yaml's feeds, loaded from the database; None without feeds."""
    if not config.feeds:
        return None
    desk = OpenNews(pool, config, aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}), rng)
    await desk.load()
    return desk
