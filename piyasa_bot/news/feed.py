"""A news feed's body -> the headlines a bot may bring up, and the one HTTP request that fetches it.

Feeds are written by other people's software and reach us over the
internet, so nothing in an item is trusted: its title is reduced to plain
text (no tags, entities, links), and an item that is hostile or unusable
(a script tag, a 5 MB description, no date, a date in the future) is
skipped with a reason the caller logs, while the rest of the feed is used.
Only a body that is no feed at all (an HTML error page, nothing) fails the
whole refresh, as a `FeedError` naming the source.

feedparser reads RSS 0.9x/1.0/2.0 and Atom leniently (a feed that is a
little malformed still gives its items). It is given the bytes in a
BytesIO: a bare string or bytes it would try as a URL or a file name.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import feedparser  # type: ignore[import-untyped]

from piyasa_bot.quotes.fetch import fetch_body
from piyasa_bot.quotes.observation import SourceError

MAX_BODY = 2 * 1024 * 1024  # a busy feed of 50 items is ~100 KiB; more is not a feed we want
MAX_ITEM = 64 * 1024  # bytes of text in one item (title, summary, content); a real one is a few KiB
MAX_TITLE = 200  # characters; a headline spoken in a chat line, not an article
FUTURE_SLACK = timedelta(minutes=10)  # clocks differ a little; an item dated later is a bad feed
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.1"

_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<\s*script\b", re.IGNORECASE)
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# A headline goes into a sentence ("Haberlere düştü: {headline}."): no trailing full stop or separator.
_TRAILING = " .,;:-–—|/·•"
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)


class FeedError(SourceError):
    """A feed's answer that gives no headlines at all; the message names the source and the problem.

    A SourceError, so a refresher that also reads quotes can handle both alike.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class Headline:
    key: str  # stable across refreshes and restarts: see headline_key
    title: str  # cleaned plain text, at most MAX_TITLE characters
    source: str  # the feed's name in bots.yaml
    published: datetime  # aware, UTC
    link: str | None  # for the record only: bots bring a headline up in their own words, without it


@dataclass(frozen=True)
class ParsedFeed:
    headlines: list[Headline]
    rejected: list[str] = field(default_factory=list)  # "item 3: no date": one line per item skipped


def parse_feed(body: bytes, *, source: str, now: datetime, max_age: timedelta) -> ParsedFeed:
    """The usable headlines in `body` (an RSS or Atom feed), in the feed's order, and why the others were not."""
    if not body.strip():
        raise FeedError(source, "empty body")
    # Entity expansion ("billion laughs") is the only use of a declaration in a feed. A UTF-16 body slips
    # past this byte check; expat's own amplification limit still stops it, only later and slower.
    if b"<!ENTITY" in body:
        raise FeedError(source, "declares XML entities; refused")
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") or (parsed.get("bozo") and not parsed.get("entries")):
        if _HTML_START.match(body):
            raise FeedError(source, "answered HTML, not a feed")
        problem = parsed.get("bozo_exception")
        raise FeedError(source, f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed")
    headlines: list[Headline] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for number, entry in enumerate(parsed.get("entries", []), start=1):
        headline, problem = _headline(entry, source=source, now=now, max_age=max_age)
        if headline is not None and headline.key in seen:
            headline, problem = None, "the same item as an earlier one"
        if headline is None:
            rejected.append(f"item {number}: {problem}")
            continue
        seen.add(headline.key)
        headlines.append(headline)
    return ParsedFeed(headlines, rejected)


def _headline(entry: dict[str, Any], *, source: str, now: datetime, max_age: timedelta) -> tuple[Headline | None, str]:
    """One item as a Headline, or None and why not."""
    texts = [_text(entry.get("title")), _text(entry.get("summary"))]
    texts += [_text(part.get("value")) for part in entry.get("content") or () if isinstance(part, Mapping)]
    size = sum(len(text.encode("utf-8")) for text in texts)
    if size > MAX_ITEM:
        return None, f"{size} bytes of text, more than {MAX_ITEM}"
    # A feed's markup is shown by nobody here, but a script tag says the feed was tampered with.
    if any(_SCRIPT.search(text) or _SCRIPT.search(html.unescape(text)) for text in texts):
        return None, "a script tag in its title or text"
    published = _published(entry)
    if published is None:
        return None, "no date"
    if published > now + FUTURE_SLACK:
        return None, f"dated {published.isoformat()}, in the future"
    if published < now - max_age:
        return None, f"dated {published.isoformat()}, older than {_duration(max_age)}"
    title = clean_title(texts[0])
    if not title:
        return None, "no title left after cleaning"
    link = _text(entry.get("link")).strip() or None
    identity = _text(entry.get("id")).strip()
    return Headline(headline_key(source, identity=identity, link=link, title=title), title, source, published, link), ""


def clean_title(raw: str) -> str:
    """A feed's title as plain text a bot can say: no tags, entities or links, spaces collapsed, ~MAX_TITLE chars.

    Twice, because feeds escape their HTML once or twice ("&amp;lt;b&amp;gt;").
    """
    text = raw
    for _ in range(2):
        text = _TAG.sub(" ", html.unescape(text))
    text = _SPACE.sub(" ", _URL.sub(" ", text)).strip()
    if len(text) > MAX_TITLE:
        space = text.rfind(" ", 0, MAX_TITLE + 1)
        text = text[:space] if space >= MAX_TITLE // 2 else text[:MAX_TITLE]  # one long word: cut inside it
    return text.rstrip(_TRAILING)


def headline_key(source: str, *, identity: str, link: str | None, title: str) -> str:
    """sha256 hex[:32] of the item's id (RSS guid, Atom id), else its link, else its title.

    An id or link that is a URI (has a scheme: http:, urn:, tag:) names the
    item everywhere, so the same story in two feeds of one publisher is one
    headline. Anything else ("12345", a title) means something only within
    its feed, so the source's name is part of the key.
    """
    value = identity or link or ""
    material = value if ":" in value else f"{source}\n{value or title}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def _published(entry: dict[str, Any]) -> datetime | None:
    # feedparser turns every date format it knows into a UTC struct_time; Atom's required date is `updated`.
    # Plain dict lookups: FeedParserDict answers a missing `updated_parsed` with `published_parsed` and a warning.
    moment = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if moment is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(moment), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def fetch_feed(
    session: aiohttp.ClientSession, url: str, *, timeout: float, max_bytes: int = MAX_BODY, source: str | None = None
) -> bytes:
    """The body at `url`, as quotes/fetch.py reads a source (bounded in time and size); every failure a FeedError.

    The error names the source (when given) and the URL's host and path only. HTML is
    accepted here: some feeds are served as text/html, and parse_feed knows a page from a feed.
    """
    name = source or "feed"
    if not url.startswith(("http://", "https://")):
        raise FeedError(name, "not an http(s) URL")
    try:
        return await fetch_body(session, url, timeout=timeout, max_bytes=max_bytes, accept=ACCEPT)
    except SourceError as error:
        raise FeedError(name, str(error)) from None
