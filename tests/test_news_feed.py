"""News feeds: recorded RSS and Atom bodies become clean headlines, hostile ones are refused item by item or whole.

The fetch runs against a local aiohttp server serving the same recorded bodies.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.news.feed import MAX_TITLE, FeedError, ParsedFeed, clean_title, fetch_feed, parse_feed
from piyasa_bot.quotes.observation import SourceError

DATA = Path(__file__).parent / "data" / "news"
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)
TWO_DAYS = timedelta(days=2)


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


def parse(name: str, *, source: str = "feed", now: datetime = NOW, body: bytes | None = None) -> ParsedFeed:
    return parse_feed(recorded(name) if body is None else body, source=source, now=now, max_age=TWO_DAYS)


def one_item_feed(pub_date: str, title: str = "Borsa güne yükselişle başladı") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{title}</title><guid>https://h.example/1</guid><pubDate>{pub_date}</pubDate></item>"
        "</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- parse_feed: good feeds


def test_an_aa_style_rss_feed_gives_its_recent_headlines_as_plain_text() -> None:
    result = parse("aa_ekonomi.xml", source="aa_ekonomi")

    assert [h.title for h in result.headlines] == [
        "Merkez Bankası rezervleri 164,5 milyar dolara yükseldi",
        "Borsa güne yükselişle başladı",
        "Dolar/TL güne 36,45 seviyesinden başladı",
        'Gram altın & ons altında yeni zirve: "güvenli liman" talebi sürüyor',
    ]
    first = result.headlines[0]
    assert first.published == datetime(2025, 3, 4, 10, 30, tzinfo=ISTANBUL)
    assert first.published.tzinfo is not None
    assert first.source == "aa_ekonomi"
    assert first.link == "https://www.aa.com.tr/tr/ekonomi/merkez-bankasi-rezervleri-yukseldi/3497712"
    # The February survey is five days old: skipped, and the caller is told why.
    assert result.rejected == ["item 5: dated 2025-02-28T11:00:00+00:00, older than 2 d"]


def test_markup_entities_and_links_are_taken_out_of_titles() -> None:
    titles = [h.title for h in parse("bloomberght.xml").headlines]

    assert titles == [
        "Brent petrolde OPEC+ kararı sonrası 'temkinli' seyir",
        "Bitcoin 90 bin doların altına indi - detaylar",
        "THY'nin şubat ayı yolcu sayısı açıklandı",
    ]
    assert not any("<" in title or "http" in title or "&" in title for title in titles)


def test_an_atom_feed_reads_like_rss_and_prefers_the_published_date() -> None:
    result = parse("atom_piyasa.xml")

    assert [(h.title, h.published) for h in result.headlines] == [
        ("Euro/TL 38'in üzerinde: ECB öncesi bekleyiş", datetime(2025, 3, 4, 9, 40, tzinfo=ISTANBUL)),
        ("Bankacılık endeksi haftaya pozitif başladı", datetime(2025, 3, 3, 10, 20, tzinfo=ISTANBUL)),
    ]
    assert result.rejected == []


def test_a_feed_declared_in_iso_8859_9_keeps_its_turkish_letters() -> None:
    (headline,) = parse("iso_8859_9.xml").headlines

    assert headline.title == "Şeker fiyatına zam: çiftçi ve üretici ne düşünüyor?"


def test_keys_are_the_same_on_every_refresh_and_only_feed_local_ids_depend_on_the_source() -> None:
    aa_today = [h.key for h in parse("aa_ekonomi.xml", source="aa").headlines]
    aa_an_hour_later = [h.key for h in parse("aa_ekonomi.xml", source="aa", now=NOW + timedelta(hours=1)).headlines]
    aa_other_name = [h.key for h in parse("aa_ekonomi.xml", source="aa_copy").headlines]
    bht = [h.key for h in parse("bloomberght.xml", source="bht").headlines]
    bht_other_name = [h.key for h in parse("bloomberght.xml", source="bht_copy").headlines]

    assert aa_today == aa_an_hour_later
    assert all(len(key) == 32 and int(key, 16) >= 0 for key in aa_today)
    assert len(set(aa_today)) == len(aa_today)
    # AA's guids are URLs: one story is one headline whichever feed carried it.
    assert aa_today == aa_other_name
    # Bloomberg HT's guids are bare numbers, meaningful only inside their feed.
    assert set(bht).isdisjoint(bht_other_name)


# ---------------------------------------------------------------- parse_feed: whole feeds refused


def test_an_html_page_is_refused_as_a_whole_naming_the_source() -> None:
    with pytest.raises(FeedError, match=r"^aa_ekonomi: answered HTML, not a feed$") as caught:
        parse("html_404.html", source="aa_ekonomi")

    assert caught.value.source == "aa_ekonomi"
    assert isinstance(caught.value, SourceError)  # one except clause serves quotes and news


@pytest.mark.parametrize("body", [b"", b"  \r\n\t "])
def test_an_empty_body_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError, match=r"^bht: empty body$"):
        parse_feed(body, source="bht", now=NOW, max_age=TWO_DAYS)


def test_json_or_text_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match=r"^bht: not an RSS or Atom feed"):
        parse_feed(b'{"items": [{"title": "Dolar"}]}', source="bht", now=NOW, max_age=TWO_DAYS)


def test_entity_declarations_are_refused_before_any_expansion() -> None:
    with pytest.raises(FeedError, match=r"^lol: declares XML entities; refused$"):
        parse("billion_laughs.xml", source="lol")


# ---------------------------------------------------------------- parse_feed: items refused, the rest kept


def test_items_carrying_a_script_tag_are_skipped_and_the_clean_one_kept() -> None:
    result = parse("script_items.xml")

    assert [h.title for h in result.headlines] == ["İhracat şubatta 20,8 milyar dolar oldu"]
    # One in the title's CDATA, one escaped in the description (an uppercase SCRIPT).
    assert result.rejected == ["item 1: a script tag in its title or text", "item 2: a script tag in its title or text"]


def test_a_5_mb_item_is_skipped_while_its_small_neighbour_is_kept() -> None:
    body = recorded("big_item.xml").replace(b"FILLER", b"Haber metni. " * 400_000)
    assert len(body) > 5_000_000

    result = parse("big_item.xml", body=body)

    assert [h.title for h in result.headlines] == ["Küçük ve düzgün bir haber"]
    assert result.rejected == ["item 2: 5200022 bytes of text, more than 65536"]


def test_a_careless_feed_keeps_only_its_usable_items() -> None:
    result = parse("messy_items.xml")

    assert result.rejected == [
        "item 1: no date",
        "item 2: dated 2025-03-05T08:00:00+00:00, in the future",
        "item 3: no title left after cleaning",  # the title was a bare URL
        "item 5: the same item as an earlier one",  # guid a-104 twice
    ]
    double_escaped, long, no_id = result.headlines
    assert double_escaped.title == "Cari açık ocakta 3,8 milyar dolar oldu"  # no tags, no full stop
    assert len(long.title) <= MAX_TITLE
    assert long.title.endswith("ilk çeyreğe")  # cut at a word
    assert no_id.title == "Akaryakıta zam geldi"
    assert no_id.link is None


def test_a_date_a_few_minutes_ahead_is_a_clock_difference_but_an_hour_ahead_is_a_bad_feed() -> None:
    five_minutes_ahead = one_item_feed("Tue, 04 Mar 2025 11:05:00 +0300")
    an_hour_ahead = one_item_feed("Tue, 04 Mar 2025 12:00:00 +0300")

    assert len(parse_feed(five_minutes_ahead, source="s", now=NOW, max_age=TWO_DAYS).headlines) == 1
    assert parse_feed(an_hour_ahead, source="s", now=NOW, max_age=TWO_DAYS).rejected == [
        "item 1: dated 2025-03-04T09:00:00+00:00, in the future"
    ]


def test_an_unreadable_date_is_no_date() -> None:
    result = parse_feed(one_item_feed("yesterday-ish"), source="s", now=NOW, max_age=TWO_DAYS)

    assert result.headlines == []
    assert result.rejected == ["item 1: no date"]


def test_a_title_of_one_endless_word_is_cut_inside_it() -> None:
    assert clean_title("A" * 500) == "A" * MAX_TITLE
    assert clean_title("  Dolar \n\t rekor   kırdı.  ") == "Dolar rekor kırdı"


# ---------------------------------------------------------------- fetch_feed against a local server


class FeedServer:
    """Serves recorded feeds and the ways a feed server misbehaves; records what it was sent."""

    def __init__(self) -> None:
        self.accept: list[str] = []
        self.never = asyncio.Event()  # a slow answer waits for this; tests never set it
        self.base = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rss/{name}", self.feed)
        app.router.add_get("/status/{code}", self.status)
        app.router.add_get("/huge", self.huge)
        app.router.add_get("/huge-announced", self.huge_announced)
        app.router.add_get("/slow", self.slow)
        return app

    async def feed(self, request: web.Request) -> web.Response:
        self.accept.append(request.headers.get("Accept", ""))
        return web.Response(body=recorded(request.match_info["name"]), content_type="application/rss+xml")

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="<html>Service Unavailable</html>")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()  # no Content-Length: only reading tells the size
        await response.prepare(request)
        try:
            for _ in range(80):  # 5 MiB
                await response.write(b"x" * 65536)
        except ConnectionError:
            pass  # the client stopped reading, as it should
        return response

    async def huge_announced(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5 * 1024 * 1024, content_type="application/rss+xml")

    async def slow(self, request: web.Request) -> web.Response:
        await self.never.wait()
        return web.Response(text="late")


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    feeds = FeedServer()
    test_server = TestServer(feeds.app(), host="127.0.0.1", port=0)
    await test_server.start_server()
    feeds.base = str(test_server.make_url("")).rstrip("/")
    try:
        yield feeds
    finally:
        feeds.never.set()
        await test_server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_a_fetched_feed_parses_into_its_headlines(server: FeedServer, session: aiohttp.ClientSession) -> None:
    body = await fetch_feed(session, f"{server.base}/rss/aa_ekonomi.xml", timeout=5)

    assert body == recorded("aa_ekonomi.xml")
    assert len(parse_feed(body, source="aa", now=NOW, max_age=TWO_DAYS).headlines) == 4
    assert "application/rss+xml" in server.accept[0] and "application/atom+xml" in server.accept[0]


async def test_an_error_status_names_the_source_host_and_path_but_no_key(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    host_port = server.base.removeprefix("http://")
    url = f"http://reader:pa55w0rd-secret@{host_port}/status/503?api_key=SECRET-123&x=1"

    with pytest.raises(FeedError) as caught:
        await fetch_feed(session, url, timeout=5, source="bht")

    message = str(caught.value)
    assert message == f"bht: {host_port}/status/503 answered 503"
    assert "SECRET" not in message and "pa55w0rd" not in message and "reader" not in message


async def test_a_body_beyond_the_limit_is_refused_while_reading(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(FeedError, match=r"/huge answered more than the 2097152 bytes allowed$"):
        await fetch_feed(session, f"{server.base}/huge", timeout=5)


async def test_a_body_announced_beyond_the_limit_is_refused_before_reading(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(FeedError, match=r"/huge-announced answered 5242880 bytes, more than the 2097152 allowed$"):
        await fetch_feed(session, f"{server.base}/huge-announced", timeout=5)


async def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    server: FeedServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(FeedError, match=r"/slow: no answer within 0\.2 s$"):
        await fetch_feed(session, f"{server.base}/slow?token=SECRET", timeout=0.2)


async def test_nobody_listening_is_a_connection_failure(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FeedError, match=rf"^feed: 127\.0\.0\.1:{port}/rss: request failed \(\w+\)$"):
        await fetch_feed(session, f"http://127.0.0.1:{port}/rss?key=SECRET", timeout=5)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://h.example/rss", "feed://h.example/rss"])
async def test_only_http_urls_are_fetched(session: aiohttp.ClientSession, url: str) -> None:
    with pytest.raises(FeedError, match=r"not an http\(s\) URL$"):
        await fetch_feed(session, url, timeout=5)


def test_published_times_are_utc() -> None:
    assert all(h.published.utcoffset() == timedelta(0) for h in parse("atom_piyasa.xml").headlines)
    assert parse("atom_piyasa.xml").headlines[0].published.tzinfo == UTC
