"""The runner: starts the bots on built services, keeps them polling, stops them in reverse.

Everything the bots need is built beforehand by `services.open_services`;
the runner owns only what runs: its place in the fleet (fleet/member.py:
the bots whose lease it holds, it polls — one supervised poll loop each,
poll_supervision.py — and sends for; the chats whose lease it holds, it
directs), the resumption of what an earlier run left pending, the chatter,
and standing all of it down while its leases cannot be renewed
(instance_fence.py). Alone on its database it holds every lease. It leaves
the event loop and signals to its caller (the CLI, a test), so tests drive it
with `async with Runner(...)` against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import TYPE_CHECKING, Self

import structlog

from piyasa_bot.bots import BotHandle
from piyasa_bot.crypto import TokenCipher
from piyasa_bot.fleet.coordinator import Fleet, runner_identity
from piyasa_bot.fleet.member import FleetMember
from piyasa_bot.fleet.timing import FleetTiming
from piyasa_bot.instance_fence import Chatter, InstanceFence
from piyasa_bot.llm import LlmConfig
from piyasa_bot.poll_supervision import PollSupervisor
from piyasa_bot.polling import DISABLED_RECHECK, LONGEST_POLL_TIMEOUT, BotPoller, BotState
from piyasa_bot.polling_shared import Recovery
from piyasa_bot.removal_grace import REMOVAL_GRACE
from piyasa_bot.roster import BotConfig
from piyasa_bot.roster_apply import apply_roster, register
from piyasa_bot.roster_loader import LoadedRoster
from piyasa_bot.services import ServiceOptions, Services, open_services
from piyasa_bot.telegram import make_bot

if TYPE_CHECKING:
    import asyncpg

    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.console.options import ConsoleOptions
    from piyasa_bot.console.server import ConsoleServer
    from piyasa_bot.deps import Deps
    from piyasa_bot.ingest.pipeline import Ingest
    from piyasa_bot.ingest.writer import MessageWriter
    from piyasa_bot.metrics_server import MetricsServer
    from piyasa_bot.sending.outbox import Outbox

log = structlog.get_logger(__name__)

# The longest pause of a bot whose batches bring only copies (another bot stored them): their
# copies pile up into fewer, larger batches. Tests shorten it, so that offsets confirm soon.
COPIES_PAUSE = 5.0


class Runner:
    def __init__(
        self,
        loaded: LoadedRoster,
        *,
        dsn: str,
        api_base: str,
        cipher: TokenCipher,
        poll_timeout: int = LONGEST_POLL_TIMEOUT,
        disabled_recheck: float = DISABLED_RECHECK,
        copies_pause: float = COPIES_PAUSE,
        conversation: bool = True,
        seed: int | None = None,
        pace_scale: float = 1.0,
        llm: LlmConfig | None = None,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        removal_grace: float = REMOVAL_GRACE,
        console: ConsoleOptions | None = None,
        fleet_host: str | None = None,
        fleet_timing: FleetTiming | None = None,
    ) -> None:
        self.loaded = loaded
        self.me = runner_identity(fleet_host)
        self.fleet_timing = fleet_timing
        self.cipher = cipher
        self.poll_timeout = poll_timeout
        self.disabled_recheck = disabled_recheck  # seconds between getMe checks of a bot whose token was rejected
        self.copies_pause = copies_pause
        self.options = ServiceOptions(
            dsn=dsn,
            api_base=api_base,
            conversation=conversation,
            seed=seed,
            pace_scale=pace_scale,
            llm=llm,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            removal_grace=removal_grace,
            console=console,
            runner_id=self.me.id,
        )
        self._dsn = dsn
        self._polls = PollSupervisor(self._on_state, self._identified)
        self._chatter = Chatter()
        # Leases not renewed: polling, chatter and sends stand down until a renewal succeeds.
        self._fence = InstanceFence(self._polls, self._chatter)
        self._member: FleetMember | None = None
        self._configs: dict[str, BotConfig] = {}  # every bot of the roster, polled here or not
        self._stack = contextlib.AsyncExitStack()
        self._services: Services | None = None
        self._resume: asyncio.Task[None] | None = None
        # One for every poller: the first call that succeeds after an outage wakes every bot backing off.
        self._recovery = Recovery()

    # --- what the runner is built on -------------------------------------------------------

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the runner has not started")
        return self._services

    # Read access to the services most callers want (tests, metrics, simulate, the load test).
    @property
    def pool(self) -> asyncpg.Pool:
        return self.services.pool

    @property
    def writer(self) -> MessageWriter:
        return self.services.writer

    @property
    def outbox(self) -> Outbox:
        return self.services.outbox

    @property
    def rooms(self) -> ChatRooms | None:
        return self.services.rooms

    @property
    def ingest(self) -> Ingest:
        return self.services.ingest

    @property
    def deps(self) -> Deps:
        return self.services.deps

    @property
    def metrics(self) -> MetricsServer | None:
        return self.services.metrics

    @property
    def console(self) -> ConsoleServer | None:
        return self.services.console

    @property
    def fenced(self) -> bool:
        """True while this runner's leases cannot be renewed: nothing polls or sends."""
        return self._fence.fenced

    @property
    def fleet(self) -> Fleet | None:
        """This runner's place in the fleet (None before it joined)."""
        return self._member.fleet if self._member is not None else None

    @property
    def member(self) -> FleetMember:
        if self._member is None:
            raise RuntimeError("the runner has not started")
        return self._member

    @property
    def pollers(self) -> dict[str, BotPoller]:
        """Every bot's poller by name (kept while polling is fenced off, for metrics and status)."""
        return self._polls.pollers

    @property
    def poll_restarts(self) -> dict[str, int]:
        """Bot -> times its poll loop ended and was started again."""
        return self._polls.restarts

    # --- start ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._services = services = await self._stack.enter_async_context(
            open_services(self.loaded, self.options, metrics_view=self)
        )
        await self._fence.guard(services.outbox)
        self._chatter.rooms = services.rooms
        roster = self.loaded.roster
        ids = await register(services.pool, self.cipher, services.aliases, self.loaded)
        for bot in roster.bots:
            self.start_bot(bot, ids[bot.name], self.loaded.tokens[bot.name])
        self._member = member = FleetMember(services, self, self._fence, self.me, self._dsn, self.fleet_timing)
        services.outbox.rights = member
        await member.join()  # polls the bots and directs the chats it holds from here on
        self._resume = asyncio.create_task(self._resume_outbox(), name="outbox-resume")
        self._chatter.wanted = True
        await self._chatter.follow()
        if services.market is not None:
            services.market.start()  # the simulated market's saving, or the live one's fetching
        if services.news is not None:
            services.news.start()
        # Everything built so far lives as long as the runner: keep it out of the
        # collector's full scans, which otherwise stall the loop for milliseconds.
        gc.collect()
        gc.freeze()
        log.info("runner.started", bots=len(roster.bots), chats=len(roster.chats))

    async def _resume_outbox(self) -> None:
        """Queue what an earlier run left pending, once the bots are identified."""
        await self.wait_polling(timeout=None)
        resumed = await self.services.outbox.load_pending()
        if resumed:
            log.info("outbox.resumed", pending=resumed)

    async def wait_resumed(self) -> None:
        """Return once the outbox holds what an earlier run left pending."""
        assert self._resume is not None, "the runner has not started"
        await asyncio.shield(self._resume)

    async def wait_polling(self, timeout: float | None = 30.0) -> None:
        """Return once every bot has been identified (or its token rejected); TimeoutError after `timeout` s."""
        pollers = list(self.pollers.values())
        waits = [asyncio.ensure_future(poller.settled.wait()) for poller in pollers if not poller.settled.is_set()]
        if not waits:
            return
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for wait in pending:
            wait.cancel()
        if pending:
            unsettled = sorted(poller.handle.name for poller in pollers if not poller.settled.is_set())
            raise TimeoutError(f"bots still not identified after {timeout} s: {unsettled}")

    # --- one bot -------------------------------------------------------------------------

    def start_bot(self, bot: BotConfig, db_id: int, token: str) -> None:
        """A bot of the roster: known here at once; polled here once the fleet hands it to this runner."""
        services = self.services
        services.bots.add(BotHandle(name=bot.name, db_id=db_id, bot=make_bot(token, services.session)))
        self._configs[bot.name] = bot
        if self._member is not None:
            self._member.fleet.wake()

    def start_polling(self, name: str) -> None:
        """The fleet handed this bot to this runner: poll it."""
        services = self.services
        handle, bot = services.bots[name], self._configs[name]
        services.listeners.join(name, [services.aliases.current(chat) for chat in bot.chats])
        # No IdentityGate: a message addressed to a bot not yet identified is held for it (held_messages.py).
        poller = BotPoller(
            handle,
            services.ingest,
            self._on_state,
            poll_timeout=self.poll_timeout,
            listeners=services.listeners,
            recovery=self._recovery,
            disabled_recheck=self.disabled_recheck,
            copies_pause=self.copies_pause,
        )
        self._polls.add(poller)  # polls at once, unless the runner is fenced off

    async def stop_polling(self, name: str, reason: str) -> None:
        """The bot goes to another runner (or out of bots.yaml): stop polling, confirm what was stored."""
        poller = await self._polls.remove(name)
        if poller is None:
            return
        self.services.listeners.leave(name)
        await poller.confirm()
        if poller.state is not BotState.DISABLED:  # a rejected token stays the reason shown
            self._on_state(poller.handle, BotState.STOPPED, reason)

    async def stop_bot(self, name: str) -> None:
        await self.stop_polling(name, "removed from bots.yaml")
        self.services.bots.remove(name)
        self._configs.pop(name, None)
        if self._member is not None:
            self._member.fleet.wake()

    async def apply(self, loaded: LoadedRoster) -> None:
        """A new roster while running: start added bots, stop removed ones, update the rest."""
        change = await apply_roster(self.services, self, self.cipher, self.loaded, loaded)
        self.loaded = loaded
        self._configs.update({bot.name: bot for bot in loaded.roster.bots})
        if self._member is not None:
            await self._member.fleet.round()  # what is free of the new roster is polled and directed now
        await self._chatter.roster_applied()  # fenced off or drained: no chatter either with the new roster
        # A reload is the operator's way back for a bot disabled by a rejected token: ask getMe again now.
        rechecked = [name for name, poller in self.pollers.items() if name not in change.added and poller.recheck()]
        if rechecked:
            log.info("roster.rechecking_disabled", bots=rechecked)

    def _identified(self, name: str) -> None:
        self.services.bots.identified(name)

    def _on_state(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        bots = self.services.bots
        if state is BotState.DISABLED:
            bots.gave_up(handle.name)  # nobody waits for its identity any more
        elif state is BotState.RUNNING and handle.telegram_id and bots.by_telegram_id(handle.telegram_id) is not handle:
            bots.identified(handle.name)  # identified again after a recheck (a first getMe is noted at once)
        elif state is BotState.CONFLICT and self._member is not None:
            self._member.conflict(handle.name)  # another poller won: its lease goes back
        self.services.states.note(handle, state, detail)

    # --- stop ----------------------------------------------------------------------------

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop chatter, let the answers being composed reach the outbox, then wait until it is idle.

        For runs that end on purpose (simulate, the load test, benchmarks): what was
        decided goes out. TimeoutError if the outbox is still busy after `timeout` s.
        """
        deadline = time.monotonic() + timeout
        rooms = self.services.rooms
        self._chatter.wanted = False
        await self._chatter.follow()
        if rooms is not None:
            await rooms.settle_answers(timeout=max(deadline - time.monotonic(), 0.0))
        await self.services.outbox.drain_until_idle(timeout=max(deadline - time.monotonic(), 0.0))

    async def stop(self) -> None:
        """Hand the bots and chats over, then close the services in reverse: every step bounded in time."""
        await self._fence.close()
        if self._member is not None:
            await self._member.leave()  # each bot's offset confirmed and its lease released: the others poll it
        await self._polls.close()
        if self._resume is not None:
            self._resume.cancel()
        if self._services is not None:
            for poller in self.pollers.values():
                if poller.state is not BotState.DISABLED:
                    self._services.states.note(poller.handle, BotState.STOPPED, None)
        await self._stack.aclose()
        rows = self._services.writer.rows_written if self._services is not None else 0
        log.info("runner.stopped", rows_written=rows)
