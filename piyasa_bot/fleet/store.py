"""The fleet's tables as a runner reads and writes them (literal SQL, sql/0013_fleet.sql, sql/0014).

Time is always PostgreSQL's `now()`: runners on different machines compare
expiries on one clock, whatever their own clocks say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from piyasa_bot.fleet.assignment import LeaseKey

FLEET_CHANNEL = "piyasa_fleet"  # a runner joined, is stopping, or released leases: look again now


class Held(NamedTuple):
    key: LeaseKey
    epoch: int


class LeaseRow(NamedTuple):
    key: LeaseKey
    owner: str | None
    epoch: int
    expires_in: float  # seconds; negative once expired


class RunnerRow(NamedTuple):
    id: str
    host: str
    pid: int


class LiveRunner(NamedTuple):
    id: str
    roster: str  # the fingerprint of the bots.yaml it runs ('' from a runner older than sql/0014)


async def register(conn: asyncpg.Pool | asyncpg.Connection, runner: RunnerRow, roster: str) -> None:
    await conn.execute(
        """INSERT INTO runners (id, host, pid, roster) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopping = false, roster = $4""",
        runner.id,
        runner.host,
        runner.pid,
        roster,
    )
    await notify(conn, runner.id)


async def heartbeat(conn: asyncpg.Pool, runner: RunnerRow, roster: str, ttl: float, timeout: float) -> list[Held]:
    """Say this runner lives and push back the expiry of every lease it holds; the leases it still holds.

    Its own leases are renewed even if they expired meanwhile (nobody took them: the owner is
    still this runner); a lease another runner took is no longer among them.
    """
    # asyncpg's own timeouts, not a cancellation from outside: a query cancelled that way can leave
    # its connection busy when it goes back to the pool, and the next user of it fails.
    async with conn.acquire(timeout=timeout) as connection, connection.transaction():
        await connection.execute(
            """INSERT INTO runners (id, host, pid, roster) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), roster = $4""",
            runner.id,
            runner.host,
            runner.pid,
            roster,
            timeout=timeout,
        )
        rows = await connection.fetch(
            """UPDATE leases SET expires_at = now() + make_interval(secs => $2)
               WHERE owner = $1 RETURNING kind, key, epoch""",
            runner.id,
            ttl,
            timeout=timeout,
        )
    return [Held(LeaseKey(row["kind"], row["key"]), row["epoch"]) for row in rows]


async def live_runners(conn: asyncpg.Pool, within: float, timeout: float) -> list[LiveRunner]:
    """Runners whose heartbeat is this recent and that are not handing their work over."""
    rows = await conn.fetch(
        """SELECT id, roster FROM runners
           WHERE heartbeat_at > now() - make_interval(secs => $1) AND NOT stopping ORDER BY id""",
        within,
        timeout=timeout,
    )
    return [LiveRunner(row["id"], row["roster"]) for row in rows]


async def siblings(conn: asyncpg.Pool, runner: RunnerRow) -> list[RunnerRow]:
    """The other runners registered on this runner's host."""
    rows = await conn.fetch("SELECT id, host, pid FROM runners WHERE host = $1 AND id <> $2", runner.host, runner.id)
    return [RunnerRow(row["id"], row["host"], row["pid"]) for row in rows]


async def forget(conn: asyncpg.Pool, runner_ids: Sequence[str]) -> None:
    """Runners known to be dead: their row goes and their leases are free at once."""
    async with conn.acquire() as connection, connection.transaction():
        await connection.execute("UPDATE leases SET owner = NULL WHERE owner = ANY($1::text[])", list(runner_ids))
        await connection.execute("DELETE FROM runners WHERE id = ANY($1::text[])", list(runner_ids))


async def forget_long_dead(conn: asyncpg.Pool, older_than: float) -> None:
    """Rows of runners silent for a long time (they own nothing any more): the fleet view stays readable."""
    await conn.execute(
        """DELETE FROM runners WHERE heartbeat_at < now() - make_interval(secs => $1)
             AND NOT EXISTS (SELECT 1 FROM leases WHERE owner = runners.id AND expires_at > now())""",
        older_than,
    )


async def leases(conn: asyncpg.Pool, timeout: float) -> list[LeaseRow]:
    rows = await conn.fetch(
        "SELECT kind, key, owner, epoch, extract(epoch FROM expires_at - now())::float8 AS expires_in FROM leases",
        timeout=timeout,
    )
    return [LeaseRow(LeaseKey(row["kind"], row["key"]), row["owner"], row["epoch"], row["expires_in"]) for row in rows]


async def claim(conn: asyncpg.Pool, runner: str, keys: Sequence[LeaseKey], ttl: float) -> list[Held]:
    """Take the keys that are free (never held, released, expired, or held by a runner that is gone).

    One statement for all of them; the epoch goes up at every change of hands, so a
    send claimed under an older epoch is refused (the outbox's fence).
    """
    if not keys:
        return []
    rows = await conn.fetch(
        """INSERT INTO leases AS l (kind, key, owner, epoch, acquired_at, expires_at)
           SELECT kind, key, $3, 1, now(), now() + make_interval(secs => $4)
           FROM unnest($1::text[], $2::text[]) AS k(kind, key)
           ON CONFLICT (kind, key) DO UPDATE
             SET owner = EXCLUDED.owner, epoch = l.epoch + 1, acquired_at = now(), expires_at = EXCLUDED.expires_at
             WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at < now()
                OR NOT EXISTS (SELECT 1 FROM runners r WHERE r.id = l.owner)
           RETURNING kind, key, epoch""",
        [key.kind for key in keys],
        [key.key for key in keys],
        runner,
        ttl,
    )
    return [Held(LeaseKey(row["kind"], row["key"]), row["epoch"]) for row in rows]


async def release(conn: asyncpg.Pool | asyncpg.Connection, runner: str, keys: Sequence[LeaseKey]) -> None:
    """Give keys back (their work stopped cleanly): free at once for whoever should own them."""
    if not keys:
        return
    await conn.execute(
        """UPDATE leases SET owner = NULL, expires_at = now()
           FROM unnest($2::text[], $3::text[]) AS k(kind, key)
           WHERE leases.kind = k.kind AND leases.key = k.key AND leases.owner = $1""",
        runner,
        [key.kind for key in keys],
        [key.key for key in keys],
    )
    await notify(conn, runner)


async def stopping(conn: asyncpg.Pool, runner: str) -> None:
    """This runner hands its work over: the others count it out from now on."""
    await conn.execute("UPDATE runners SET stopping = true WHERE id = $1", runner)
    await notify(conn, runner)


async def leave(conn: asyncpg.Pool, runner: str) -> None:
    async with conn.acquire() as connection, connection.transaction():
        await connection.execute("UPDATE leases SET owner = NULL, expires_at = now() WHERE owner = $1", runner)
        await connection.execute("DELETE FROM runners WHERE id = $1", runner)
    await notify(conn, runner)


async def notify(conn: asyncpg.Pool | asyncpg.Connection, runner: str) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", FLEET_CHANNEL, runner)
