"""fetch_body and the URL builders against a local server replaying recorded source bodies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.quotes.fetch import (
    ACCEPT_JSON,
    ACCEPT_XML,
    MAX_BODY,
    USER_AGENT,
    binance_url,
    describe,
    fetch_body,
    tcmb_url,
    yahoo_url,
)
from piyasa_bot.quotes.observation import SourceError
from piyasa_bot.quotes.parsers import parse_binance_24hr, parse_tcmb, parse_yahoo_chart

DATA = Path(__file__).parent / "data" / "quotes"
FIVE_MB = 5 * 1024 * 1024
TIMEOUT = 0.3
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeSources:
    """TCMB, Binance and Yahoo paths answering recorded bodies, and paths that misbehave."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.release = asyncio.Event()  # slow answers wait for this; only the teardown sets it
        self.base = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/kurlar/today.xml", self.recorded("tcmb_today.xml", "text/xml"))
        app.router.add_get("/api/v3/ticker/24hr", self.recorded("binance_24hr.json", "application/json"))
        app.router.add_get("/v8/finance/chart/{ticker}", self.recorded("yahoo_chart_thyao.json", "application/json"))
        app.router.add_get("/missing", self.recorded("html_404.html", "text/html", status=404))
        app.router.add_get("/portal", self.recorded("html_404.html", "text/html"))
        app.router.add_get("/unavailable", self.unavailable)
        app.router.add_get("/empty", self.empty)
        app.router.add_get("/truncated", self.truncated)
        app.router.add_get("/huge", self.huge)
        app.router.add_get("/endless", self.endless)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/stalls", self.stalls)
        return app

    def recorded(self, name: str, content_type: str, status: int = 200) -> Handler:
        body = (DATA / name).read_bytes()

        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests.append(request)
            return web.Response(body=body, status=status, content_type=content_type)

        return handle

    async def unavailable(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="upstream busy", status=503)

    async def empty(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"", content_type="application/json")

    async def truncated(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=(DATA / "binance_24hr.json").read_bytes()[:300], content_type="application/json")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b" " * FIVE_MB, content_type="application/json")

    async def endless(self, request: web.Request) -> web.StreamResponse:
        """5 MB in chunks with no Content-Length: only reading tells how big it is."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(FIVE_MB // 65536):
                await response.write(b"[" * 65536)
        except ConnectionResetError:  # the client stopped reading, as it should
            pass
        return response

    async def slow(self, request: web.Request) -> web.StreamResponse:
        await self.release.wait()
        return web.json_response([])

    async def stalls(self, request: web.Request) -> web.StreamResponse:
        """Headers and a first part at once, the rest never."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'[{"symbol":"BTCUSDT",')
        await self.release.wait()
        return response

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def host(self) -> str:
        """Host and port, as an error message names the server."""
        return self.base.removeprefix("http://")


@pytest.fixture
async def sources() -> AsyncIterator[FakeSources]:
    fake = FakeSources()
    server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await server.start_server()
    fake.base = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        fake.release.set()  # let a handler still waiting finish before the server closes
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def failure(session: aiohttp.ClientSession, url: str, accept: str = ACCEPT_JSON, **bounds: float) -> str:
    with pytest.raises(SourceError) as caught:
        await fetch_body(session, url, timeout=bounds.get("timeout", TIMEOUT), accept=accept, **_size(bounds))
    return str(caught.value)


def _size(bounds: dict[str, float]) -> dict[str, int]:
    return {"max_bytes": int(bounds["max_bytes"])} if "max_bytes" in bounds else {}


# Recorded answers, end to end through the parsers


async def test_tcmb_bulletin_is_fetched_and_parsed(sources: FakeSources, session: aiohttp.ClientSession) -> None:
    body = await fetch_body(session, tcmb_url(sources.url("/kurlar/today.xml")), timeout=TIMEOUT, accept=ACCEPT_XML)

    [usd] = parse_tcmb(body, source="tcmb", wanted={"USDTRY": "USD"})
    assert usd.price == 36.5169
    [request] = sources.requests
    assert request.headers["Accept"] == ACCEPT_XML and request.headers["User-Agent"] == USER_AGENT


async def test_binance_tickers_are_asked_for_in_one_request(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    url = binance_url(sources.base, ["BTCUSDT", "ETHUSDT"])

    body = await fetch_body(session, url, timeout=TIMEOUT, accept=ACCEPT_JSON)

    btc, eth = parse_binance_24hr(body, source="binance", wanted={"BTC": "BTCUSDT", "ETH": "ETHUSDT"})
    assert (btc.price, eth.price) == (91450.43, 2155.15)
    [request] = sources.requests
    assert request.query["symbols"] == '["BTCUSDT","ETHUSDT"]'


async def test_yahoo_chart_is_asked_for_the_ticker_and_the_day(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    body = await fetch_body(session, yahoo_url(sources.base + "/", "THYAO.IS"), timeout=TIMEOUT, accept=ACCEPT_JSON)

    assert parse_yahoo_chart(body, source="yahoo", symbol="THYAO").price == 301.25
    [request] = sources.requests
    assert request.match_info["ticker"] == "THYAO.IS"
    assert (request.query["range"], request.query["interval"]) == ("1d", "5m")


async def test_a_ticker_with_url_characters_reaches_the_source_intact(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    await fetch_body(session, yahoo_url(sources.base, "GC=F"), timeout=TIMEOUT, accept=ACCEPT_JSON)
    await fetch_body(session, yahoo_url(sources.base, "^XU100"), timeout=TIMEOUT, accept=ACCEPT_JSON)

    assert [request.match_info["ticker"] for request in sources.requests] == ["GC=F", "^XU100"]


# Answers that are no quote


async def test_an_html_error_page_is_reported_by_its_status(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    assert await failure(session, sources.url("/missing"), ACCEPT_XML) == f"{sources.host}/missing answered 404"


async def test_a_server_error_is_reported_by_its_status(sources: FakeSources, session: aiohttp.ClientSession) -> None:
    assert await failure(session, sources.url("/unavailable")) == f"{sources.host}/unavailable answered 503"


async def test_an_html_page_with_status_200_is_not_taken_for_json(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    message = await failure(session, sources.url("/portal"))

    assert message == f"{sources.host}/portal answered HTML (text/html), not application/json"


async def test_an_empty_answer_reaches_the_parser_which_names_it(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    body = await fetch_body(session, sources.url("/empty"), timeout=TIMEOUT, accept=ACCEPT_JSON)

    with pytest.raises(SourceError, match="^binance: answered an empty body, not JSON$"):
        parse_binance_24hr(body, source="binance", wanted={"BTC": "BTCUSDT"})


async def test_truncated_json_reaches_the_parser_which_says_where(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    body = await fetch_body(session, sources.url("/truncated"), timeout=TIMEOUT, accept=ACCEPT_JSON)

    with pytest.raises(SourceError, match="^binance: malformed JSON at line 1 column 292$"):
        parse_binance_24hr(body, source="binance", wanted={"BTC": "BTCUSDT"})


async def test_a_body_declared_larger_than_the_bound_is_refused_unread(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    message = await failure(session, sources.url("/huge"))

    assert message == f"{sources.host}/huge answered {FIVE_MB} bytes, more than the {MAX_BODY} allowed"


async def test_an_undeclared_body_is_dropped_once_it_passes_the_bound(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    message = await failure(session, sources.url("/endless"), max_bytes=256 * 1024, timeout=10)

    assert message == f"{sources.host}/endless answered more than the 262144 bytes allowed"


async def test_a_source_that_does_not_answer_in_time_is_given_up(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    assert await failure(session, sources.url("/slow")) == f"{sources.host}/slow: no answer within 0.3 s"


async def test_the_deadline_covers_a_body_that_stops_half_way(
    sources: FakeSources, session: aiohttp.ClientSession
) -> None:
    assert await failure(session, sources.url("/stalls")) == f"{sources.host}/stalls: no answer within 0.3 s"


async def test_a_source_that_refuses_the_connection_is_reported(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    message = await failure(session, f"http://127.0.0.1:{port}/kurlar/today.xml")

    assert message == f"127.0.0.1:{port}/kurlar/today.xml: request failed (ClientConnectorError)"


# Secrets in configured URLs


@pytest.mark.parametrize("path", ["/unavailable", "/slow", "/portal"])
async def test_no_message_carries_the_query_string_or_the_userinfo(
    sources: FakeSources, session: aiohttp.ClientSession, path: str
) -> None:
    port = sources.base.rsplit(":", 1)[1]
    url = f"http://proxyuser:hunter2-pass@127.0.0.1:{port}{path}?apikey=SECRET-KEY-123&symbol=BTC#frag"

    message = await failure(session, url)

    assert message.startswith(f"127.0.0.1:{port}{path}")
    for secret in ("hunter2", "proxyuser", "SECRET-KEY-123", "apikey", "frag"):
        assert secret not in message


def test_describe_names_host_and_path_only() -> None:
    assert describe("https://u:p@www.tcmb.gov.tr:443/kurlar/today.xml?k=v") == "www.tcmb.gov.tr/kurlar/today.xml"
    assert describe("not a url") == "the source"


# URL builders


def test_the_builders_point_at_the_real_sources_by_default() -> None:
    assert tcmb_url() == "https://www.tcmb.gov.tr/kurlar/today.xml"
    assert binance_url("https://api.binance.com", ["BTCUSDT", "SOLUSDT"]) == (
        "https://api.binance.com/api/v3/ticker/24hr?symbols=%5B%22BTCUSDT%22,%22SOLUSDT%22%5D"
    )
    assert yahoo_url("https://query1.finance.yahoo.com", "GC=F") == (
        "https://query1.finance.yahoo.com/v8/finance/chart/GC%3DF?range=1d&interval=5m"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: tcmb_url("www.tcmb.gov.tr/kurlar/today.xml"), "must start with http:// or https://"),
        (lambda: binance_url("https://api.binance.com", []), "at least one symbol"),
        (lambda: binance_url("https://api.binance.com", ["btc usdt"]), "'btc usdt' is not a Binance symbol"),
        (lambda: yahoo_url("ftp://query1.finance.yahoo.com", "THYAO.IS"), "must start with http:// or https://"),
        (lambda: yahoo_url("https://query1.finance.yahoo.com", " "), "needs a ticker"),
    ],
    ids=["no-scheme", "no-symbols", "bad-symbol", "bad-scheme", "no-ticker"],
)
def test_a_bad_configuration_is_refused_when_the_url_is_built(build: Callable[[], str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
