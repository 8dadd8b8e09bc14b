"""The news desk: feeds fetched now and then, fresh headlines offered to the bots once per chat.

    desk = NewsDesk(pool, roster.market.news, web_session, rng)
    await desk.load()          # headlines stored earlier (still fresh) and which chats heard them
    desk.start()               # every feed, every `every_seconds`
    headline = await desk.offer(chat, bot, now)   # a chatter turn may bring one up
    await desk.close()

Headlines are deduplicated across refreshes and restarts by their key (in
PostgreSQL, news/store.py); a headline is offered at most once per chat
(claimed in the database before it is said, so two runners or a restart
never bring it up twice) and never once older than `max_age_hours`. Only a
headline that fits the bot is offered: it names a symbol of its watchlist, or
a topic of the chat the persona has a stance on. A feed that fails is logged
once per change of its problem and tried again at the next interval.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import structlog

from piyasa_bot.conversation.symbols import find_symbols, find_topics, watchlist_codes
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.market_config import News, NewsFeed
from piyasa_bot.news import store
from piyasa_bot.news.feed import FeedError, Headline, fetch_feed, parse_feed
from piyasa_bot.roster import BotConfig, ChatConfig
from piyasa_bot.rounds import Job, Rounds

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
FETCH_TIMEOUT = 15.0
KEPT = 200  # fresh headlines held in memory: a few feeds' last hours


def utc_now() -> datetime:
    return datetime.now(UTC)


class NewsDesk:
    def __init__(
        self,
        pool: asyncpg.Pool,
        config: News,
        session: aiohttp.ClientSession,
        rng: random.Random,
        *,
        clock: Clock = utc_now,
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.pool = pool
        self.config = config
        self.session = session
        self.clock = clock
        self.timeout = timeout
        self.max_age = timedelta(hours=config.max_age_hours)
        self.failures: dict[str, int] = {feed.name: 0 for feed in config.feeds}
        self._rng = rng
        self._headlines: list[Headline] = []  # fresh, newest first
        self._problems: dict[str, str] = {}  # feed -> the problem last logged
        self._told: dict[int, set[str]] = {}  # chat -> keys claimed there (by us or another runner), of _headlines
        self._rounds = Rounds("news.refresh_crashed")

    @property
    def headlines(self) -> list[Headline]:
        return list(self._headlines)

    async def load(self) -> None:
        """The headlines stored earlier that are still fresh (another runner's, or before a restart)."""
        try:
            stored = await store.fresh(self.pool, since=self.clock() - self.max_age, limit=KEPT)
        except DATABASE_ERRORS as error:
            log.warning("news.load_failed", error=type(error).__name__)
            return
        self._add(stored)

    def start(self) -> None:
        self._rounds.start("news", [self._job(feed) for feed in self.config.feeds])

    def _job(self, feed: NewsFeed) -> Job:
        return Job(feed.name, lambda: self.refresh(feed), lambda: self.config.every_seconds)

    async def close(self) -> None:
        await self._rounds.close()

    async def fetched(self, name: str) -> None:
        """Wait until feed `name` completed a refresh after this call: for tests."""
        await self._rounds.completed(name)

    # -- offering a headline ------------------------------------------------------------

    async def offer(self, chat: ChatConfig, bot: BotConfig, now: datetime) -> Headline | None:
        """A fresh headline for this bot to bring up in this chat, claimed for it; None most turns."""
        if not self._headlines or self._rng.random() >= self.config.share:
            return None
        oldest, told = now - self.max_age, self._told.setdefault(chat.id, set())
        fitting = [h for h in self._headlines if h.published >= oldest and h.key not in told and _fits(h, chat, bot)]
        for headline in fitting[:3]:
            try:
                claimed = await store.claim(self.pool, chat.id, headline.key)
            except DATABASE_ERRORS as error:
                log.warning("news.claim_failed", error=type(error).__name__)
                return None  # unclaimed: not said, so it cannot be said twice
            told.add(headline.key)  # ours now, or told before (a restart, another runner)
            if claimed:
                return headline
        return None

    # -- one feed -----------------------------------------------------------------------

    async def refresh(self, feed: NewsFeed) -> list[Headline]:
        """Fetch and parse one feed, store what is new; the new headlines (empty when it failed)."""
        now = self.clock()
        try:
            body = await fetch_feed(self.session, feed.url, timeout=self.timeout, source=feed.name)
            parsed = parse_feed(body, source=feed.name, now=now, max_age=self.max_age)
        except FeedError as error:
            self.failures[feed.name] += 1
            self._problem(feed, str(error))
            return []
        if self._problems.pop(feed.name, None) is not None:
            log.info("news.feed_recovered", feed=feed.name)
        self.failures[feed.name] = 0
        for reason in parsed.rejected:
            log.info("news.item_skipped", feed=feed.name, reason=reason)
        try:
            new = await store.remember(self.pool, parsed.headlines)
            await store.forget_older_than(self.pool, now - self.max_age)  # never newer: see store.remember
        except DATABASE_ERRORS as error:
            log.warning("news.store_failed", feed=feed.name, error=type(error).__name__)
            return []
        self._add(new)
        return new

    def _problem(self, feed: NewsFeed, problem: str) -> None:
        if self._problems.get(feed.name) != problem:
            self._problems[feed.name] = problem
            log.warning("news.feed_failed", feed=feed.name, problem=problem, retry_in=self.config.every_seconds)

    def _add(self, headlines: list[Headline]) -> None:
        known = {h.key for h in self._headlines}
        merged = self._headlines + [h for h in headlines if h.key not in known]
        merged.sort(key=lambda h: h.published, reverse=True)
        self._headlines = merged[:KEPT]
        kept = {h.key for h in self._headlines}
        for keys in self._told.values():
            keys &= kept  # bounded by the headlines held


def _fits(headline: Headline, chat: ChatConfig, bot: BotConfig) -> bool:
    """A headline on the bot's watchlist, or on a topic of the chat the persona holds a view on."""
    named = set(find_symbols(headline.title))
    if named & set(watchlist_codes(bot.persona.watchlist)):
        return True
    topics = set(find_topics(headline.title)) & set(chat.topics)
    return bool(topics & set(bot.persona.stances))
