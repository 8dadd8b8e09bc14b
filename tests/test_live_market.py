"""The live market's one cache: a quote is "now" only while fresh, a close is a close, bad data is not news."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.symbols import TROY_OUNCE_GRAMS
from piyasa_bot.market_config import Macro
from piyasa_bot.quotes.live_market import LiveMarket, SourceRule
from piyasa_bot.quotes.observation import Observation

RULES = {
    "binance": SourceRule(300),
    "yahoo": SourceRule(1800),
    "tcmb": SourceRule(4 * 86400, daily=True),
}


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """Istanbul time in December 2026 (1 Dec is a Tuesday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=ISTANBUL)


def seen(market: LiveMarket, symbol: str, price: float, when: datetime, source: str, previous: float | None = None,
         received: datetime | None = None) -> str | None:  # fmt: skip
    return market.observe(Observation(symbol, price, previous, when, source), received or when)


def test_a_crypto_quote_is_now_while_younger_than_its_bound_then_there_is_none() -> None:
    market = LiveMarket(RULES)
    assert seen(market, "BTC", 97_000, at(1, 12), "binance", previous=95_000) is None
    quote = market.quote("BTC", at(1, 12, 4))
    assert quote is not None and quote.price == 97_000 and quote.is_open
    assert quote.direction == "up"
    assert market.quote("BTC", at(1, 12, 6)) is None  # 6 minutes old: the bots say it without a number


def test_bist_during_the_session_then_its_close_after_it() -> None:
    market = LiveMarket(RULES)
    seen(market, "XU100", 10_400, at(1, 17, 59), "yahoo", previous=10_350, received=at(1, 18, 5))
    during = market.quote("XU100", at(1, 17, 59))
    assert during is not None and during.is_open
    evening = market.quote("XU100", at(1, 21))
    assert evening is not None and not evening.is_open and evening.price == 10_400  # the last close, as a close
    weekend = market.quote("XU100", at(5, 14))  # Saturday: Wednesday to Friday traded since Tuesday
    assert weekend is None  # the sessions since were never seen: no figure rather than an old one


def test_a_mid_session_price_is_never_passed_off_as_the_close() -> None:
    market = LiveMarket(RULES)
    seen(market, "XU100", 10_400, at(1, 15), "yahoo", previous=10_350)  # then the source went quiet
    assert market.quote("XU100", at(1, 15, 20)) is not None
    assert market.quote("XU100", at(1, 19)) is None


def test_over_a_public_holiday_the_close_before_it_is_the_last_close() -> None:
    market = LiveMarket(RULES)
    # Wednesday 28 October 2026 is a half day (close 12:30); the 29th is Cumhuriyet Bayramı.
    seen(market, "XU100", 10_100, at(28, 12, 29, month=10), "yahoo", previous=10_000, received=at(28, 13, month=10))
    holiday = market.quote("XU100", at(29, 11, month=10))
    assert holiday is not None and not holiday.is_open and holiday.price == 10_100


def test_the_cbrt_rate_holds_until_the_next_bulletin_is_due_and_yesterdays_is_its_reference() -> None:
    market = LiveMarket(RULES)
    seen(market, "USDTRY", 42.10, at(30, 15, 30, month=11), "tcmb")  # Monday's bulletin
    seen(market, "USDTRY", 42.35, at(1, 15, 30), "tcmb")  # Tuesday's
    tuesday = market.quote("USDTRY", at(1, 16))
    assert tuesday is not None and tuesday.price == 42.35
    assert tuesday.previous_close == 42.10 and tuesday.direction == "up"
    assert market.quote("USDTRY", at(2, 12)) is not None  # Wednesday morning: Tuesday's is the latest
    assert market.quote("USDTRY", at(2, 18)) is None  # Wednesday's bulletin is due and never came


def test_a_first_bulletin_has_a_level_but_no_change() -> None:
    market = LiveMarket(RULES)
    seen(market, "USDTRY", 42.35, at(1, 15, 30), "tcmb")
    quote = market.quote("USDTRY", at(1, 16))
    assert quote is not None and quote.direction is None and not quote.change_known


def test_gram_gold_is_derived_from_ons_and_the_dollar() -> None:
    market = LiveMarket(RULES)
    seen(market, "ONS", 4_000, at(1, 15, 50), "yahoo", previous=3_950)
    seen(market, "USDTRY", 42.35, at(1, 15, 30), "tcmb")
    gram = market.quote("GRAM", at(1, 16))
    assert gram is not None
    assert gram.price == pytest.approx(4_000 * 42.35 / TROY_OUNCE_GRAMS)
    assert gram.previous_close is None  # the dollar's change is not known yet, so neither is gram's


def test_the_policy_rate_is_the_operators_or_none() -> None:
    assert LiveMarket(RULES).quote("POLICY", at(1, 12)) is None
    quote = LiveMarket(RULES, Macro(policy_rate=38.5)).quote("POLICY", at(1, 12))
    assert quote is not None and quote.price == 38.5


@pytest.mark.parametrize(
    ("price", "reason"),
    [(0.0, "price"), (float("nan"), "price"), (150_000.0, "moved +55%"), (40_000.0, "moved -59%")],
)
def test_bad_data_is_rejected_and_the_previous_good_value_stays(price: float, reason: str) -> None:
    market = LiveMarket(RULES)
    seen(market, "BTC", 97_000, at(1, 12), "binance", previous=95_000)
    rejected = seen(market, "BTC", price, at(1, 12, 1), "binance", previous=95_000)
    assert rejected is not None and reason in rejected
    quote = market.quote("BTC", at(1, 12, 2))
    assert quote is not None and quote.price == 97_000


def test_the_freshest_source_wins_when_two_quote_one_symbol() -> None:
    market = LiveMarket(RULES)
    seen(market, "USDTRY", 42.35, at(1, 15, 30), "tcmb")
    seen(market, "USDTRY", 42.41, at(1, 16, 10), "yahoo", previous=42.30)
    quote = market.quote("USDTRY", at(1, 16, 11))
    assert quote is not None and quote.price == 42.41
    assert market.ages(at(1, 16, 11))["USDTRY"] == pytest.approx(60)


def test_restored_quotes_are_judged_as_fresh_or_stale_like_any_other() -> None:
    before = LiveMarket(RULES)
    seen(before, "BTC", 97_000, at(1, 12), "binance", previous=95_000)
    after = LiveMarket(RULES)
    after.restore(before.held())
    assert after.quote("BTC", at(1, 12, 1)) is not None
    assert after.quote("BTC", at(1, 12, 1) + timedelta(minutes=10)) is None
