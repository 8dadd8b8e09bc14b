"""The runner as a member of the fleet: what starts and stops as its leases come and go.

A bot's lease: this runner polls it and sends its outbox rows (claimed under
the lease's epoch), within its share of the roster-wide limit. A chat's
lease: this runner directs it, and reads back what the others stored in it.
Bots polled elsewhere are still known here (a chat's director may make any
bot of it speak): their identities come from the database, where their
owners wrote them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import structlog

from piyasa_bot.db.retry import RETRYABLE
from piyasa_bot.fleet.assignment import LeaseKey
from piyasa_bot.fleet.bus import MESSAGES_CHANNEL, OUTBOX_CHANNEL, STEERING_CHANNEL, Bus
from piyasa_bot.fleet.coordinator import Fleet
from piyasa_bot.fleet.line_feed import LineFeed
from piyasa_bot.fleet.store import FLEET_CHANNEL, RunnerRow
from piyasa_bot.fleet.timing import FleetTiming
from piyasa_bot.sending.rights import BotLease
from piyasa_bot.sending.work import BackgroundWork

if TYPE_CHECKING:
    from piyasa_bot.instance_fence import InstanceFence
    from piyasa_bot.services import Services

log = structlog.get_logger(__name__)

OUTBOX_LOOK_EVERY = 3.0  # seconds between looks for rows another runner queued (if a notification was lost)


class Polling(Protocol):
    """The runner's poll loops, one bot at a time."""

    def start_polling(self, name: str) -> None: ...

    async def stop_polling(self, name: str, reason: str) -> None: ...


class FleetMember:
    def __init__(
        self,
        services: Services,
        polling: Polling,
        fence: InstanceFence,
        me: RunnerRow,
        dsn: str,
        timing: FleetTiming | None = None,
    ) -> None:
        self.services = services
        self.polling = polling
        self.fence = fence
        self.me = me
        self.fleet = Fleet(services.pool, me, self._wanted, self, timing)
        rooms = services.rooms
        self.feed = (
            LineFeed(services.pool, me.id, self._directed_ids, rooms, others=lambda: not self.fleet.alone)
            if rooms is not None
            else None
        )
        self.bus = Bus(
            dsn,
            me.id,
            {
                FLEET_CHANNEL: self._fleet_changed,
                OUTBOX_CHANNEL: self._row_queued,
                STEERING_CHANNEL: self._steered,
                **({MESSAGES_CHANNEL: self.feed.inserted} if self.feed is not None else {}),
            },
            on_reconnected=self._reconnected,
        )
        self._work = BackgroundWork("fleet.work_failed")
        self._refused: set[str] = set()  # bots whose claims were refused since the last round
        self._joined = False  # the bots of the first share are resumed by the runner's start (load_pending)
        self._looked_at = time.monotonic()

    # --- lifecycle -----------------------------------------------------------------------------

    async def join(self) -> None:
        """Listen, then register and take a first share (its bots and chats start before this returns)."""
        await self.bus.start()
        await self.fleet.join()
        self._joined = True
        if self.feed is not None:
            self.feed.start()

    async def leave(self) -> None:
        """Hand every bot and chat over (each stopped cleanly first), then stop listening."""
        await self.fleet.leave()
        if self.feed is not None:
            await self.feed.close()
        await self.bus.close()
        await self._work.cancel()

    # --- what may be sent here (the outbox's SendRights) -----------------------------------------

    def sends_for(self, bot: str) -> bool:
        return self.fleet.holds(LeaseKey("bot", bot))

    def lease_of(self, bot: str) -> BotLease | None:
        epoch = self.fleet.epoch(LeaseKey("bot", bot))
        return BotLease(self.me.id, epoch if epoch is not None else -1)

    def refused(self, bot: str) -> None:
        self._refused.add(bot)
        self.fleet.wake()  # renew now: if the lease is still this runner's, its rows are queued again

    # --- FleetWork ---------------------------------------------------------------------------------

    async def take(self, key: LeaseKey, epoch: int) -> None:
        services = self.services
        if key.kind == "bot":
            if key.key not in services.bots:
                return  # left bots.yaml meanwhile: the next round gives it back
            self.polling.start_polling(key.key)
            self._work.spawn(self._adopt(key.key, queue=self._joined))
        elif services.rooms is not None:
            services.rooms.take(int(key.key))
            services.deps.steering.reapply()
        self._share()

    async def drop(self, key: LeaseKey, reason: str) -> None:
        services = self.services
        if key.kind == "bot":
            await self.polling.stop_polling(key.key, reason)
            await services.outbox.release(key.key)
        elif services.rooms is not None:
            await services.rooms.give_up(int(key.key))
        self._share()

    def conflict(self, bot: str) -> None:
        """Telegram answered 409: another process polls this token. It won; this runner gives the bot up."""
        self.fleet.give_up(LeaseKey("bot", bot), "409 from Telegram: another process polls this token")

    def stand_down(self, reason: str) -> None:
        self.fence.lost(reason)

    def stand_up(self) -> None:
        self.fence.regained()

    async def settled(self) -> None:
        """After every round: identities of the bots polled elsewhere, and rows queued for ours meanwhile."""
        await self._learn_identities()
        refused, self._refused = self._refused, set()
        bots = self.services.bots
        again = [bots[name].db_id for name in refused if name in bots and self.sends_for(name)]
        if again:  # renewed and still ours: the rows a refused claim left pending go out after all
            self._work.spawn(self._look(again))
        if not self.fleet.alone and time.monotonic() - self._looked_at >= OUTBOX_LOOK_EVERY:
            self._looked_at = time.monotonic()
            self._work.spawn(self._look(self._own_bot_ids()))

    # --- helpers -------------------------------------------------------------------------------

    def _wanted(self) -> list[LeaseKey]:
        roster = self.services.deps.roster
        return [LeaseKey("bot", bot.name) for bot in roster.bots] + [
            LeaseKey("chat", str(chat.id)) for chat in roster.chats
        ]

    def _directed_ids(self) -> list[int]:
        rooms, aliases = self.services.rooms, self.services.aliases
        return [aliases.current(chat_id) for chat_id in rooms.directors] if rooms is not None else []

    def _own_bot_ids(self) -> list[int]:
        bots = self.services.bots
        return [bots[key.key].db_id for key in self.fleet.held if key.kind == "bot" and key.key in bots]

    def _share(self) -> None:
        roster = self.services.deps.roster
        mine = sum(1 for key in self.fleet.held if key.kind == "bot")
        self.services.outbox.limits.set_share(mine / len(roster.bots) if roster.bots else 1.0)

    async def _adopt(self, name: str, queue: bool) -> None:
        """Once the bot is identified (sends are recorded under its Telegram id): its limits and rows."""
        await self.services.bots.wait_known([name], 30.0)
        if self.sends_for(name):
            await self.services.outbox.adopt(name, queue=queue)

    async def _look(self, bot_ids: list[int]) -> None:
        if bot_ids:
            await self.services.outbox.look(bot_ids)

    async def _learn_identities(self) -> None:
        bots = self.services.bots
        unknown = [name for name in bots.pending if not self.fleet.holds(LeaseKey("bot", name))]
        if not unknown:
            return
        try:
            rows = await self.services.pool.fetch(
                "SELECT name, telegram_id, username, state FROM bots WHERE name = ANY($1::text[])", unknown, timeout=1.0
            )
        except RETRYABLE:
            return  # the next round asks again
        for row in rows:
            handle = bots.get(row["name"])
            if row["state"] == "disabled":
                bots.gave_up(row["name"])  # its owner found the token rejected: nobody waits for it
            elif handle is not None and not handle.telegram_id and row["telegram_id"] is not None:
                handle.telegram_id, handle.username = row["telegram_id"], row["username"] or ""
                bots.identified(handle.name)

    def _fleet_changed(self, runner: str) -> None:
        if runner != self.me.id:
            self.fleet.wake()

    def _row_queued(self, payload: str) -> None:
        try:
            bot_id = int(payload)
        except ValueError:
            log.warning("fleet.odd_notification", channel="outbox", payload=payload[:80])
            return
        if bot_id in self._own_bot_ids():
            self._work.spawn(self._look([bot_id]))

    def _steered(self, runner: str) -> None:
        if runner != self.me.id:  # its own change is applied already
            self._work.spawn(self.services.deps.steering.reload())

    def _reconnected(self) -> None:
        self.fleet.wake()
        if self.feed is not None:
            self.feed.look_now()
        self._work.spawn(self._look(self._own_bot_ids()))
