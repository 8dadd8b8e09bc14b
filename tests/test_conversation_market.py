"""The simulated market and Turkish number formatting."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.symbols import canonical, find_symbols, watchlist_codes
from piyasa_bot.conversation.turkish import casual_lower, compare_key, format_number, format_percent

MONDAY = datetime(2025, 3, 3, 0, 0, tzinfo=ISTANBUL)


@pytest.mark.parametrize(
    "value,decimals,text",
    [
        (9845.2, 2, "9.845,20"),
        (38.4567, 2, "38,46"),
        (97450.4, 0, "97.450"),
        (1234567.891, 2, "1.234.567,89"),
        (0.5, 2, "0,50"),
    ],
)
def test_turkish_numbers(value: float, decimals: int, text: str) -> None:
    assert format_number(value, decimals) == text


def test_turkish_percent() -> None:
    assert format_percent(1.3456) == "%1,35"
    assert format_percent(-0.2) == "%0,20"
    assert format_percent(46, 0) == "%46"


BANDS = {
    "XU100": (9000, 11000),
    "USDTRY": (34, 42),
    "GRAM": (3000, 4500),
    "ONS": (2600, 3500),
    "BTC": (60000, 130000),
    "ETH": (2000, 5000),
    "SOL": (100, 300),
    "BRENT": (55, 90),
    "POLICY": (40, 50),
    "EURTRY": (36, 49),
}


def test_prices_stay_in_plausible_bands_for_a_month() -> None:
    market = Market(random.Random(1))
    for hour in range(0, 24 * 30, 5):
        now = MONDAY + timedelta(hours=hour)
        for symbol, (low, high) in BANDS.items():
            assert low <= market.quote(symbol, now).price <= high, (symbol, now)


def test_same_seed_same_prices_whatever_the_order_of_questions() -> None:
    times = [MONDAY + timedelta(hours=h, minutes=13) for h in range(0, 72, 5)]
    first, second = Market(random.Random(7)), Market(random.Random(7))
    forward = [first.quote("BTC", t).price for t in times]
    backward = [second.quote("BTC", t).price for t in reversed(times)]
    assert forward == backward[::-1]
    assert Market(random.Random(8)).quote("BTC", times[0]).price != forward[0]


def test_a_session_opens_where_the_last_one_closed() -> None:
    market = Market(random.Random(2))
    tuesday_open = datetime(2025, 3, 4, 10, 0, tzinfo=ISTANBUL)
    monday_close = datetime(2025, 3, 3, 18, 30, tzinfo=ISTANBUL)
    assert market.quote("XU100", tuesday_open).price == pytest.approx(
        market.quote("XU100", monday_close).price, rel=1e-9
    )
    assert abs(market.quote("XU100", tuesday_open).change_percent) < 1e-6
    before = market.quote("BTC", datetime(2025, 3, 4, 23, 59, tzinfo=ISTANBUL)).price
    after = market.quote("BTC", datetime(2025, 3, 5, 0, 0, tzinfo=ISTANBUL)).price
    assert after == pytest.approx(before, rel=0.005)


def test_bist_is_closed_at_night_and_at_the_weekend_crypto_never() -> None:
    market = Market(random.Random(3))
    saturday = datetime(2025, 3, 8, 13, 0, tzinfo=ISTANBUL)
    assert not market.quote("XU100", saturday).is_open
    assert not market.quote("XU100", datetime(2025, 3, 4, 21, 0, tzinfo=ISTANBUL)).is_open
    assert market.quote("XU100", datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)).is_open
    assert market.quote("BTC", saturday).is_open
    # Friday's close is the weekend's price.
    friday_close = datetime(2025, 3, 7, 18, 0, tzinfo=ISTANBUL)
    assert market.quote("XU100", saturday).price == market.quote("XU100", friday_close).price


def test_cross_rates_agree_with_their_legs() -> None:
    market = Market(random.Random(4))
    now = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    gram = market.quote("GRAM", now).price
    assert gram == pytest.approx(market.quote("ONS", now).price * market.quote("USDTRY", now).price / 31.1035)


def test_symbol_detection_with_turkish_suffixes() -> None:
    assert find_symbols("BTC'de ne var, dolara ne olur?") == ["BTC", "USDTRY"]
    assert find_symbols("altının gram fiyatı") == ["GRAM"]
    assert find_symbols("9.800 altında kapanış") == []  # "altında" is "below", not gold
    assert find_symbols("sola dön, SOL uçuyor") == ["SOL"]
    assert find_symbols("ons altın ve bist'te durum") == ["ONS", "XU100"]
    assert watchlist_codes(["BIST100", "gold", "btc", "AAPL", "XU100"]) == ["XU100", "GRAM", "BTC"]
    assert canonical("THYAO") == "THYAO" and canonical("nope") is None


def test_turkish_casing_and_comparison_keys() -> None:
    assert casual_lower("BIST İyi, Işık THYAO") == "bist iyi, ışık thyao"
    assert compare_key("BIST %1,35 artıda! 🚀") == compare_key("bist %2,10 ARTIDA.")


def test_the_market_memory_stays_flat_over_months_and_forgetting_changes_no_price() -> None:
    market = Market(random.Random(21))
    first_day = {symbol: market.quote(symbol, MONDAY + timedelta(hours=12)).price for symbol in BANDS}

    def quote_days(days: range) -> None:
        for day in days:
            for symbol in BANDS:
                market.quote(symbol, MONDAY + timedelta(days=day, hours=12))

    tracemalloc.start()
    try:
        quote_days(range(15))
        after_15_days = tracemalloc.get_traced_memory()[0]
        quote_days(range(15, 45))
        after_45_days = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_45_days - after_15_days < 256 * 1024  # a month more of quotes: no growth beyond noise
    assert {symbol: market.quote(symbol, MONDAY + timedelta(hours=12)).price for symbol in BANDS} == first_day
