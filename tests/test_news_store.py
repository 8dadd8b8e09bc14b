"""The news store on a real PostgreSQL: a headline is new once, fresh per chat, told once per chat, and pruned."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.db.pool import open_pool
from piyasa_bot.news import store
from piyasa_bot.news.feed import Headline, parse_feed

DATA = Path(__file__).parent / "data" / "news"
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)  # the morning the recorded feeds were written for
WEEK = timedelta(days=7)  # keeps every recorded item, the February one too
CHAT, OTHER_CHAT = -1001, -1002


def headlines(name: str, source: str) -> list[Headline]:
    return parse_feed((DATA / name).read_bytes(), source=source, now=NOW, max_age=WEEK).headlines


async def test_a_headline_is_new_once_across_refreshes_and_restarts(dsn: str, pool: asyncpg.Pool) -> None:
    aa = headlines("aa_ekonomi.xml", "aa")
    first_refresh = await store.remember(pool, aa[1:])  # the newest item is not out yet

    assert first_refresh == aa[1:]
    assert await store.remember(pool, aa[1:]) == []  # the next refresh reads the same items

    restarted = await open_pool(dsn)  # a new process on the same database
    try:
        assert await store.remember(restarted, aa) == [aa[0]]  # only the item published since
    finally:
        await restarted.close()


async def test_an_item_twice_in_one_batch_is_stored_and_answered_once(pool: asyncpg.Pool) -> None:
    (one,) = headlines("iso_8859_9.xml", "yerel")

    assert await store.remember(pool, [one, replace(one, title="Başka başlık"), one]) == [one]
    assert await store.remember(pool, []) == []


async def test_a_chat_gets_back_the_fresh_headlines_newest_first_as_stored(pool: asyncpg.Pool) -> None:
    await store.remember(pool, headlines("aa_ekonomi.xml", "aa") + headlines("bloomberght.xml", "bht"))
    since = datetime(2025, 3, 4, 8, 20, tzinfo=ISTANBUL)  # THY's item at 08:20 is not after it, February's neither

    fresh = await store.fresh_for_chat(pool, CHAT, since=since, limit=10)

    assert [(h.source, h.published.astimezone(ISTANBUL).strftime("%H:%M")) for h in fresh] == [
        ("bht", "10:41"),
        ("aa", "10:30"),
        ("aa", "10:12"),
        ("bht", "09:55"),
        ("aa", "09:35"),
        ("aa", "08:58"),
    ]
    brent = fresh[0]
    assert brent == next(h for h in headlines("bloomberght.xml", "bht") if h.key == brent.key)  # the same Headline
    assert brent.published.utcoffset() == timedelta(0)
    assert [h.key for h in await store.fresh_for_chat(pool, CHAT, since=since, limit=2)] == [h.key for h in fresh[:2]]


async def test_a_headline_told_in_a_chat_is_no_longer_fresh_there_but_still_is_elsewhere(pool: asyncpg.Pool) -> None:
    await store.remember(pool, headlines("atom_piyasa.xml", "gunluk"))
    since = NOW - timedelta(days=2)
    newest, older = await store.fresh_for_chat(pool, CHAT, since=since, limit=5)

    assert await store.claim(pool, CHAT, newest.key) is True

    assert await store.fresh_for_chat(pool, CHAT, since=since, limit=5) == [older]
    assert await store.fresh_for_chat(pool, OTHER_CHAT, since=since, limit=5) == [newest, older]


async def test_a_claim_succeeds_once_per_chat_ever_even_when_two_bots_race(pool: asyncpg.Pool) -> None:
    (headline,) = headlines("iso_8859_9.xml", "yerel")
    await store.remember(pool, [headline])

    racing = await asyncio.gather(*(store.claim(pool, CHAT, headline.key) for _ in range(6)))

    assert sorted(racing) == [False] * 5 + [True]
    assert await store.claim(pool, CHAT, headline.key) is False
    assert await store.claim(pool, OTHER_CHAT, headline.key) is True


async def test_a_headline_the_store_does_not_hold_cannot_be_claimed(pool: asyncpg.Pool) -> None:
    assert await store.claim(pool, CHAT, "0" * 32) is False


async def test_pruning_removes_old_headlines_with_their_mentions_and_keeps_the_rest(pool: asyncpg.Pool) -> None:
    aa = headlines("aa_ekonomi.xml", "aa")
    await store.remember(pool, aa)
    february = aa[-1]
    await store.claim(pool, CHAT, february.key)
    await store.claim(pool, CHAT, aa[0].key)

    assert await store.forget_older_than(pool, NOW - timedelta(days=2)) == 1

    assert await pool.fetchval("SELECT count(*) FROM news_items") == len(aa) - 1
    assert await pool.fetch("SELECT key FROM news_mentions") == [(aa[0].key,)]
    assert await store.forget_older_than(pool, NOW - timedelta(days=2)) == 0
