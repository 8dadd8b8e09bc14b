"""What the console reads from PostgreSQL: literal SQL, typed rows, bounded by a limit.

Nothing here selects a token. Every query runs on the pool (any runner's stored
rows, not only this process's) in one round trip, cancelled after
STATEMENT_TIMEOUT: a page never holds a connection for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg

from piyasa_bot.db import status_queries
from piyasa_bot.db.status_queries import LeaseStatus, RunnerStatus
from piyasa_bot.sending.status import OutboxStatus

STATEMENT_TIMEOUT = 5.0  # seconds; a page that would take longer answers 503 instead (console/errors.py)
MAX_SEARCH = 200  # characters of a search; longer is refused with a 400 before any query


class Line(NamedTuple):
    """One stored message as the chat page shows it."""

    id: int  # messages.id: the live view's position
    telegram_message_id: int
    at: datetime  # stored
    sent_at: datetime | None  # Telegram's date (people) or the send's (bots)
    bot: str | None  # the sending bot; None for a person
    from_user_id: int | None
    text: str | None
    kind: str
    reply_to_message_id: int | None
    reply_to_bot: str | None  # whom it replies to, when that was a bot
    reply_to_user_id: int | None  # whom it replies to, when that was a person
    answer_seconds: float | None  # a bot's reply to a person: from their message stored to the reply stored

    @property
    def author(self) -> str:
        return self.bot if self.bot is not None else f"person {self.from_user_id}"

    @property
    def replies_to(self) -> str | None:
        if self.reply_to_message_id is None:
            return None
        if self.reply_to_bot is not None:
            return self.reply_to_bot
        return f"person {self.reply_to_user_id}" if self.reply_to_user_id is not None else "an earlier message"


class OutboxRow(NamedTuple):
    id: int
    bot: str
    chat_id: int
    status: str
    reason: str | None
    priority: int
    attempts: int
    text: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def kind(self) -> str:
        return "answer" if self.priority == 0 else "chatter"


class MinuteFigures(NamedTuple):
    minute: datetime
    received: int  # people's messages stored
    sent: int  # bots' messages stored
    ingest_p50: float | None  # seconds from Telegram's date to stored (whole seconds: Telegram's dates are)
    ingest_p95: float | None
    answer_p50: float | None  # seconds from an addressed message stored to its answer stored
    answer_p95: float | None


_LINE_COLUMNS = """
    m.id, m.telegram_message_id, m.created_at, m.sent_at, b.name, m.from_user_id, m.text, m.kind,
    m.reply_to_message_id, rb.name, r.from_user_id,
    CASE WHEN NOT m.is_incoming AND r.is_incoming THEN extract(epoch FROM m.created_at - r.created_at)::float8 END
"""
_LINE_SOURCES = """
    FROM messages m
    LEFT JOIN bots b ON b.id = m.bot_id
    LEFT JOIN LATERAL (
        SELECT p.bot_id, p.from_user_id, p.is_incoming, p.created_at FROM messages p
        WHERE p.chat_id = m.chat_id AND p.id_scope = m.id_scope AND p.telegram_message_id = m.reply_to_message_id
        LIMIT 1) r ON m.reply_to_message_id IS NOT NULL
    LEFT JOIN bots rb ON rb.id = r.bot_id
"""


def _containing(text: str) -> str:
    """An ILIKE pattern for `text` taken literally: its %, _ and backslashes are characters, not wildcards."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def recent_lines(pool: asyncpg.Pool, chat_id: int, *, after_id: int = 0, limit: int = 100) -> list[Line]:
    """The chat's newest `limit` messages stored after `after_id`, oldest first."""
    rows = await _fetch(
        pool,
        f"""SELECT * FROM (SELECT {_LINE_COLUMNS} {_LINE_SOURCES}
               WHERE m.chat_id = $1 AND m.id > $2
               ORDER BY m.id DESC LIMIT $3) newest
            ORDER BY 1""",
        chat_id,
        after_id,
        limit,
    )
    return [Line(*row) for row in rows]


async def search_lines(pool: asyncpg.Pool, text: str, *, limit: int = 100) -> list[tuple[int, Line]]:
    """Messages whose text contains `text` (case-insensitive, literally: % and _ are not wildcards), newest first."""
    rows = await _fetch(
        pool,
        f"""SELECT m.chat_id, {_LINE_COLUMNS} {_LINE_SOURCES}
            WHERE m.text ILIKE $1
            ORDER BY m.id DESC LIMIT $2""",
        _containing(text),
        limit,
    )
    return [(row[0], Line(*row[1:])) for row in rows]


async def chat_exists(pool: asyncpg.Pool, chat_id: int) -> bool:
    found: bool = await pool.fetchval("SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1)", chat_id)
    return found


async def outbox_rows(
    pool: asyncpg.Pool,
    *,
    status: OutboxStatus | None = None,
    reason: str | None = None,
    chat_id: int | None = None,
    bot: str | None = None,
    limit: int = 200,
) -> list[OutboxRow]:
    """Outbox rows, newest first, filtered by status, a reason's text (contained, literally), chat and bot."""
    rows = await _fetch(
        pool,
        """SELECT o.id, b.name, o.chat_id, o.status, o.reason, o.priority, o.attempts, o.text, o.created_at,
                  o.finished_at
           FROM outbox o JOIN bots b ON b.id = o.bot_id
           WHERE ($1::text IS NULL OR o.status = $1) AND ($2::text IS NULL OR o.reason ILIKE $2)
             AND ($3::bigint IS NULL OR o.chat_id = $3) AND ($4::text IS NULL OR b.name = $4)
           ORDER BY o.id DESC LIMIT $5""",
        None if status is None else str(status),
        None if reason is None else _containing(reason),
        chat_id,
        bot,
        limit,
    )
    return [OutboxRow(*row) for row in rows]


async def outbox_reasons(pool: asyncpg.Pool, window: timedelta = timedelta(days=1)) -> list[tuple[str, str, int]]:
    """(status, reason, rows) of what ended failed or expired within the window, commonest first."""
    rows = await _fetch(
        pool,
        """SELECT status, reason, count(*) FROM outbox
           WHERE status IN ('failed', 'expired') AND reason IS NOT NULL AND finished_at >= now() - $1::interval
           GROUP BY status, reason ORDER BY count(*) DESC, status, reason LIMIT 50""",
        window,
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def minute_figures(pool: asyncpg.Pool, hours: float) -> list[MinuteFigures]:
    """Each minute of the last `hours` with a message in it: counts and latency percentiles."""
    rows = await _fetch(
        pool,
        """WITH recent AS (
               SELECT * FROM messages WHERE created_at >= now() - make_interval(secs => $1)),  -- BRIN, sql/0012
           minutes AS (
               SELECT date_trunc('minute', created_at) AS minute,
                      count(*) FILTER (WHERE is_incoming) AS received,
                      count(*) FILTER (WHERE NOT is_incoming) AS sent,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - sent_at))
                          FILTER (WHERE is_incoming AND sent_at IS NOT NULL) AS ingest_p50,
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - sent_at))
                          FILTER (WHERE is_incoming AND sent_at IS NOT NULL) AS ingest_p95
               FROM recent GROUP BY 1),
           answers AS (
               SELECT date_trunc('minute', o.finished_at) AS minute,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.finished_at - p.created_at))
                          AS answer_p50,
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.finished_at - p.created_at))
                          AS answer_p95
               FROM outbox o
               JOIN messages p ON p.chat_id = o.chat_id AND p.telegram_message_id = o.answers_message_id
                              AND p.is_incoming
               WHERE o.status = 'sent' AND o.answers_message_id IS NOT NULL
                 -- created_at narrows by the BRIN index (an answer ends within its expiry of being created)
                 AND o.created_at >= now() - make_interval(secs => $1 + 3600)
                 AND o.finished_at >= now() - make_interval(secs => $1)
               GROUP BY 1)
           SELECT coalesce(m.minute, a.minute), coalesce(m.received, 0), coalesce(m.sent, 0),
                  m.ingest_p50, m.ingest_p95, a.answer_p50, a.answer_p95
           FROM minutes m FULL JOIN answers a ON a.minute = m.minute
           ORDER BY 1""",
        hours * 3600.0,
    )
    return [MinuteFigures(*row) for row in rows]


async def runners(pool: asyncpg.Pool) -> list[RunnerStatus]:
    """The fleet's runners, live first, each with the bots and chats it holds (as `status` reads them)."""
    return await status_queries.runner_statuses(pool, timeout=STATEMENT_TIMEOUT)


async def leases(pool: asyncpg.Pool) -> list[LeaseStatus]:
    """Who holds each stored bot and chat (as `status` reads it)."""
    return await status_queries.lease_statuses(pool, timeout=STATEMENT_TIMEOUT)


async def _fetch(pool: asyncpg.Pool, query: str, *args: object) -> list[asyncpg.Record]:
    """One round trip; a query that takes longer than STATEMENT_TIMEOUT is cancelled (TimeoutError)."""
    rows: list[asyncpg.Record] = await pool.fetch(query, *args, timeout=STATEMENT_TIMEOUT)
    return rows
