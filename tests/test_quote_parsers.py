"""The parsers on bodies recorded in each source's own format, the ways a body goes wrong, and the sanity rules."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.quotes.observation import Observation, SourceError
from piyasa_bot.quotes.parsers import parse_binance_24hr, parse_tcmb, parse_yahoo_chart
from piyasa_bot.quotes.sanity import implausible

DATA = Path(__file__).parent / "data" / "quotes"
TCMB = (DATA / "tcmb_today.xml").read_bytes()
BINANCE = (DATA / "binance_24hr.json").read_bytes()
THYAO = (DATA / "yahoo_chart_thyao.json").read_bytes()
HTML_404 = (DATA / "html_404.html").read_bytes()
FX = {"USDTRY": "USD", "EURTRY": "EUR"}
CRYPTO = {"BTC": "BTCUSDT", "ETH": "ETHUSDT", "SOL": "SOLUSDT"}
BULLETIN = datetime(2025, 3, 4, 15, 30, tzinfo=ISTANBUL)


def tcmb_error(body: bytes, wanted: dict[str, str] = FX) -> str:
    with pytest.raises(SourceError) as caught:
        parse_tcmb(body, source="tcmb", wanted=wanted)
    return str(caught.value)


def binance_error(body: bytes, wanted: dict[str, str] = CRYPTO) -> str:
    with pytest.raises(SourceError) as caught:
        parse_binance_24hr(body, source="binance", wanted=wanted)
    return str(caught.value)


def yahoo_error(body: bytes) -> str:
    with pytest.raises(SourceError) as caught:
        parse_yahoo_chart(body, source="yahoo", symbol="THYAO")
    return str(caught.value)


def yahoo_meta_changed(**changes: object) -> bytes:
    document = json.loads(THYAO)
    meta = document["chart"]["result"][0]["meta"]
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return json.dumps(document).encode()


# TCMB today.xml


def test_tcmb_bulletin_gives_the_forex_selling_rate_at_the_bulletin_time() -> None:
    observations = parse_tcmb(TCMB, source="tcmb", wanted=FX)

    assert observations == [
        Observation("USDTRY", 36.5169, None, BULLETIN, "tcmb"),
        Observation("EURTRY", 38.4212, None, BULLETIN, "tcmb"),
    ]
    assert observations[0].as_of == datetime(2025, 3, 4, 12, 30, tzinfo=UTC)


def test_tcmb_yen_quoted_per_100_becomes_the_rate_of_one_yen() -> None:
    [yen] = parse_tcmb(TCMB, source="tcmb", wanted={"JPYTRY": "JPY"})

    assert yen.price == pytest.approx(0.245530)


def test_tcmb_bulletin_with_only_the_english_date_still_has_its_time() -> None:
    body = TCMB.replace(b'Tarih="04.03.2025" ', b"")

    [usd] = parse_tcmb(body, source="tcmb", wanted={"USDTRY": "USD"})

    assert usd.as_of == BULLETIN


@pytest.mark.parametrize(
    ("body", "wanted", "message"),
    [
        (HTML_404, FX, "tcmb: answered HTML, not XML"),
        (b"", FX, "tcmb: answered an empty body, not XML"),
        (b" \r\n\t", FX, "tcmb: answered an empty body, not XML"),
        (TCMB[:1500], FX, "tcmb: malformed XML at line 41 column 24"),
        (b'<?xml version="1.0"?><rates><USD>36.5</USD></rates>', FX, "tcmb: XML root is <rates>, not <Tarih_Date>"),
        (TCMB, {"CHFTRY": "CHF"}, "tcmb: no CHF in the bulletin"),
        (TCMB, {"XDRTRY": "XDR"}, "tcmb: XDR has no ForexSelling"),
        (TCMB.replace(b"36.5169", b"36,5169"), FX, "tcmb: USD ForexSelling is not a number ('36,5169')"),
        (TCMB.replace(b"36.5169", b"0.0000"), FX, "tcmb: USD ForexSelling is 0.0, not a positive price"),
        (TCMB.replace(b"36.5169", b"NaN"), FX, "tcmb: USD ForexSelling is nan, not a positive price"),
        (TCMB.replace(b"<Unit>1</Unit>", b"<Unit>0</Unit>", 1), FX, "tcmb: USD Unit is 0.0, not a positive price"),
        (TCMB.replace(b'Tarih="04.03.2025" Date="03/04/2025"', b""), FX, "tcmb: the bulletin has no date"),
        (TCMB.replace(b'Tarih="04.03.2025"', b'Tarih="2025-03-04"'), FX, "tcmb: bulletin Tarih '2025-03-04' is not"),
    ],
    ids=[
        "html",
        "empty",
        "whitespace",
        "truncated",
        "other-xml",
        "missing-currency",
        "no-selling-rate",
        "comma-decimal",
        "zero",
        "nan",
        "zero-unit",
        "no-date",
        "bad-date",
    ],
)
def test_tcmb_body_that_is_no_bulletin_is_refused_with_the_reason(
    body: bytes, wanted: dict[str, str], message: str
) -> None:
    assert tcmb_error(body, wanted).startswith(message)


def test_tcmb_entity_expansion_is_refused_before_anything_expands() -> None:
    laughs = b'<!ENTITY a0 "ha">' + b"".join(
        b'<!ENTITY a%d "&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;">' % (i, *[i - 1] * 10) for i in range(1, 10)
    )
    body = b'<?xml version="1.0"?><!DOCTYPE Tarih_Date [' + laughs + b']><Tarih_Date Tarih="&a9;"/>'
    started = time.monotonic()

    message = tcmb_error(body)

    assert message == "tcmb: XML declares a DOCTYPE or ENTITY, refused"
    assert time.monotonic() - started < 1.0


def test_tcmb_external_entity_is_refused_and_no_file_is_read() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Tarih_Date Tarih="&x;"/>'

    message = tcmb_error(body)

    assert message == "tcmb: XML declares a DOCTYPE or ENTITY, refused"
    assert "root" not in message


# Binance /api/v3/ticker/24hr


def test_binance_list_gives_last_price_against_the_price_24_hours_ago() -> None:
    btc, eth, sol = parse_binance_24hr(BINANCE, source="binance", wanted=CRYPTO)

    assert btc == Observation("BTC", 91450.43, 93681.98, datetime(2025, 3, 4, 13, 0, 0, 123000, tzinfo=UTC), "binance")
    assert (eth.symbol, eth.price, eth.previous_close) == ("ETH", 2155.15, 2279.51)
    assert (sol.symbol, sol.price, sol.previous_close) == ("SOL", 138.39, 146.66)


def test_binance_single_ticker_object_is_read_too() -> None:
    body = (DATA / "binance_24hr_single.json").read_bytes()

    [btc] = parse_binance_24hr(body, source="binance", wanted={"BTC": "BTCUSDT"})

    assert (btc.price, btc.previous_close) == (91450.43, 93681.98)


def binance_changed(field: str, value: object) -> bytes:
    tickers = json.loads(BINANCE)
    if value is None:
        del tickers[0][field]
    else:
        tickers[0][field] = value
    return json.dumps(tickers).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HTML_404, "binance: answered HTML, not JSON"),
        (b"", "binance: answered an empty body, not JSON"),
        (BINANCE[:700], "binance: malformed JSON at line 1 column 694"),
        ((DATA / "binance_error.json").read_bytes(), "binance: answered error -1121: Invalid symbol."),
        (b'"BTCUSDT"', "binance: JSON is a str, not a list of tickers"),
        (BINANCE.replace(b'"SOLUSDT"', b'"SOLBUSD"'), "binance: no SOLUSDT in the answer"),
        (binance_changed("lastPrice", "0.00000000"), "binance: BTCUSDT lastPrice is 0.0, not a positive price"),
        (binance_changed("lastPrice", "-5"), "binance: BTCUSDT lastPrice is -5.0, not a positive price"),
        (binance_changed("lastPrice", True), "binance: BTCUSDT lastPrice is not a number (True)"),
        (binance_changed("lastPrice", None), "binance: BTCUSDT lastPrice is missing"),
        (BINANCE.replace(b'"91450.43000000"', b"Infinity", 1), "binance: BTCUSDT lastPrice is inf, not a positive"),
        (binance_changed("openPrice", "yok"), "binance: BTCUSDT openPrice is not a number ('yok')"),
        (binance_changed("closeTime", None), "binance: BTCUSDT closeTime is missing"),
        (binance_changed("closeTime", "1741093200123"), "binance: BTCUSDT closeTime is not a time"),
        (binance_changed("closeTime", 10**30), "binance: BTCUSDT closeTime 1e+30 is out of range"),
    ],
    ids=[
        "html",
        "empty",
        "truncated",
        "error-answer",
        "not-a-list",
        "missing-symbol",
        "zero",
        "negative",
        "bool",
        "no-price",
        "infinite",
        "bad-open",
        "no-time",
        "time-as-text",
        "time-out-of-range",
    ],
)
def test_binance_body_that_is_no_ticker_is_refused_with_the_reason(body: bytes, message: str) -> None:
    assert binance_error(body).startswith(message)


def test_a_long_value_from_the_source_is_quoted_shortened() -> None:
    message = binance_error(binance_changed("lastPrice", "x" * 10_000))

    assert message.startswith("binance: BTCUSDT lastPrice is not a number ('xxx")
    assert len(message) < 150


# Yahoo /v8/finance/chart


def test_yahoo_chart_gives_the_regular_market_price_against_the_previous_close() -> None:
    observation = parse_yahoo_chart(THYAO, source="yahoo", symbol="THYAO")

    assert observation == Observation("THYAO", 301.25, 297.5, datetime(2025, 3, 4, 12, 54, 37, tzinfo=UTC), "yahoo")


def test_yahoo_chart_without_previous_close_uses_the_chart_previous_close() -> None:
    body = (DATA / "yahoo_chart_xu100.json").read_bytes()

    observation = parse_yahoo_chart(body, source="yahoo", symbol="XU100")

    assert (observation.symbol, observation.price, observation.previous_close) == ("XU100", 9745.21, 9812.34)


def test_yahoo_chart_without_any_previous_close_has_none() -> None:
    body = yahoo_meta_changed(previousClose=None, chartPreviousClose=None)

    assert parse_yahoo_chart(body, source="yahoo", symbol="THYAO").previous_close is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HTML_404, "yahoo: answered HTML, not JSON"),
        (b"", "yahoo: answered an empty body, not JSON"),
        (THYAO[:400], "yahoo: malformed JSON at line 1 column 385"),
        (
            (DATA / "yahoo_error.json").read_bytes(),
            "yahoo: answered error for THYAO: No data found, symbol may be delisted",
        ),
        (b'{"finance": {"result": null}}', "yahoo: no chart object in the JSON"),
        (b'{"chart": {"result": [], "error": null}}', "yahoo: no chart.result[0].meta for THYAO"),
        (yahoo_meta_changed(regularMarketPrice=None), "yahoo: THYAO regularMarketPrice is missing"),
        (yahoo_meta_changed(regularMarketPrice=0), "yahoo: THYAO regularMarketPrice is 0.0, not a positive price"),
        (yahoo_meta_changed(previousClose=-1), "yahoo: THYAO previousClose is -1.0, not a positive price"),
        (yahoo_meta_changed(regularMarketTime=None), "yahoo: THYAO regularMarketTime is missing"),
    ],
    ids=[
        "html",
        "empty",
        "truncated",
        "error-answer",
        "no-chart",
        "no-result",
        "no-price",
        "zero",
        "bad-close",
        "no-time",
    ],
)
def test_yahoo_body_that_is_no_chart_is_refused_with_the_reason(body: bytes, message: str) -> None:
    assert yahoo_error(body).startswith(message)


# Sanity: what is not news

NOW = datetime(2025, 3, 4, 13, 0, tzinfo=UTC)
GOOD = Observation("BTC", 90000.0, 92000.0, NOW - timedelta(minutes=2), "binance")


def later(minutes: float, price: float, previous_close: float | None = 92000.0) -> Observation:
    return Observation("BTC", price, previous_close, GOOD.as_of + timedelta(minutes=minutes), "binance")


def test_a_parsed_quote_and_an_ordinary_move_are_believed() -> None:
    [usd] = parse_tcmb(TCMB, source="tcmb", wanted={"USDTRY": "USD"})

    assert implausible(usd, None, BULLETIN + timedelta(hours=3)) is None
    assert implausible(later(1, 87000.0), GOOD, NOW) is None
    assert implausible(later(1, 134000.0), GOOD, NOW) is None  # +49%: wild, but not proof of a bad feed


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (later(0, 0.0), "BTC price 0.0 is not a positive number"),
        (later(0, -1.0), "BTC price -1.0 is not a positive number"),
        (later(0, math.nan), "BTC price nan is not a positive number"),
        (later(0, math.inf), "BTC price inf is not a positive number"),
        (later(0, 90000.0, previous_close=0.0), "BTC previous close 0.0 is not a positive number"),
        (later(0, 90000.0, previous_close=math.nan), "BTC previous close nan is not a positive number"),
    ],
    ids=["zero", "negative", "nan", "inf", "zero-close", "nan-close"],
)
def test_a_price_that_is_not_a_positive_number_is_rejected(new: Observation, reason: str) -> None:
    assert implausible(new, None, NOW) == reason


def test_a_quote_from_the_future_is_rejected_but_a_little_clock_drift_is_not() -> None:
    drifted = Observation("BTC", 90000.0, None, NOW + timedelta(minutes=4), "binance")
    ahead = Observation("BTC", 90000.0, None, NOW + timedelta(minutes=6), "binance")

    assert implausible(drifted, None, NOW) is None
    assert implausible(ahead, None, NOW) == (
        "BTC is dated 2025-03-04T13:06:00+00:00, ahead of now 2025-03-04T13:00:00+00:00"
    )


def test_a_jump_of_more_than_half_within_the_hour_is_a_bad_feed() -> None:
    assert implausible(later(1, 9000.0), GOOD, NOW) == "BTC moved -90% (90000 -> 9000) in 1 min"
    an_hour_on = NOW + timedelta(hours=1)
    assert implausible(later(59, 136000.0), GOOD, an_hour_on) == "BTC moved +51% (90000 -> 136000) in 59 min"


def test_a_jump_after_more_than_an_hour_is_believed() -> None:
    assert implausible(later(61, 9000.0), GOOD, NOW + timedelta(hours=1)) is None


def test_an_older_observation_far_from_the_last_good_one_is_judged_by_the_gap_between_them() -> None:
    earlier = Observation("BTC", 30000.0, None, GOOD.as_of - timedelta(minutes=10), "binance")

    assert implausible(earlier, GOOD, NOW) == "BTC moved -67% (90000 -> 30000) in 10 min"
