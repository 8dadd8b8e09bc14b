"""Everything a runner needs, built by one function before anything runs, closed in reverse.

`open_services` opens the pool (migrating; its sessions named after the
runner, so that the rows it stores say so) and builds the session, the writer, the recorder, the outbox (and the grace
of removed bots' messages), the stored market, the text source and chat
rooms, the handlers' dependencies, the ingest pipeline and the metrics
server, in the order each needs the one before. It yields them
as one frozen `Services`; leaving the context closes them in reverse, each
step bounded in time so that stopping always ends (a row the writer could
not land in time was never confirmed to Telegram: it comes again).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import Message

from piyasa_bot.bot_chats import BotChats
from piyasa_bot.bot_states import BotStates
from piyasa_bot.bots import BotRegistry
from piyasa_bot.chatrooms import ChatRooms
from piyasa_bot.console.context import ConsoleContext
from piyasa_bot.console.options import ConsoleOptions
from piyasa_bot.console.server import ConsoleServer, open_console
from piyasa_bot.conversation import Composer
from piyasa_bot.db import queries, said_store
from piyasa_bot.db.pool import open_pool
from piyasa_bot.deps import Deps
from piyasa_bot.handlers import build_dispatcher
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.ingest.foreign import ForeignChats
from piyasa_bot.ingest.pipeline import Ingest, Recorder
from piyasa_bot.ingest.writer import MessageWriter
from piyasa_bot.listeners import Listeners
from piyasa_bot.llm import LlmConfig, LlmSource, TemplateSource, TextSource
from piyasa_bot.logs import register_secrets
from piyasa_bot.malloc_trim import MallocTrimmer
from piyasa_bot.markets import OpenMarket, open_market, open_news
from piyasa_bot.metrics import TimedIngest
from piyasa_bot.metrics_server import MetricsServer
from piyasa_bot.news.desk import NewsDesk
from piyasa_bot.removal_grace import REMOVAL_GRACE, RemovalGrace
from piyasa_bot.roster_loader import LoadedRoster
from piyasa_bot.sending.limits import SendLimits
from piyasa_bot.sending.outbox import Outbox, Outgoing
from piyasa_bot.steering import Steering
from piyasa_bot.telegram import shared_session

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ServiceOptions:
    dsn: str
    api_base: str
    conversation: bool = True  # False: record only, no chatter and no answers
    seed: int | None = None
    pace_scale: float = 1.0
    llm: LlmConfig | None = None
    metrics_port: int | None = None  # None: no /metrics and /healthz
    metrics_host: str = "127.0.0.1"
    removal_grace: float = REMOVAL_GRACE  # seconds a removed bot's queued messages wait for it to be back
    console: ConsoleOptions | None = None  # None: no web console
    runner_id: str | None = None  # the fleet's name for this runner (its pool's application_name)


# Seconds each closing step may take; with the runner's 2 s to hand its bots and chats over
# (fleet/coordinator.py LEAVE_TIMEOUT, polls stopped in it) they add up to 9.1 s, under `run`'s
# 9.5 s deadline and the 10 s in which a SIGTERM must end the process.
CLOSE_TIMEOUTS = {
    "console": 0.5,
    "metrics": 0.5,
    "foreign chats": 0.2,
    "bot states": 0.5,
    "chat rooms": 0.5,
    "news": 0.1,  # cancels its fetches
    "market": 0.4,  # simulated: one last save of its levels (MarketKeeper bounds it too); live: stop fetching
    "text source": 0.5,
    "removed bots": 0.1,
    "outbox": 1.0,  # the sends on the wire: a bot handed over waited for its own already
    "bot chats": 0.3,
    "writer": 1.5,
    "session": 0.3,
    "pool": 0.6,
    "malloc trim": 0.1,
}


@dataclass(frozen=True)
class Services:
    pool: asyncpg.Pool
    aliases: ChatAliases  # chats Telegram renumbered: one mapping for rows, lookups and sends
    session: AiohttpSession
    bots: BotRegistry
    writer: MessageWriter
    recorder: Recorder
    listeners: Listeners
    bot_chats: BotChats
    states: BotStates
    outbox: Outbox
    removals: RemovalGrace  # queued messages of bots just removed from bots.yaml
    foreign: ForeignChats
    deps: Deps
    ingest: Ingest
    source: TextSource | None  # None when the conversation is off
    rooms: ChatRooms | None  # None when the conversation is off
    market: OpenMarket | None  # simulated (kept across restarts) or live (bots.yaml); None when the conversation is off
    news: NewsDesk | None  # None without feeds in bots.yaml (or without the conversation)
    metrics: MetricsServer | None  # None without a metrics port
    console: ConsoleServer | None  # None without a console port
    trimmer: MallocTrimmer  # hands the C heap's free pages back to the system every minute


@contextlib.asynccontextmanager
async def open_services(
    loaded: LoadedRoster,
    options: ServiceOptions,
    metrics_view: Any,
) -> AsyncIterator[Services]:
    """Build every service for `loaded`; `metrics_view` is what /metrics reads (the runner).

    The chat rooms direct no chat until the runner's fleet hands it one (ChatRooms.take).
    """
    roster = loaded.roster
    register_secrets(loaded.tokens.values())
    async with contextlib.AsyncExitStack() as stack:

        def closing(step: str, close: Callable[[], Awaitable[object]]) -> None:
            stack.push_async_callback(_bounded, step, close, CLOSE_TIMEOUTS[step])

        trimmer = MallocTrimmer()
        trimmer.start()
        closing("malloc trim", trimmer.stop)
        pool = await open_pool(options.dsn, application_name=options.runner_id)
        closing("pool", lambda: _close_pool(pool))
        aliases = ChatAliases()
        aliases.load(await queries.chat_migrations(pool))  # chats Telegram renumbered in an earlier run
        session = shared_session(options.api_base, len(roster.bots), runner=options.runner_id)
        closing("session", session.close)
        bots = BotRegistry()
        writer = MessageWriter(pool)
        writer.start()
        closing("writer", writer.close)
        recorder = Recorder(writer, aliases)
        listeners = Listeners()
        bot_chats = BotChats(pool, bots)
        closing("bot chats", bot_chats.close)
        rooms: ChatRooms | None = None  # built after the outbox it sends through; told of every send

        def said(item: Outgoing, message: Message) -> None:
            if rooms is not None:
                rooms.said(item, message)

        outbox = Outbox(
            pool, bots, SendLimits(roster.limits), recorder, on_sent=said, on_inactive=bot_chats.removed_soon
        )
        closing("outbox", outbox.close)
        removals = RemovalGrace(outbox, grace=options.removal_grace)
        closing("removed bots", removals.close)
        source: TextSource | None = None
        market: OpenMarket | None = None
        news: NewsDesk | None = None
        if options.conversation:
            rng = random.Random(options.seed)
            market = await open_market(pool, roster.market, random.Random(rng.random()))
            closing("market", market.close)  # after the rooms stop (the last save), before the pool closes
            templates = TemplateSource(Composer(market.view, random.Random(rng.random())))
            source = LlmSource(options.llm, templates) if options.llm else templates
            closing("text source", source.close)
            # What each bot said before this start: a restart does not bring its sentences back.
            for name, texts in (await said_store.last_said(pool, [bot.name for bot in roster.bots])).items():
                for text in texts:
                    source.remember(name, text)
            news = await open_news(pool, roster.market.news, random.Random(rng.random()))
            if news is not None:
                closing("news", news.close)
            rooms = ChatRooms(
                roster,
                bots,
                outbox,
                source,
                rng=rng,
                scale=options.pace_scale,
                aliases=aliases,
                news=news,
                directed=(),
            )
            bot_chats.on_removed(rooms.deactivate)
            closing("chat rooms", rooms.stop)
        states = BotStates(pool)
        closing("bot states", states.close)
        foreign = ForeignChats()
        closing("foreign chats", foreign.close)  # leaves still waiting out their grace
        # The operator's stored overrides; it reads the roster as applied now, from the deps built next.
        steering = Steering(pool, outbox, rooms, aliases, roster=lambda: deps.roster)
        deps = Deps(
            roster=roster,
            recorder=recorder,
            outbox=outbox,
            pool=pool,
            bots=bots,
            bot_chats=bot_chats,
            aliases=aliases,
            foreign=foreign,
            rooms=rooms,
            steering=steering,
        )
        await steering.load()  # before any update is handled and before the chatter starts
        ingest = TimedIngest(build_dispatcher(conversation_on=rooms is not None), recorder, deps)
        metrics = None
        if options.metrics_port is not None:
            collectors = market.collectors if market is not None else ()
            metrics = MetricsServer(metrics_view, options.metrics_host, options.metrics_port, collectors=collectors)
            await metrics.start()
            closing("metrics", metrics.stop)
        console = None
        if options.console is not None:
            console = await open_console(options.console, ConsoleContext(deps=deps, runner=metrics_view), pool)
            closing("console", console.stop)
        yield Services(
            pool=pool,
            aliases=aliases,
            session=session,
            bots=bots,
            writer=writer,
            recorder=recorder,
            listeners=listeners,
            bot_chats=bot_chats,
            states=states,
            outbox=outbox,
            removals=removals,
            foreign=foreign,
            deps=deps,
            ingest=ingest,
            source=source,
            rooms=rooms,
            market=market,
            news=news,
            metrics=metrics,
            console=console,
            trimmer=trimmer,
        )


async def _bounded(step: str, close: Callable[[], Awaitable[object]], timeout: float) -> None:
    """One closing step: within `timeout`, and never stopping the steps after it."""
    try:
        await asyncio.wait_for(close(), timeout)
    except TimeoutError:
        log.warning("runner.close_timed_out", step=step, seconds=timeout)
    except Exception as error:
        log.warning("runner.close_failed", step=step, error=f"{type(error).__name__}: {error}")


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), CLOSE_TIMEOUTS["pool"] * 0.8)
    except TimeoutError:
        pool.terminate()  # a connection stuck in a query: do not wait for it
