"""One runner's place in the fleet: heartbeat, leases claimed and given back, and the fence.

Every round (each heartbeat, or at once when another runner joins, stops or
releases something) the runner renews its heartbeat and every lease it holds
in one transaction, reads which runners are live, and works out (rendezvous
hashing with bounded loads, among the live runners on the same bots.yaml:
`assignment.py`) which bots and chats should be its own. It gives back what
should be another live runner's (after stopping that work cleanly: the bot's
offset confirmed, the chat's answers handed to the outbox) and claims what
should be its own once it is free. A lease it no longer finds among its own
was taken by another runner: that work stops at once.

The fence: a runner that has not renewed for `fence_after` seconds (less than
the lease's time to live) stands everything down — no poll, no send — before
any of its leases can expire and be claimed by another runner. It stands up
again once a renewal succeeds, with the leases it still holds.

A dead sibling on the same host (its pid is gone) is forgotten at once, so a
runner restarted after a crash gets its bots back without waiting out the
expiry; between machines only the expiry tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable, Collection
from typing import Protocol

import asyncpg
import structlog

from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.fleet import store
from piyasa_bot.fleet.assignment import LeaseKey, assign, roster_fingerprint
from piyasa_bot.fleet.store import RunnerRow
from piyasa_bot.fleet.timing import FleetTiming
from piyasa_bot.sending.work import BackgroundWork

log = structlog.get_logger(__name__)

# Runners silent this long (and owning nothing) are dropped from the table.
FORGET_AFTER = 3600.0
LEAVE_TIMEOUT = 2.0  # seconds a stopping runner gives its bots and chats to stop before releasing them


class FleetWork(Protocol):
    """What a runner does with its leases (the runner)."""

    async def take(self, key: LeaseKey, epoch: int) -> None: ...

    async def drop(self, key: LeaseKey, reason: str) -> None: ...

    def stand_down(self, reason: str) -> None: ...

    def stand_up(self) -> None: ...

    async def settled(self) -> None: ...


def runner_identity(host: str | None = None) -> RunnerRow:
    host = host or socket.gethostname()
    pid = os.getpid()
    return RunnerRow(f"{host}:{pid}:{secrets.token_hex(2)}", host, pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


class Fleet:
    def __init__(
        self,
        pool: asyncpg.Pool,
        me: RunnerRow,
        wanted: Callable[[], Collection[LeaseKey]],
        work: FleetWork,
        timing: FleetTiming | None = None,
    ) -> None:
        self.pool = pool
        self.me = me
        self.wanted = wanted  # the roster's keys as applied now
        self.work = work
        self.timing = timing or FleetTiming()
        self.held: dict[LeaseKey, int] = {}  # key -> epoch
        self.live: list[str] = [me.id]  # every live runner of the database
        self.peers: list[str] = [me.id]  # the live runners on the same roster: they share it out
        self._disagreeing: list[str] = []  # live runners on another bots.yaml, as last logged
        self.fenced = False
        self._renewed_at = time.monotonic()
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._failing = False
        self._last_error = "no round finished"
        self._next_wait = self.timing.heartbeat
        self._leaving = False
        self._round_lock = asyncio.Lock()
        self._releasing: set[LeaseKey] = set()  # given back: its work stopping, its row not yet released
        self._paused: dict[LeaseKey, float] = {}  # given up after a 409: not claimed before this monotonic time
        self._background = BackgroundWork("fleet.handover_failed")

    # --- what the rest of the runner asks ------------------------------------------------------

    @property
    def id(self) -> str:
        return self.me.id

    @property
    def alone(self) -> bool:
        """No other live runner: nobody else stores messages or queues rows for this runner's bots."""
        return self.live == [self.me.id]

    def epoch(self, key: LeaseKey) -> int | None:
        return self.held.get(key)

    def holds(self, key: LeaseKey) -> bool:
        return key in self.held and not self.fenced

    def give_up(self, key: LeaseKey, reason: str) -> None:
        """Another process polls this bot's token (Telegram said 409): let it go, and leave it alone a while."""
        if key not in self.held:
            return
        self._paused[key] = time.monotonic() + self.timing.conflict_pause
        log.warning("fleet.giving_up", kind=key.kind, key=key.key, reason=reason, pause=self.timing.conflict_pause)
        self._give_back(key, reason)

    def wake(self) -> None:
        """Look again now (another runner joined, stopped or released something; the roster changed)."""
        self._wake.set()

    # --- joining and leaving -------------------------------------------------------------------

    async def join(self) -> None:
        """Register, forget dead siblings, and claim a first share (its work starts before this returns)."""
        await store.register(self.pool, self.me, roster_fingerprint(self.wanted()))
        await self._forget_dead_siblings()
        await store.forget_long_dead(self.pool, FORGET_AFTER)
        log.info("fleet.joined", runner=self.me.id)
        await self.round()
        self._loop = asyncio.create_task(self._run(), name="fleet")
        self._watch = asyncio.create_task(self._watch_renewals(), name="fleet-fence")

    async def leave(self, timeout: float = LEAVE_TIMEOUT) -> None:
        """Hand everything over: stopping (the others count this runner out), the bots' work stopped (offsets
        confirmed) and released at once so the others poll them, then the chats'; then the row goes.
        Whatever does not stop within `timeout` is released anyway: its rows come again to the next owner."""
        self._leaving = True
        for task in (self._loop, self._watch):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        deadline = time.monotonic() + timeout
        await self._background.drain(timeout / 2)  # give-backs under way finish first, within the same bound
        async with self._round_lock:
            with contextlib.suppress(*DATABASE_ERRORS):
                await store.stopping(self.pool, self.me.id)
            for kind in ("bot", "chat"):
                keys = [key for key in self.held if key.kind == kind]
                drops = [asyncio.create_task(self.work.drop(key, "stopping")) for key in keys]
                if drops:
                    _, late = await asyncio.wait(drops, timeout=max(deadline - time.monotonic(), 0.05))
                    for drop in late:
                        drop.cancel()
                with contextlib.suppress(*DATABASE_ERRORS):
                    await store.release(self.pool, self.me.id, keys)
                for key in keys:
                    self.held.pop(key, None)
                    log.info("fleet.released", kind=key.kind, key=key.key, runner=self.me.id, reason="stopping")
            with contextlib.suppress(*DATABASE_ERRORS):
                await store.leave(self.pool, self.me.id)
        log.info("fleet.left", runner=self.me.id)

    async def _forget_dead_siblings(self) -> None:
        dead = [row.id for row in await store.siblings(self.pool, self.me) if not pid_alive(row.pid)]
        if dead:
            await store.forget(self.pool, dead)
            log.info("fleet.forgot_dead", runners=dead, why="their process is gone from this host")

    # --- the rounds ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            wait = self.timing.retry if self._failing else self._next_wait
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            try:
                await self.round()
            except Exception as error:  # noqa: BLE001 - a bug or an odd database error: said, and tried again
                log.error("fleet.round_failed", error=f"{type(error).__name__}: {error}")

    async def round(self) -> None:
        async with self._round_lock:
            if self._leaving:
                return
            started = time.monotonic()
            wanted = set(self.wanted())
            try:
                still, leases = await self._read(roster_fingerprint(wanted))
            except DATABASE_ERRORS as error:
                if not self._failing:
                    log.warning("fleet.renewal_failed", runner=self.me.id, error=type(error).__name__)
                self._failing, self._last_error = True, type(error).__name__
                return
            self._renewed_at, self._failing = started, False
            for key in [key for key in self.held if key not in still]:
                del self.held[key]
                log.warning("fleet.lost", kind=key.kind, key=key.key, why="another runner holds it now")
                self._background.spawn(self.work.drop(key, "taken by another runner"))
            if self.fenced:
                self.fenced = False
                log.warning("fleet.unfenced", runner=self.me.id, holds=len(self.held))
                self.work.stand_up()
            await self._settle(wanted, leases)
            await self.work.settled()

    async def _read(self, roster: str) -> tuple[dict[LeaseKey, int], list[store.LeaseRow]]:
        timeout = self.timing.query_timeout  # each step's: a cut network answers nothing
        held = await store.heartbeat(self.pool, self.me, roster, self.timing.ttl, timeout)
        live = await store.live_runners(self.pool, self.timing.live_within, timeout)
        self.live = [runner.id for runner in live] or [self.me.id]
        self.peers = [runner.id for runner in live if runner.roster == roster] or [self.me.id]
        self._note_disagreement(sorted(runner.id for runner in live if runner.roster != roster))
        return {lease.key: lease.epoch for lease in held}, await store.leases(self.pool, timeout)

    def _note_disagreement(self, others: list[str]) -> None:
        """Say so once when live runners run another bots.yaml, and once when they agree again."""
        if others == self._disagreeing:
            return
        if others:
            log.warning(
                "fleet.roster_differs",
                runner=self.me.id,
                others=others,
                consequence="they share out their own bots.yaml apart from this runner's; "
                "a bot or chat in both goes to whichever claims it first",
                fix="give every runner of the database the same bots.yaml",
            )
        else:
            log.info("fleet.roster_agrees", runner=self.me.id)
        self._disagreeing = others

    async def _watch_renewals(self) -> None:
        """The fence, on its own clock: a round stuck on a dead connection must not hold it up."""
        while True:
            await asyncio.sleep(0.25)
            silent_for = time.monotonic() - self._renewed_at
            if self.fenced or silent_for < self.timing.fence_after:
                continue
            self.fenced = True
            reason = f"no lease renewal for {silent_for:.1f} s (last: {self._last_error})"
            log.error(
                "fleet.fenced",
                runner=self.me.id,
                reason=reason,
                consequence="polling and sending stop before the leases can expire",
            )
            self.work.stand_down(reason)

    async def _settle(self, wanted: set[LeaseKey], leases: list[store.LeaseRow]) -> None:
        """Give back what is another live runner's, claim what is this one's and free."""
        live = list(self.peers)
        if self.me.id not in live:
            live.append(self.me.id)  # a round before this runner's row is read back counts it anyway
        for key in [key for key in self.held if key not in wanted]:
            self._give_back(key, "not in bots.yaml any more")
        owners = assign(wanted, live)
        for key in [key for key in self.held if owners[key] != self.me.id]:
            self._give_back(key, "rebalanced")
        rows = {row.key: row for row in leases}
        now = time.monotonic()
        self._paused = {key: until for key, until in self._paused.items() if until > now}
        mine = [
            key
            for key in wanted
            if key not in self.held
            and key not in self._releasing
            and key not in self._paused
            and owners[key] == self.me.id
        ]
        free = [key for key in mine if self._claimable(rows.get(key))]
        self._next_wait = self._until_expiry([rows[key] for key in mine if key in rows and key not in free])
        for held in await store.claim(self.pool, self.me.id, free, self.timing.ttl):
            self.held[held.key] = held.epoch
            log.info("fleet.claimed", kind=held.key.kind, key=held.key.key, epoch=held.epoch, runner=self.me.id)
            await self.work.take(held.key, held.epoch)

    def _claimable(self, row: store.LeaseRow | None) -> bool:
        return row is None or row.owner is None or row.owner == self.me.id or row.expires_in < 0

    def _until_expiry(self, waiting: list[store.LeaseRow]) -> float:
        """Seconds to the next round: a heartbeat, or sooner when a lease this runner wants expires."""
        soonest = min((row.expires_in for row in waiting), default=self.timing.heartbeat)
        return max(0.05, min(self.timing.heartbeat, soonest + 0.05))

    def _give_back(self, key: LeaseKey, reason: str) -> None:
        """Stop the key's work and release it, beside the rounds (a poll or a chat may take a second or two
        to stop, and the heartbeat must go on). Not held from now on: nothing new is sent under it."""
        self.held.pop(key, None)
        self._releasing.add(key)

        async def give_back() -> None:
            try:
                await self.work.drop(key, reason)
                with contextlib.suppress(*DATABASE_ERRORS):
                    await store.release(self.pool, self.me.id, [key])  # else it expires: the others wait it out
                log.info("fleet.released", kind=key.kind, key=key.key, runner=self.me.id, reason=reason)
            finally:
                self._releasing.discard(key)

        self._background.spawn(give_back())
