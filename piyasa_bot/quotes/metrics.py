"""The live market on /metrics: each quote's age and whether it is fresh, each source's health.

Read at scrape time from the market and the poller, like the runner's own
metrics (metrics_collector.py): nothing here is updated on the fetching path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from piyasa_bot.quotes.live_market import LiveMarket
from piyasa_bot.quotes.poller import QuotePoller


class QuoteCollector(Collector):
    def __init__(self, market: LiveMarket, poller: QuotePoller, clock: Callable[[], datetime]) -> None:
        self.market = market
        self.poller = poller
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        age = GaugeMetricFamily(
            "piyasa_quote_age_seconds", "Seconds since the newest quote of a symbol was current", labels=["symbol"]
        )
        fresh = GaugeMetricFamily(
            "piyasa_quote_fresh",
            "1 when the bots quote this symbol with numbers now, 0 without",
            labels=["symbol"],
        )
        for symbol, seconds in sorted(self.market.ages(now).items()):
            age.add_metric([symbol], seconds)
            fresh.add_metric([symbol], int(self.market.quote(symbol, now) is not None))
        yield age
        yield fresh
        up = GaugeMetricFamily("piyasa_quote_source_up", "1 when the source's last fetch was good", labels=["source"])
        failures = CounterMetricFamily(
            "piyasa_quote_source_failures", "Fetches of a source that failed", labels=["source"]
        )
        rejected = CounterMetricFamily(
            "piyasa_quote_rejected", "Values a source gave that were not news (and were not used)", labels=["source"]
        )
        for name, state in sorted(self.poller.states.items()):
            up.add_metric([name], int(state.up))
            failures.add_metric([name], state.failed_fetches)
            rejected.add_metric([name], state.rejected)
        yield up
        yield failures
        yield rejected
