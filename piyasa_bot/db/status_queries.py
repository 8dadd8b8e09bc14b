"""Read-only queries for `status` and the health check: literal SQL, typed rows.

Nothing here selects `bots.token_encrypted`. "Recent" is everything since
`now() - window`, with the database's clock, so that a skewed client clock
cannot shift the window; a runner's liveness and a lease's expiry are read
with the same clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, TypeAlias

import asyncpg

from piyasa_bot.fleet.timing import FleetTiming

# Every query here runs on a pool or on one connection alike.
Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


class BotStatus(NamedTuple):
    name: str
    username: str | None
    telegram_id: int | None
    state: str
    last_error: str | None
    state_changed_at: datetime
    last_seen_at: datetime | None  # last time it was polling fine, sent, or had a message stored through it
    sent: int  # messages this bot sent within the window
    received: int  # people's messages stored from this bot's copy within the window
    pending: int  # outbox rows waiting, any age
    failed: int  # outbox rows failed within the window
    expired: int  # outbox rows expired within the window


class ChatStatus(NamedTuple):
    id: int
    title: str
    type: str | None
    received: int
    sent: int
    last_message_at: datetime | None
    pending: int
    failed: int
    expired: int
    bots_active: int
    bots_inactive: int


class FailureGroup(NamedTuple):
    bot: str
    chat_id: int
    status: str  # 'failed' or 'expired'
    reason: str | None
    rows: int  # outbox rows in the group (`count` would shadow tuple.count)
    last_at: datetime


class InactiveMembership(NamedTuple):
    bot: str
    chat_id: int
    reason: str | None
    since: datetime


async def ping(conn: Conn, timeout: float | None = None) -> bool:
    result: int = await conn.fetchval("SELECT 1", timeout=timeout)
    return result == 1


async def database_now(conn: Conn) -> datetime:
    now: datetime = await conn.fetchval("SELECT now()")
    return now


async def schema_version(conn: Conn) -> int | None:
    """The newest migration applied; None when the schema (or a core table) is missing."""
    present: bool = await conn.fetchval(
        """SELECT to_regclass('schema_migrations') IS NOT NULL AND to_regclass('bots') IS NOT NULL
                  AND to_regclass('chats') IS NOT NULL AND to_regclass('bot_chats') IS NOT NULL
                  AND to_regclass('messages') IS NOT NULL AND to_regclass('outbox') IS NOT NULL"""
    )
    if not present:
        return None
    version: int | None = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    return version


async def bot_statuses(conn: Conn, window: timedelta) -> list[BotStatus]:
    rows = await conn.fetch(
        """WITH sent AS (
               SELECT bot_id, count(*) AS n, max(created_at) AS last_at FROM messages
               WHERE NOT is_incoming AND created_at >= now() - $1::interval GROUP BY bot_id),
           received AS (
               SELECT received_by, count(*) AS n, max(created_at) AS last_at FROM messages
               WHERE is_incoming AND created_at >= now() - $1::interval GROUP BY received_by),
           queued AS (
               SELECT bot_id,
                      count(*) FILTER (WHERE status = 'pending') AS pending,
                      count(*) FILTER (WHERE status = 'failed') AS failed,
                      count(*) FILTER (WHERE status = 'expired') AS expired
               FROM outbox WHERE status = 'pending' OR finished_at >= now() - $1::interval GROUP BY bot_id)
           SELECT b.name, b.username, b.telegram_id, b.state, b.last_error, b.updated_at,
                  GREATEST(b.last_seen_at, sent.last_at, received.last_at),
                  coalesce(sent.n, 0), coalesce(received.n, 0),
                  coalesce(queued.pending, 0), coalesce(queued.failed, 0), coalesce(queued.expired, 0)
           FROM bots b
           LEFT JOIN sent ON sent.bot_id = b.id
           LEFT JOIN received ON received.received_by = b.id
           LEFT JOIN queued ON queued.bot_id = b.id
           ORDER BY b.name""",
        window,
    )
    return [BotStatus(*row) for row in rows]


async def chat_statuses(conn: Conn, window: timedelta) -> list[ChatStatus]:
    rows = await conn.fetch(
        """WITH recent AS (
               SELECT chat_id, count(*) FILTER (WHERE is_incoming) AS received,
                      count(*) FILTER (WHERE NOT is_incoming) AS sent, max(created_at) AS last_at
               FROM messages WHERE created_at >= now() - $1::interval GROUP BY chat_id),
           queued AS (
               SELECT chat_id,
                      count(*) FILTER (WHERE status = 'pending') AS pending,
                      count(*) FILTER (WHERE status = 'failed') AS failed,
                      count(*) FILTER (WHERE status = 'expired') AS expired
               FROM outbox WHERE status = 'pending' OR finished_at >= now() - $1::interval GROUP BY chat_id),
           members AS (
               SELECT chat_id, count(*) FILTER (WHERE active) AS active, count(*) FILTER (WHERE NOT active) AS inactive
               FROM bot_chats GROUP BY chat_id)
           SELECT c.id, c.title, c.type,
                  coalesce(recent.received, 0), coalesce(recent.sent, 0), recent.last_at,
                  coalesce(queued.pending, 0), coalesce(queued.failed, 0), coalesce(queued.expired, 0),
                  coalesce(members.active, 0), coalesce(members.inactive, 0)
           FROM chats c
           LEFT JOIN recent ON recent.chat_id = c.id
           LEFT JOIN queued ON queued.chat_id = c.id
           LEFT JOIN members ON members.chat_id = c.id
           ORDER BY c.id""",
        window,
    )
    return [ChatStatus(*row) for row in rows]


async def failure_groups(conn: Conn, window: timedelta) -> list[FailureGroup]:
    """Outbox rows that ended failed or expired within the window, grouped by bot, chat and reason."""
    rows = await conn.fetch(
        """SELECT b.name, o.chat_id, o.status, o.reason, count(*), max(o.finished_at)
           FROM outbox o JOIN bots b ON b.id = o.bot_id
           WHERE o.status IN ('failed', 'expired') AND o.finished_at >= now() - $1::interval
           GROUP BY b.name, o.chat_id, o.status, o.reason
           ORDER BY count(*) DESC, b.name, o.chat_id, o.status, o.reason""",
        window,
    )
    return [FailureGroup(*row) for row in rows]


async def inactive_memberships(conn: Conn) -> list[InactiveMembership]:
    """Bots taken out of a chat (removed, forbidden), with Telegram's reason."""
    rows = await conn.fetch(
        """SELECT b.name, bc.chat_id, bc.reason, bc.updated_at
           FROM bot_chats bc JOIN bots b ON b.id = bc.bot_id
           WHERE NOT bc.active ORDER BY b.name, bc.chat_id"""
    )
    return [InactiveMembership(*row) for row in rows]


class QuoteStatus(NamedTuple):
    symbol: str
    source: str
    price: float
    as_of: datetime
    received_at: datetime


class QuoteSourceStatus(NamedTuple):
    name: str
    kind: str
    ok_at: datetime | None
    failed_at: datetime | None
    failures: int
    last_error: str | None


async def quote_statuses(conn: Conn) -> list[QuoteStatus]:
    """The last good quote per symbol and source (empty in simulated mode, or before sql/0008)."""
    if not await conn.fetchval("SELECT to_regclass('quotes') IS NOT NULL"):
        return []
    rows = await conn.fetch("SELECT symbol, source, price, as_of, received_at FROM quotes ORDER BY symbol, source")
    return [QuoteStatus(*row) for row in rows]


async def quote_source_statuses(conn: Conn) -> list[QuoteSourceStatus]:
    if not await conn.fetchval("SELECT to_regclass('quote_sources') IS NOT NULL"):
        return []
    rows = await conn.fetch(
        "SELECT name, kind, ok_at, failed_at, failures, last_error FROM quote_sources ORDER BY name"
    )
    return [QuoteSourceStatus(*row) for row in rows]


# --- the fleet (sql/0013_fleet.sql) ------------------------------------------------------------

# A runner is live while its heartbeat is this fresh and it is not stopping: the fleet's own rule.
LIVE_WITHIN = timedelta(seconds=FleetTiming().live_within)


class RunnerStatus(NamedTuple):
    id: str  # host:pid:random
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age: float  # seconds since the last heartbeat, by the database's clock
    stopping: bool  # handing its work over (SIGTERM)
    live: bool  # heartbeat within LIVE_WITHIN and not stopping
    bots: int  # bot leases it holds now (owner and not expired)
    chats: int  # chat leases it holds now
    roster: str  # fingerprint of the bots.yaml it runs (sql/0014); '' if it did not say

    @property
    def roster_label(self) -> str:
        return self.roster[:8] or "unknown"


def rosters_of_live(runners: list[RunnerStatus]) -> dict[str, list[str]]:
    """The live runners by the bots.yaml they run: more than one entry means they disagree (each group
    shares out its own roster)."""
    groups: dict[str, list[str]] = {}
    for runner in runners:
        if runner.live:
            groups.setdefault(runner.roster_label, []).append(runner.id)
    return groups


class LeaseState(StrEnum):
    HELD = "held"  # an owner, not expired
    EXPIRED = "expired"  # an owner that stopped renewing it: free for whoever should own it
    RELEASED = "released"  # owner NULL: handed back
    UNCLAIMED = "unclaimed"  # a stored bot or chat no runner has ever leased


class LeaseStatus(NamedTuple):
    kind: str  # 'bot' | 'chat'
    key: str  # a bot's name, a chat's id as text
    owner: str | None  # the runner named in the row (also when expired); None when released or unclaimed
    epoch: int | None  # bumped at every change of hands; None when unclaimed
    acquired_at: datetime | None
    expires_at: datetime | None
    expires_in: float | None  # seconds until expiry, by the database's clock; negative once expired
    owner_live: bool  # the owner is a live runner

    @property
    def state(self) -> LeaseState:
        if self.epoch is None:
            return LeaseState.UNCLAIMED
        if self.owner is None:
            return LeaseState.RELEASED
        return LeaseState.HELD if self.expires_in is not None and self.expires_in > 0 else LeaseState.EXPIRED

    @property
    def holder(self) -> str | None:
        """Who holds it now: the owner of a lease that has not expired, else nobody."""
        return self.owner if self.state is LeaseState.HELD else None


async def _has_fleet_tables(conn: Conn, timeout: float | None) -> bool:
    """False on a database migrated before sql/0013 (a runner not upgraded yet)."""
    present: bool = await conn.fetchval(
        "SELECT to_regclass('runners') IS NOT NULL AND to_regclass('leases') IS NOT NULL", timeout=timeout
    )
    return present


async def runner_statuses(conn: Conn, *, timeout: float | None = None) -> list[RunnerStatus]:
    """Every registered runner, the live ones first, with the leases each holds now."""
    if not await _has_fleet_tables(conn, timeout):
        return []
    rows = await conn.fetch(
        """WITH held AS (
               SELECT owner, count(*) FILTER (WHERE kind = 'bot') AS bots,
                      count(*) FILTER (WHERE kind = 'chat') AS chats
               FROM leases WHERE owner IS NOT NULL AND expires_at > now() GROUP BY owner)
           SELECT r.id, r.host, r.pid, r.started_at, r.heartbeat_at,
                  extract(epoch FROM now() - r.heartbeat_at)::float8, r.stopping,
                  r.heartbeat_at > now() - $1::interval AND NOT r.stopping AS live,
                  coalesce(held.bots, 0), coalesce(held.chats, 0),
                  coalesce(to_jsonb(r) ->> 'roster', '')  -- a database not yet migrated to 0014 has none
           FROM runners r LEFT JOIN held ON held.owner = r.id
           ORDER BY live DESC, r.started_at, r.id""",
        LIVE_WITHIN,
        timeout=timeout,
    )
    return [RunnerStatus(*row) for row in rows]


async def lease_statuses(conn: Conn, *, timeout: float | None = None) -> list[LeaseStatus]:
    """Who owns each bot and each chat: every lease row, and every stored bot or chat without one."""
    if not await _has_fleet_tables(conn, timeout):
        return []
    rows = await conn.fetch(
        """WITH keys AS (
               SELECT 'bot' AS kind, name AS key FROM bots
               UNION SELECT 'chat', id::text FROM chats
               UNION SELECT kind, key FROM leases)
           SELECT k.kind, k.key, l.owner, l.epoch, l.acquired_at, l.expires_at,
                  extract(epoch FROM l.expires_at - now())::float8,
                  coalesce(r.heartbeat_at > now() - $1::interval AND NOT r.stopping, false)
           FROM keys k
           LEFT JOIN leases l ON l.kind = k.kind AND l.key = k.key
           LEFT JOIN runners r ON r.id = l.owner
           ORDER BY k.kind,  -- chats by number, as the chats table lists them
                    CASE WHEN k.kind = 'chat' AND k.key ~ '^-?[0-9]{1,18}$' THEN k.key::bigint END, k.key""",
        LIVE_WITHIN,
        timeout=timeout,
    )
    return [LeaseStatus(*row) for row in rows]
