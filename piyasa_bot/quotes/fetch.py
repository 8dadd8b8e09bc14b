"""One HTTP GET to a quote source, bounded in time and size, and the sources' URLs.

`fetch_body` returns the body of a 2xx answer or raises `SourceError`: another
status, no answer within the deadline (connect to last byte), a failed
connection, an HTML page where JSON or XML was asked for, or a body larger
than `max_bytes` (read in chunks, so a huge or endless answer is dropped
once the bound is passed, after decompression too). Messages name the
source by host and path only: a configured URL may carry a key in its query
string or a proxy's password in its userinfo, and aiohttp's own errors,
which echo the whole URL, are neither quoted nor chained.

The URL builders take the base from the configuration, so that a mirror or
a local fake can stand in for the real source; the real ones are the
module's constants.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp
from yarl import URL

from piyasa_bot.quotes.observation import SourceError

MAX_BODY = 2 * 1024 * 1024  # quotes are small: today.xml is ~20 KB, a chart of a day ~30 KB
TCMB_URL = "https://www.tcmb.gov.tr/kurlar/today.xml"
BINANCE_BASE = "https://api.binance.com"
YAHOO_BASE = "https://query1.finance.yahoo.com"
ACCEPT_JSON = "application/json"
ACCEPT_XML = "application/xml, text/xml"
# Yahoo answers 429 to clients that send no browser-like agent; the product token says who we are.
USER_AGENT = "Mozilla/5.0 (compatible; piyasa-bot/0.1)"
_CHUNK = 64 * 1024
_BINANCE_SYMBOL = re.compile(r"[A-Z0-9_.-]{1,20}")  # the exchange's own symbol pattern


async def fetch_body(
    session: aiohttp.ClientSession, url: str, *, timeout: float, max_bytes: int = MAX_BODY, accept: str
) -> bytes:
    """The body of a 2xx answer to GET `url`, at most `max_bytes`, within `timeout` seconds."""
    where = describe(url)
    headers = {"Accept": accept, "User-Agent": USER_AGENT}
    try:
        async with asyncio.timeout(timeout), session.get(url, headers=headers) as response:
            if not 200 <= response.status < 300:
                raise SourceError(f"{where} answered {response.status}")
            if "html" in response.content_type and "html" not in accept:
                raise SourceError(f"{where} answered HTML ({response.content_type}), not {accept}")
            declared = response.content_length
            if declared is not None and declared > max_bytes:
                raise SourceError(f"{where} answered {declared} bytes, more than the {max_bytes} allowed")
            return await _read_bounded(response, max_bytes, where)
    except TimeoutError:
        raise SourceError(f"{where}: no answer within {timeout:g} s") from None
    except aiohttp.ClientError as error:
        raise SourceError(f"{where}: request failed ({type(error).__name__})") from None
    except ValueError:  # a malformed host or port that aiohttp's URL parser refuses
        raise SourceError(f"{where}: a malformed URL") from None


async def _read_bounded(response: aiohttp.ClientResponse, max_bytes: int, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(f"{where} answered more than the {max_bytes} bytes allowed")
        chunks.append(chunk)
    return b"".join(chunks)


def describe(url: str) -> str:
    """Host and path of `url`, what a message may say about it: never its query, userinfo or fragment."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return "the source"
    if not parsed.host:
        return "the source"
    port = "" if parsed.is_default_port() else f":{parsed.port}"
    return f"{parsed.host}{port}{parsed.path}"


def tcmb_url(base: str = TCMB_URL) -> str:
    """CBRT's bulletin: `base` is the whole file's URL (the bulletin has no query)."""
    return _checked(base)


def binance_url(base: str, symbols: Sequence[str]) -> str:
    """The 24hr tickers of `symbols` ("BTCUSDT"...) in one request: symbols=["A","B"], JSON without spaces."""
    if not symbols:
        raise ValueError("binance_url needs at least one symbol")
    for symbol in symbols:
        if not _BINANCE_SYMBOL.fullmatch(symbol):
            raise ValueError(f"{symbol!r} is not a Binance symbol (upper-case letters and digits)")
    listed = json.dumps(list(symbols), separators=(",", ":"))
    return f"{_checked(base).rstrip('/')}/api/v3/ticker/24hr?symbols={quote(listed, safe=',')}"


def yahoo_url(base: str, ticker: str) -> str:
    """The day's 5-minute chart of `ticker` ("THYAO.IS", "GC=F", "^XU100"); its meta holds the quote."""
    if not ticker.strip():
        raise ValueError("yahoo_url needs a ticker")
    return f"{_checked(base).rstrip('/')}/v8/finance/chart/{quote(ticker, safe='')}?range=1d&interval=5m"


def _checked(base: str) -> str:
    if not base.startswith(("http://", "https://")):
        raise ValueError("a source URL must start with http:// or https://")
    return base
