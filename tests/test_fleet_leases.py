"""Leases: runners on one database split the keys, hand them over cleanly, and stand down before expiry.

Real PostgreSQL, the fleet's coordinator with a recording stand-in for the
runner's work (what starts and stops is the runner's; who holds what, and
when, is the coordinator's), on short timings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import pytest
from structlog.testing import capture_logs

from piyasa_bot.db.pool import open_pool
from piyasa_bot.fleet.assignment import LeaseKey
from piyasa_bot.fleet.coordinator import Fleet
from piyasa_bot.fleet.store import RunnerRow
from piyasa_bot.fleet.timing import FleetTiming

pytestmark = pytest.mark.timeout(60)

FAST = FleetTiming(heartbeat=0.2, ttl=1.2, fence_after=0.7, retry=0.1, query_timeout=0.3)
KEYS = [LeaseKey("bot", f"bot{i:02d}") for i in range(12)] + [LeaseKey("chat", str(-100 - i)) for i in range(3)]


class Work:
    """What a runner would start and stop, recorded with the time."""

    def __init__(self, changed: asyncio.Event | None = None) -> None:
        self.running: dict[LeaseKey, int] = {}
        self.events: list[tuple[float, str, LeaseKey | None]] = []
        self.stood_down_at: float | None = None
        self.changed = changed or asyncio.Event()  # shared by works whose conditions read each other

    async def take(self, key: LeaseKey, epoch: int) -> None:
        self.running[key] = epoch
        self._note("take", key)

    async def drop(self, key: LeaseKey, reason: str) -> None:
        self.running.pop(key, None)
        self._note("drop", key)

    def stand_down(self, reason: str) -> None:
        self.stood_down_at = time.monotonic()
        self._note("down", None)

    def stand_up(self) -> None:
        self._note("up", None)

    async def settled(self) -> None:
        return None

    def _note(self, what: str, key: LeaseKey | None) -> None:
        self.events.append((time.monotonic(), what, key))
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        async def reached() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(reached(), timeout)


def runner(name: str, pid: int) -> RunnerRow:
    # Another "host" each, so that only the heartbeat tells a death (as between machines).
    return RunnerRow(f"{name}:{pid}:0000", name, pid)


async def holders(pool: asyncpg.Pool) -> dict[str, str | None]:
    rows = await pool.fetch("SELECT kind || ':' || key AS k, owner FROM leases WHERE expires_at > now()")
    return {row["k"]: row["owner"] for row in rows}


async def test_runners_split_the_keys_and_hand_them_over_at_once_when_one_leaves(dsn: str) -> None:
    pool_a, pool_b = await open_pool(dsn), await open_pool(dsn)
    changed = asyncio.Event()
    work_a, work_b = Work(changed), Work(changed)
    a = Fleet(pool_a, runner("a", 1), lambda: KEYS, work_a, FAST)
    b = Fleet(pool_b, runner("b", 2), lambda: KEYS, work_b, FAST)
    try:
        await a.join()
        assert set(work_a.running) == set(KEYS)  # alone: everything, from the first round

        await b.join()  # a hears nothing by notification here: its next heartbeat rebalances
        await work_a.until(lambda: set(work_a.running) | set(work_b.running) == set(KEYS) and bool(work_b.running))
        await work_b.until(lambda: len(work_a.running) + len(work_b.running) == len(KEYS))
        assert not set(work_a.running) & set(work_b.running)  # nothing is run twice
        # Even shares of each kind: 12 bots six each, 3 chats two and one.
        for work in (work_a, work_b):
            assert sum(key.kind == "bot" for key in work.running) == 6
            assert sum(key.kind == "chat" for key in work.running) in (1, 2)
        # Every key b took changed hands: a higher epoch than a's, so a send under a's is refused.
        assert all(epoch >= 2 for epoch in work_b.running.values())
        owners = await holders(pool_a)
        assert {owners[str(key)] for key in work_b.running} == {b.id}

        left_at = time.monotonic()
        await b.leave()
        await work_a.until(lambda: set(work_a.running) == set(KEYS))
        taken_back = max(at for at, what, _ in work_a.events if what == "take") - left_at
        assert taken_back < FAST.ttl  # released, not waited out: well before the lease could expire
    finally:
        await a.leave()
        await pool_a.close()
        await pool_b.close()


async def test_a_runner_that_cannot_renew_stands_down_before_its_leases_expire_and_another_takes_them(
    dsn: str,
) -> None:
    pool_a, pool_b = await open_pool(dsn), await open_pool(dsn)
    changed = asyncio.Event()
    work_a, work_b = Work(changed), Work(changed)
    a = Fleet(pool_a, runner("a", 1), lambda: KEYS, work_a, FAST)
    b = Fleet(pool_b, runner("b", 2), lambda: KEYS, work_b, FAST)
    try:
        await a.join()
        await b.join()
        await work_b.until(lambda: len(work_a.running) + len(work_b.running) == len(KEYS) and bool(work_a.running))
        a_keys = set(work_a.running)

        cut_at = time.monotonic()
        pool_a.terminate()  # a's way to the database is gone: its renewals fail from now on
        await work_a.until(lambda: work_a.stood_down_at is not None)
        await work_b.until(lambda: set(work_b.running) == set(KEYS))
        assert work_a.stood_down_at is not None
        stood_down = work_a.stood_down_at - cut_at
        took_over = max(at for at, what, key in work_b.events if what == "take" and key in a_keys) - cut_at
    finally:
        await b.leave()
        await a.leave()  # its database calls fail: it gives up quietly, within its bound
        await pool_b.close()
    # a's last renewal was at most one heartbeat before the cut: it stood down before any lease of
    # its could expire, and b took them only after they had.
    assert stood_down < FAST.ttl - FAST.heartbeat
    assert stood_down < took_over
    assert took_over < FAST.ttl + 2 * FAST.heartbeat + 1.0


async def test_a_dead_sibling_on_the_same_host_is_forgotten_at_once(dsn: str) -> None:
    pool = await open_pool(dsn)
    work = Work()
    ghost = RunnerRow("here:999999:dead", "here", 999_999)  # no such process
    try:
        await pool.execute("INSERT INTO runners (id, host, pid) VALUES ($1, $2, $3)", *ghost)
        await pool.execute(
            """INSERT INTO leases (kind, key, owner, epoch, expires_at)
               SELECT kind, key, $1, 4, now() + interval '1 hour'
               FROM unnest($2::text[], $3::text[]) AS k(kind, key)""",
            ghost.id,
            [key.kind for key in KEYS],
            [key.key for key in KEYS],
        )
        fleet = Fleet(pool, RunnerRow("here:1:live", "here", 1), lambda: KEYS, work, FAST)
        await fleet.join()  # pid 1 is alive; 999999 is not: its leases are free now, not in an hour
        assert set(work.running) == set(KEYS)
        assert set(work.running.values()) == {5}
        await fleet.leave()
        assert await pool.fetchval("SELECT count(*) FROM runners") == 0
        assert await pool.fetchval("SELECT count(*) FROM leases WHERE owner IS NOT NULL") == 0
    finally:
        await pool.close()


async def test_runners_on_different_bots_yaml_keep_every_key_with_one_of_them_and_say_so(dsn: str) -> None:
    """Halfway through a rolling bots.yaml change (or by mistake) two rosters share a database: each
    runner shares out its own among the runners on the same one, so a key of both goes to whoever
    claims it first and stays there, a key of one roster only is its runner's, and nothing is orphaned."""
    pool_a, pool_b = await open_pool(dsn), await open_pool(dsn)
    changed = asyncio.Event()
    work_a, work_b = Work(changed), Work(changed)
    only_b = LeaseKey("bot", "newcomer")
    a = Fleet(pool_a, runner("a", 1), lambda: KEYS, work_a, FAST)
    b = Fleet(pool_b, runner("b", 2), lambda: [*KEYS, only_b], work_b, FAST)
    try:
        with capture_logs() as logs:
            await a.join()
            await b.join()
            for _ in range(2):  # rounds of each, as their heartbeats would run them: nothing moves
                await a.round()
                await b.round()
        assert set(work_a.running) == set(KEYS)  # a was first: b waits for a's keys rather than fight
        assert set(work_b.running) == {only_b}
        assert [what for _, what, _ in work_a.events + work_b.events if what != "take"] == []
        owners = await holders(pool_a)
        assert owners == {str(key): a.id for key in KEYS} | {str(only_b): b.id}
        said = [(e["runner"], e["others"]) for e in logs if e["event"] == "fleet.roster_differs"]
        assert sorted(said) == [(a.id, [b.id]), (b.id, [a.id])]  # once each, not at every heartbeat
    finally:
        await a.leave()
        await b.leave()
        await pool_a.close()
        await pool_b.close()
