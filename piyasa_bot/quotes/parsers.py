"""A source's body to observations: TCMB's today.xml, Binance's 24hr ticker, Yahoo's v8 chart.

Pure functions of the bytes a source answered. Every way a body can fail to
be a quote (an HTML error page, nothing, broken XML or JSON, a symbol
missing, a price that is not a positive number, no time) raises
`SourceError` with a message that starts with the source's name and says
what was wrong and where. Text the source sent is quoted only shortened.

XML is read with the standard library but refused outright when it declares
a DOCTYPE or an ENTITY: no quote document needs one, and that is how entity
expansion attacks ("billion laughs") arrive.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any, NoReturn
from xml.parsers import expat

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.quotes.observation import Observation, SourceError

# CBRT fixes and announces its indicative rates at 15:30 Istanbul time; that is the moment they describe.
TCMB_BULLETIN_TIME = time(15, 30)
_QUOTED = 60  # at most this many characters of text the source sent go into a message


def parse_tcmb(body: bytes, *, source: str, wanted: Mapping[str, str]) -> list[Observation]:
    """CBRT today.xml -> one observation per `wanted` entry (our code -> currency Kod: {"USDTRY": "USD"}).

    The price is ForexSelling per one unit of the currency (JPY is quoted per 100): the selling rate
    is what someone buying the currency pays, the side people mean when they say "dolar 36,52".
    The bulletin has no previous close: yesterday's is another file.
    """
    root = _xml(body, source)
    if root.tag != "Tarih_Date":
        raise SourceError(f"{source}: XML root is <{_short(root.tag)}>, not <Tarih_Date>")
    as_of = _bulletin_time(root, source)
    currencies = {element.get("Kod"): element for element in root.iter("Currency")}
    observations = []
    for code, kod in wanted.items():
        currency = currencies.get(kod)
        if currency is None:
            raise SourceError(f"{source}: no {kod} in the bulletin")
        unit = _positive(_child_text(currency, "Unit", kod, source), f"{kod} Unit", source)
        selling = _positive(_child_text(currency, "ForexSelling", kod, source), f"{kod} ForexSelling", source)
        observations.append(Observation(code, selling / unit, None, as_of, source))
    return observations


def parse_binance_24hr(body: bytes, *, source: str, wanted: Mapping[str, str]) -> list[Observation]:
    """/api/v3/ticker/24hr (a list for `symbols=[...]`, an object for `symbol=`) -> one observation per `wanted`.

    `wanted` maps our code to the exchange's symbol ({"BTC": "BTCUSDT"}). Crypto trades around the
    clock, so the previous close is the price 24 hours ago (openPrice): the change is the 24h change,
    which is the change crypto sites show. as_of is the window's closeTime.
    """
    document = _json(body, source)
    if isinstance(document, dict) and "code" in document and "msg" in document:
        raise SourceError(f"{source}: answered error {_short(document['code'])}: {_short(document['msg'])}")
    tickers = [document] if isinstance(document, dict) else document
    if not isinstance(tickers, list):
        raise SourceError(f"{source}: JSON is a {type(document).__name__}, not a list of tickers")
    by_symbol = {t["symbol"]: t for t in tickers if isinstance(t, dict) and isinstance(t.get("symbol"), str)}
    observations = []
    for code, symbol in wanted.items():
        ticker = by_symbol.get(symbol)
        if ticker is None:
            raise SourceError(f"{source}: no {symbol} in the answer")
        price = _positive(ticker.get("lastPrice"), f"{symbol} lastPrice", source)
        opened = _positive(ticker.get("openPrice"), f"{symbol} openPrice", source)
        as_of = _epoch(ticker.get("closeTime"), 1000, f"{symbol} closeTime", source)
        observations.append(Observation(code, price, opened, as_of, source))
    return observations


def parse_yahoo_chart(body: bytes, *, source: str, symbol: str) -> Observation:
    """/v8/finance/chart/<ticker>?range=1d -> the observation of our `symbol` from the chart's meta.

    The previous close is meta.previousClose (the last session's close, what "today's change" is
    measured from), else chartPreviousClose (the close before the chart's first bar: the same day
    for range=1d); None when neither is there. as_of is regularMarketTime, the last trade's time.
    """
    document = _json(body, source)
    chart = document.get("chart") if isinstance(document, dict) else None
    if not isinstance(chart, dict):
        raise SourceError(f"{source}: no chart object in the JSON")
    error = chart.get("error")
    if error:
        detail = (error.get("description") or error.get("code")) if isinstance(error, dict) else error
        raise SourceError(f"{source}: answered error for {symbol}: {_short(detail)}")
    results = chart.get("result")
    first = results[0] if isinstance(results, list) and results else None
    meta = first.get("meta") if isinstance(first, dict) else None
    if not isinstance(meta, dict):
        raise SourceError(f"{source}: no chart.result[0].meta for {symbol}")
    price = _positive(meta.get("regularMarketPrice"), f"{symbol} regularMarketPrice", source)
    previous = meta.get("previousClose")
    if previous is None:
        previous = meta.get("chartPreviousClose")
    previous_close = None if previous is None else _positive(previous, f"{symbol} previousClose", source)
    as_of = _epoch(meta.get("regularMarketTime"), 1, f"{symbol} regularMarketTime", source)
    return Observation(symbol, price, previous_close, as_of, source)


def _xml(body: bytes, source: str) -> ET.Element:
    _refuse_unusable(body, source, "XML")
    _refuse_declarations(body, source)
    try:
        return ET.fromstring(body)
    except ET.ParseError as error:
        line, column = error.position
        raise SourceError(f"{source}: malformed XML at line {line} column {column + 1}") from None


def _refuse_declarations(body: bytes, source: str) -> None:
    """Runs expat over the body first, stopping at a DOCTYPE or ENTITY before anything is expanded."""

    def refuse(*_: object) -> NoReturn:
        raise SourceError(f"{source}: XML declares a DOCTYPE or ENTITY, refused")

    scanner = expat.ParserCreate()
    scanner.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    scanner.StartDoctypeDeclHandler = refuse
    scanner.EntityDeclHandler = refuse
    try:
        scanner.Parse(body, True)
    except expat.ExpatError as error:
        raise SourceError(f"{source}: malformed XML at line {error.lineno} column {error.offset + 1}") from None


def _json(body: bytes, source: str) -> Any:
    _refuse_unusable(body, source, "JSON")
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise SourceError(f"{source}: malformed JSON at line {error.lineno} column {error.colno}") from None
    except UnicodeDecodeError:
        raise SourceError(f"{source}: JSON is not UTF-8 text") from None


def _refuse_unusable(body: bytes, source: str, expected: str) -> None:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024].lower()
    if not head:
        raise SourceError(f"{source}: answered an empty body, not {expected}")
    # An XHTML page may open with an XML declaration, so look for <html past it, not only at the start.
    if head.startswith(b"<") and (head.startswith(b"<!doctype html") or b"<html" in head):
        raise SourceError(f"{source}: answered HTML, not {expected}")


def _bulletin_time(root: ET.Element, source: str) -> datetime:
    for attribute, layout in (("Tarih", "%d.%m.%Y"), ("Date", "%m/%d/%Y")):
        text = root.get(attribute)
        if text is None:
            continue
        try:
            day = datetime.strptime(text.strip(), layout).date()
        except ValueError:
            raise SourceError(f"{source}: bulletin {attribute} {_short(repr(text))} is not a date") from None
        return datetime.combine(day, TCMB_BULLETIN_TIME, ISTANBUL)
    raise SourceError(f"{source}: the bulletin has no date (Tarih or Date)")


def _child_text(parent: ET.Element, tag: str, kod: str, source: str) -> str:
    text = parent.findtext(tag)
    if text is None or not text.strip():
        raise SourceError(f"{source}: {kod} has no {tag}")
    return text.strip()


def _positive(value: object, what: str, source: str) -> float:
    """A finite price above zero, from a JSON number or a decimal string (Binance sends strings)."""
    if value is None:
        raise SourceError(f"{source}: {what} is missing")
    number = _number(value)
    if number is None:
        raise SourceError(f"{source}: {what} is not a number ({_short(repr(value))})")
    if not math.isfinite(number) or number <= 0:
        raise SourceError(f"{source}: {what} is {number}, not a positive price")
    return number


def _number(value: object) -> float | None:
    if isinstance(value, bool):  # JSON true is no price, though Python counts it as 1
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _epoch(value: object, per_second: int, what: str, source: str) -> datetime:
    if value is None:
        raise SourceError(f"{source}: {what} is missing")
    number = None if isinstance(value, str) else _number(value)
    if number is None or not math.isfinite(number):
        raise SourceError(f"{source}: {what} is not a time ({_short(repr(value))})")
    try:
        return datetime.fromtimestamp(number / per_second, UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceError(f"{source}: {what} {number:g} is out of range") from None


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= _QUOTED else text[: _QUOTED - 1] + "…"
