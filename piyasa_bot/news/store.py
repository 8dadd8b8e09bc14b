"""Which headlines were seen and which chat was told which: news is news once, also after a restart.

A refresh reads the same items again and again; `remember` answers only
with the ones the database did not hold, whichever runner or process read
them first. `claim` is the "told once" gate a bot passes before it brings
a headline up in a chat. `forget_older_than` keeps both tables bounded:
prune at `now - max_age` or earlier (the age parse_feed keeps), or an item
still in its feed comes back as new.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from piyasa_bot.news.feed import Headline


async def remember(db: asyncpg.Connection | asyncpg.Pool, headlines: Iterable[Headline]) -> list[Headline]:
    """Store the headlines not stored yet; return those, in the order given (one per key)."""
    unique: dict[str, Headline] = {}
    for headline in headlines:
        unique.setdefault(headline.key, headline)
    if not unique:
        return []
    items = list(unique.values())
    rows = await db.fetch(
        """INSERT INTO news_items (key, source, title, link, published_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
           ON CONFLICT (key) DO NOTHING
           RETURNING key""",
        [h.key for h in items],
        [h.source for h in items],
        [h.title for h in items],
        [h.link for h in items],
        [h.published for h in items],
    )
    new = {row["key"] for row in rows}
    return [h for h in items if h.key in new]


async def fresh(db: asyncpg.Connection | asyncpg.Pool, *, since: datetime, limit: int) -> list[Headline]:
    """Up to `limit` headlines published after `since`, newest first, whoever was told them."""
    rows = await db.fetch(
        """SELECT key, title, source, published_at, link FROM news_items
            WHERE published_at > $1 ORDER BY published_at DESC, key LIMIT $2""",
        since,
        limit,
    )
    return [Headline(row["key"], row["title"], row["source"], row["published_at"], row["link"]) for row in rows]


async def fresh_for_chat(
    db: asyncpg.Connection | asyncpg.Pool, chat_id: int, *, since: datetime, limit: int
) -> list[Headline]:
    """Up to `limit` headlines published after `since` that `chat_id` was not told yet, newest first."""
    rows = await db.fetch(
        """SELECT i.key, i.title, i.source, i.published_at, i.link
             FROM news_items i
            WHERE i.published_at > $2
              AND NOT EXISTS (SELECT 1 FROM news_mentions m WHERE m.chat_id = $1 AND m.key = i.key)
            ORDER BY i.published_at DESC, i.key
            LIMIT $3""",
        chat_id,
        since,
        limit,
    )
    return [Headline(row["key"], row["title"], row["source"], row["published_at"], row["link"]) for row in rows]


async def claim(db: asyncpg.Connection | asyncpg.Pool, chat_id: int, key: str) -> bool:
    """True the first time `key` is claimed for `chat_id`, False ever after (and for a key no longer stored).

    Two bots that pick the same headline for a chat at once: one gets True.
    """
    claimed = await db.fetchval(
        """INSERT INTO news_mentions (chat_id, key)
           SELECT $1, key FROM news_items WHERE key = $2
           ON CONFLICT (chat_id, key) DO NOTHING
           RETURNING true""",
        chat_id,
        key,
    )
    return claimed is True


async def forget_older_than(db: asyncpg.Connection | asyncpg.Pool, moment: datetime) -> int:
    """Delete the headlines published before `moment`, with their mentions; return how many headlines."""
    deleted = await db.fetchval(
        """WITH gone AS (DELETE FROM news_items WHERE published_at < $1 RETURNING 1)
           SELECT count(*) FROM gone""",
        moment,
    )
    return int(deleted)
