"""The quote sources fetched into the live market: a real PostgreSQL, a local server in the sources' formats."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from piyasa_bot.commands.status import read_snapshot
from piyasa_bot.commands.status_text import snapshot_text
from piyasa_bot.db.pool import open_pool
from piyasa_bot.market_config import MarketConfig
from piyasa_bot.quotes.live_market import LiveMarket
from piyasa_bot.quotes.metrics import QuoteCollector
from piyasa_bot.quotes.poller import QuotePoller, rules_of
from tests.log_capture import capture_log_lines  # noqa: F401  # the log_lines fixture
from tests.market_sources import FakeSources, serving

pytestmark = pytest.mark.timeout(60)


def config(base: str) -> MarketConfig:
    return MarketConfig.model_validate(
        {
            "mode": "live",
            "sources": [
                {"name": "tcmb", "kind": "tcmb", "url": f"{base}/kurlar/today.xml"},
                {"name": "binance", "kind": "binance", "url": base, "symbols": {"BTC": "BTCUSDT", "ETH": "ETHUSDT"}},
                {"name": "yahoo", "kind": "yahoo", "url": base, "symbols": {"XU100": "XU100.IS", "ONS": "GC=F"}},
            ],
        }
    )


@pytest.fixture
async def sources() -> AsyncIterator[FakeSources]:
    async with serving(FakeSources()) as fake:
        yield fake


def logged(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


async def test_every_source_lands_in_the_one_market_and_in_the_database(dsn: str, sources: FakeSources) -> None:
    settings = config(sources.base)
    pool = await open_pool(dsn)
    try:
        async with aiohttp.ClientSession() as web:
            market = LiveMarket(rules_of(settings.sources))
            poller = QuotePoller(market, settings.sources, web, pool)
            for source in settings.sources:
                assert await poller.poll_once(source)
            now = datetime.now(UTC)
            usd, btc, index = (market.quote(code, now) for code in ("USDTRY", "BTC", "XU100"))
            assert usd is not None and usd.price == pytest.approx(42.3518)
            assert btc is not None and btc.price == pytest.approx(97_315.5) and btc.direction == "up"
            assert index is not None and index.price == pytest.approx(10_412.35)
            assert market.quote("GRAM", now) is not None  # ons x dollar
            # A restart starts from the stored values.
            again = LiveMarket(rules_of(settings.sources))
            await QuotePoller(again, settings.sources, web, pool).restore()
            restored = again.quote("BTC", now)
            assert restored is not None and restored.price == pytest.approx(97_315.5)
    finally:
        await pool.close()


@pytest.mark.parametrize("how", ["html", "empty", "down"])
async def test_a_failing_source_keeps_its_last_good_value_is_logged_once_and_shown_in_status(
    dsn: str, sources: FakeSources, how: str, log_lines: io.StringIO
) -> None:
    settings = config(sources.base)
    binance = settings.sources[1]
    pool = await open_pool(dsn)
    try:
        async with aiohttp.ClientSession() as web:
            market = LiveMarket(rules_of(settings.sources))
            poller = QuotePoller(market, settings.sources, web, pool)
            assert await poller.poll_once(binance)
            sources.fail("binance", how)  # type: ignore[arg-type]
            sources.crypto["BTCUSDT"] = (1.0, 1.0)  # what a broken answer must not bring in
            for _ in range(3):
                assert not await poller.poll_once(binance)
            quote = market.quote("BTC", datetime.now(UTC))
            assert quote is not None and quote.price == pytest.approx(97_315.5)
            failed = [line for line in logged(log_lines) if line["event"] == "quotes.source_failed"]
            assert len(failed) == 1 and failed[0]["source"] == "binance"
            assert poller.states["binance"].failures == 3 and not poller.states["binance"].up
            async with pool.acquire() as conn:
                snapshot = await read_snapshot(conn)
            assert snapshot is not None
            text = "\n".join(snapshot_text(snapshot))
            assert "QUOTE SOURCES" in text and "binance" in text
            row = next(s for s in snapshot.quote_sources if s.name == "binance")
            assert row.failures == 3 and row.last_error
            sources.heal("binance")
            assert await poller.poll_once(binance)
            assert any(line["event"] == "quotes.source_recovered" for line in logged(log_lines))
    finally:
        await pool.close()


async def test_a_price_of_zero_is_rejected_by_name_and_the_bots_keep_the_good_one(
    dsn: str, sources: FakeSources, log_lines: io.StringIO
) -> None:
    settings = config(sources.base)
    tcmb = settings.sources[0]
    pool = await open_pool(dsn)
    try:
        async with aiohttp.ClientSession() as web:
            market = LiveMarket(rules_of(settings.sources))
            poller = QuotePoller(market, settings.sources, web, pool)
            assert await poller.poll_once(tcmb)
            sources.fail("tcmb_price", "zero")
            await poller.poll_once(tcmb)
            quote = market.quote("USDTRY", datetime.now(UTC))
            assert quote is not None and quote.price == pytest.approx(42.3518)
            problems = [
                line for line in logged(log_lines) if line["event"] in ("quotes.rejected", "quotes.source_failed")
            ]
            assert problems and all(line["source"] == "tcmb" for line in problems)
    finally:
        await pool.close()


async def test_metrics_show_each_quotes_age_and_each_sources_health(dsn: str, sources: FakeSources) -> None:
    settings = config(sources.base)
    sources.crypto_time = datetime.now(UTC) - timedelta(minutes=10)  # older than Binance's 5-minute bound
    async with aiohttp.ClientSession() as web:
        market = LiveMarket(rules_of(settings.sources))
        poller = QuotePoller(market, settings.sources, web, None)
        for source in settings.sources:
            await poller.poll_once(source)
        sources.fail("yahoo", "down")
        await poller.poll_once(settings.sources[2])
        registry = CollectorRegistry()
        registry.register(QuoteCollector(market, poller, lambda: datetime.now(UTC)))
        text = generate_latest(registry).decode()
    assert 'piyasa_quote_fresh{symbol="BTC"} 0.0' in text  # stale: no number in the chat
    assert 'piyasa_quote_fresh{symbol="USDTRY"} 1.0' in text
    age = next(line for line in text.splitlines() if line.startswith('piyasa_quote_age_seconds{symbol="BTC"}'))
    assert float(age.split()[-1]) >= 600
    assert 'piyasa_quote_source_up{source="yahoo"} 0.0' in text
    assert 'piyasa_quote_source_failures_total{source="yahoo"} 1.0' in text
