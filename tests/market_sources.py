"""A local stand-in for the CBRT, Binance and Yahoo: their recorded bodies, with today's prices and times.

The bodies are the recorded ones in tests/data/quotes (the sources' real
formats); only the fields a test sets are rewritten (a price, a time), so
the parsers read exactly what the real sources send. A source can be made
to misbehave (`fail`): answer an HTML error page, an empty body, a price of
0. Serves news feeds too (`feeds`), from tests/data/news.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.quotes.live_market import latest_bulletin

QUOTES = Path(__file__).parent / "data" / "quotes"
NEWS = Path(__file__).parent / "data" / "news"
Failure = Literal["html", "empty", "zero", "down"]


class FakeSources:
    def __init__(self) -> None:
        self.bulletin_day = latest_bulletin(datetime.now(UTC))  # the one the CBRT would serve now
        self.usd_selling = 42.3518
        self.eur_selling = 49.1204
        self.crypto: dict[str, tuple[float, float]] = {"BTCUSDT": (97_315.5, 95_002.0), "ETHUSDT": (3_412.2, 3_390.0)}
        self.crypto_time = datetime.now(UTC)
        self.charts: dict[str, tuple[float, float]] = {"XU100.IS": (10_412.35, 10_380.0), "GC=F": (4_012.5, 3_990.0)}
        self.chart_time = datetime.now(UTC)
        self.failing: dict[str, Failure] = {}  # "tcmb" | "binance" | "yahoo" -> how
        self.feeds: dict[str, bytes] = {}  # path -> body
        self.requests: list[str] = []
        self.base = ""

    def fail(self, source: str, how: Failure) -> None:
        self.failing[source] = how

    def heal(self, source: str) -> None:
        self.failing.pop(source, None)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/kurlar/today.xml", self._tcmb)
        app.router.add_get("/api/v3/ticker/24hr", self._binance)
        app.router.add_get("/v8/finance/chart/{ticker}", self._yahoo)
        app.router.add_get("/news/{name}", self._feed)
        return app

    # -- the sources ------------------------------------------------------------------

    async def _tcmb(self, request: web.Request) -> web.StreamResponse:
        self.requests.append("tcmb")
        failed = self._failure("tcmb")
        if failed is not None:
            return failed
        body = (QUOTES / "tcmb_today.xml").read_text(encoding="utf-8")
        day = istanbul(self.bulletin_day)
        body = re.sub(r'Tarih="[^"]*"', f'Tarih="{day:%d.%m.%Y}"', body, count=1)
        body = re.sub(r'Date="[^"]*"', f'Date="{day:%m/%d/%Y}"', body, count=1)
        usd = "0" if self.failing.get("tcmb_price") == "zero" else f"{self.usd_selling:.4f}"
        body = _set_selling(body, "USD", usd)
        body = _set_selling(body, "EUR", f"{self.eur_selling:.4f}")
        return web.Response(body=body.encode(), content_type="text/xml")

    async def _binance(self, request: web.Request) -> web.StreamResponse:
        self.requests.append("binance")
        failed = self._failure("binance")
        if failed is not None:
            return failed
        recorded = json.loads((QUOTES / "binance_24hr.json").read_text(encoding="utf-8"))
        wanted = set(json.loads(request.query.get("symbols", "[]")))
        millis = int(self.crypto_time.timestamp() * 1000)
        out = []
        for item in recorded:
            if item["symbol"] in self.crypto and (not wanted or item["symbol"] in wanted):
                last, opened = self.crypto[item["symbol"]]
                item.update(lastPrice=f"{last:.8f}", openPrice=f"{opened:.8f}", closeTime=millis)
                out.append(item)
        return web.json_response(out)

    async def _yahoo(self, request: web.Request) -> web.StreamResponse:
        ticker = request.match_info["ticker"]
        self.requests.append(f"yahoo:{ticker}")
        failed = self._failure("yahoo")
        if failed is not None:
            return failed
        if ticker not in self.charts:
            return web.json_response(json.loads((QUOTES / "yahoo_error.json").read_text()), status=404)
        recorded: dict[str, Any] = json.loads((QUOTES / "yahoo_chart_xu100.json").read_text(encoding="utf-8"))
        meta = recorded["chart"]["result"][0]["meta"]
        price, previous = self.charts[ticker]
        meta.update(symbol=ticker, regularMarketPrice=price, chartPreviousClose=previous)
        meta.update(regularMarketTime=int(self.chart_time.timestamp()))
        meta.pop("previousClose", None)
        return web.json_response(recorded)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"news:{request.match_info['name']}")
        body = self.feeds.get(request.match_info["name"])
        if body is None:
            return web.Response(body=(QUOTES / "html_404.html").read_bytes(), status=404, content_type="text/html")
        return web.Response(body=body, content_type="application/rss+xml")

    def _failure(self, source: str) -> web.StreamResponse | None:
        how = self.failing.get(source)
        if how == "html":
            return web.Response(body=(QUOTES / "html_404.html").read_bytes(), status=404, content_type="text/html")
        if how == "empty":
            return web.Response(body=b"", content_type="application/json")
        if how == "down":
            return web.Response(status=503, text="Service Unavailable")
        return None


def has_number(text: str) -> bool:
    """A figure in a bot's text, beyond the digits in a symbol's own name ("BIST 100", "BIST30")."""
    names = sorted({name for spec in SYMBOLS.values() for name in (*spec.spoken, spec.code)}, key=len, reverse=True)
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return bool(re.search(r"\d", text))


def _set_selling(body: str, code: str, value: str) -> str:
    pattern = re.compile(rf'(Kod="{code}".*?<ForexSelling>)[^<]*(</ForexSelling>)', re.S)
    return pattern.sub(lambda m: m.group(1) + value + m.group(2), body, count=1)


@asynccontextmanager
async def serving(sources: FakeSources) -> AsyncIterator[FakeSources]:
    server = TestServer(sources.app(), host="127.0.0.1")
    await server.start_server()
    sources.base = str(server.make_url("")).rstrip("/")
    try:
        yield sources
    finally:
        await server.close()


def market_yaml(base: str, *, every: float = 5, feeds: dict[str, str] | None = None, share: float = 0.0) -> str:
    """bots.yaml's market section with every source pointed at `base` (a FakeSources)."""
    lines = [
        "market:",
        "  mode: live",
        "  sources:",
        f"    - {{name: tcmb, kind: tcmb, url: '{base}/kurlar/today.xml', every_seconds: {every}}}",
        f"    - {{name: binance, kind: binance, url: '{base}', every_seconds: {every},"
        " symbols: {BTC: BTCUSDT, ETH: ETHUSDT}}",
        f"    - {{name: yahoo, kind: yahoo, url: '{base}', every_seconds: {every},"
        " symbols: {XU100: XU100.IS, ONS: GC=F}}",
        "  macro: {policy_rate: 38.5, inflation: 31.2, inflation_month: '2026-11', next_mpc: 2026-12-25}",
    ]
    if feeds:
        lines += ["  news:", f"    share: {share}", "    every_seconds: 60", "    feeds:"]
        lines += [f"      - {{name: {name}, url: '{base}/news/{path}'}}" for name, path in feeds.items()]
    return "\n".join(lines) + "\n"
