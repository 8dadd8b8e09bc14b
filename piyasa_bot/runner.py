"""The runner: wires the parts together, starts them in order, stops them in reverse.

`Runner` leaves the event loop and signals to its caller (the CLI, a test),
so tests drive it with `async with Runner(...)` against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Coroutine

import asyncpg
import structlog
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import Message, ReplyParameters

from piyasa_bot.chatrooms import ChatRooms
from piyasa_bot.conversation import Composer, Market
from piyasa_bot.crypto import TokenCipher
from piyasa_bot.db import queries
from piyasa_bot.db.pool import InstanceLock, open_pool
from piyasa_bot.deps import Deps
from piyasa_bot.handlers import build_dispatcher
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.ingest.pipeline import BotHandle, Ingest, Recorder
from piyasa_bot.ingest.writer import MessageWriter
from piyasa_bot.llm import LlmComposer, LlmConfig, TemplateSource, TextSource
from piyasa_bot.listeners import Listeners
from piyasa_bot.logs import register_secrets
from piyasa_bot.metrics import TimedIngest
from piyasa_bot.metrics_server import MetricsServer
from piyasa_bot.polling import BotPoller, BotState
from piyasa_bot.roster_loader import LoadedRoster
from piyasa_bot.sending.limits import SendLimits
from piyasa_bot.sending.outbox import Outbox, Outgoing
from piyasa_bot.telegram import make_bot, shared_session

log = structlog.get_logger(__name__)


class Runner:
    def __init__(
        self,
        loaded: LoadedRoster,
        *,
        dsn: str,
        api_base: str,
        cipher: TokenCipher,
        poll_timeout: int = 25,
        conversation: bool = True,
        seed: int | None = None,
        pace_scale: float = 1.0,
        llm: LlmConfig | None = None,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
    ) -> None:
        self.loaded = loaded
        self.dsn = dsn
        self.api_base = api_base
        self.cipher = cipher
        self.poll_timeout = poll_timeout
        self.conversation = conversation
        self.seed = seed
        self.pace_scale = pace_scale
        self.rooms: ChatRooms | None = None
        self.llm = llm
        self.metrics_port = metrics_port
        self.metrics_host = metrics_host
        self.metrics: MetricsServer | None = None
        self.source: TextSource | None = None
        self.pollers: dict[str, BotPoller] = {}
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._background_tasks: set[asyncio.Task[None]] = set()
        self.pool: asyncpg.Pool | None = None
        self.session: AiohttpSession | None = None
        self.writer: MessageWriter | None = None
        self.ingest: Ingest | None = None
        self.outbox: Outbox | None = None
        self.handles: dict[str, BotHandle] = {}  # shared with the outbox and the chat rooms
        self.deps: Deps | None = None
        self.aliases = ChatAliases()
        self._resume: asyncio.Task[None] | None = None
        self.listeners = Listeners()
        self._lock = InstanceLock(dsn)

    async def __aenter__(self) -> Runner:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        roster = self.loaded.roster
        register_secrets(self.loaded.tokens.values())
        self.pool = await open_pool(self.dsn)
        await self._lock.acquire()
        # Chats Telegram renumbered in an earlier run (a group upgraded to a supergroup).
        self.aliases.load(await queries.chat_migrations(self.pool))
        bot_ids = await self._register(self.loaded)
        self.session = shared_session(self.api_base, len(roster.bots))
        self.writer = MessageWriter(self.pool)
        self.writer.start()
        recorder = Recorder(self.writer)
        recorder.aliases = self.aliases  # Deps.aliases is the recorder's: one mapping for all
        self.handles = {}
        self.outbox = Outbox(self.pool, self.handles, SendLimits(roster.limits), recorder,
                             on_sent=self._on_sent, on_inactive=self._on_inactive)
        deps = Deps(recorder=recorder, roster=roster, outbox=self.outbox, pool=self.pool)
        if self.conversation:
            rng = random.Random(self.seed)
            templates = TemplateSource(Composer(Market(random.Random(rng.random())), random.Random(rng.random())))
            self.source = LlmComposer(self.llm, templates) if self.llm else templates
            self.rooms = ChatRooms(roster, self.handles, self.outbox, self.source, rng=rng, scale=self.pace_scale,
                                   aliases=self.aliases)
            deps.rooms = self.rooms
        self.deps = deps
        self.ingest = TimedIngest(build_dispatcher(), recorder, deps)
        for bot in roster.bots:
            self._start_bot(bot.name, bot_ids[bot.name], self.loaded.tokens[bot.name])
        self._resume = asyncio.create_task(self._resume_outbox())
        if self.rooms is not None:
            self.rooms.start()
        if self.metrics_port is not None:
            self.metrics = MetricsServer(self, self.metrics_host, self.metrics_port)
            await self.metrics.start()
        # Everything built so far lives as long as the runner: keep it out of the
        # collector's full scans, which otherwise stall the loop for milliseconds.
        gc.collect()
        gc.freeze()
        log.info("runner.started", bots=len(roster.bots), chats=len(roster.chats))

    async def wait_resumed(self) -> None:
        """Return once the outbox holds what an earlier run left pending."""
        assert self._resume is not None
        await asyncio.shield(self._resume)

    async def _resume_outbox(self) -> None:
        """Queue what an earlier run left pending, once the bots are identified."""
        assert self.outbox is not None
        await self.wait_polling(timeout=None)
        resumed = await self.outbox.load_pending()
        if resumed:
            log.info("outbox.resumed", pending=resumed)

    def _on_sent(self, item: Outgoing, message: Message) -> None:
        if self.rooms is not None:
            self.rooms.said(item, message)

    def _on_inactive(self, bot_name: str, chat_id: int, reason: str) -> None:
        if self.rooms is not None:
            self.rooms.deactivate(bot_name, chat_id)
        handle = self.handles[bot_name]
        log.warning("bot.removed_from_chat", bot=bot_name, chat_id=chat_id, reason=reason)
        self._background(queries.set_bot_chat_active(self.pool, handle.db_id, chat_id, False, reason))

    def _start_bot(self, name: str, db_id: int, token: str) -> None:
        assert self.session is not None and self.ingest is not None
        handle = BotHandle(name=name, db_id=db_id, bot=make_bot(token, self.session))
        self.handles[name] = handle
        self.listeners.join(name, [self.aliases.current(c) for c in self.loaded.roster.bot(name).chats])
        poller = BotPoller(handle, self.ingest, self._on_state, poll_timeout=self.poll_timeout,
                           listeners=self.listeners)
        self.pollers[name] = poller
        self._polls[name] = asyncio.create_task(poller.run(), name=f"poll:{name}")

    async def _stop_bot(self, name: str) -> None:
        task = self._polls.pop(name)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        poller = self.pollers.pop(name)
        self.handles.pop(name)
        self.listeners.leave(name)
        self._on_state(poller.handle, BotState.STOPPED, "removed from bots.yaml")

    async def apply(self, loaded: LoadedRoster) -> None:
        """A new roster while running: start added bots, stop removed ones, update the rest."""
        assert self.outbox is not None and self.deps is not None
        old_tokens, new_tokens = self.loaded.tokens, loaded.tokens
        removed = [name for name in old_tokens if new_tokens.get(name) != old_tokens[name]]
        added = [name for name in new_tokens if old_tokens.get(name) != new_tokens[name]]
        register_secrets(new_tokens.values())
        bot_ids = await self._register(loaded)
        for name in removed:
            await self._stop_bot(name)
            await self.outbox.drop_bot(name, "the bot was removed from bots.yaml")
        self.loaded = loaded
        for bot in loaded.roster.bots:
            self.listeners.join(bot.name, [self.aliases.current(c) for c in bot.chats])
        self.deps.roster = loaded.roster
        self.outbox.limits.update(loaded.roster.limits)
        for name in added:
            self._start_bot(name, bot_ids[name], new_tokens[name])
        if self.rooms is not None:
            self.rooms.apply(loaded.roster)
        log.info("roster.applied", added=added, removed=removed, bots=len(loaded.roster.bots),
                 chats=len(loaded.roster.chats))

    async def _register(self, loaded: LoadedRoster) -> dict[str, int]:
        assert self.pool is not None
        ids: dict[str, int] = {}
        tokens = loaded.tokens
        async with self.pool.acquire() as conn, conn.transaction():
            await queries.upsert_chats(conn, [(chat.id, chat.title) for chat in loaded.roster.chats])
            for bot in loaded.roster.bots:
                ids[bot.name] = await queries.upsert_bot(conn, bot.name, self.cipher.encrypt(tokens[bot.name]))
                await queries.set_bot_chats(conn, ids[bot.name], [self.aliases.current(c) for c in bot.chats])
        return ids

    async def wait_polling(self, timeout: float | None = 30.0) -> None:
        """Return once every bot has been identified (or given up on)."""
        async def settled(poller: BotPoller) -> None:
            while not poller.identified.is_set() and poller.state is not BotState.DISABLED:
                waiter = asyncio.ensure_future(poller.identified.wait())
                await asyncio.wait([waiter, self._task_of(poller)], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()

        await asyncio.wait_for(asyncio.gather(*(settled(p) for p in self.pollers.values())), timeout)

    async def send(self, bot_name: str, chat_id: int, text: str, reply_to: int | None = None) -> Message:
        """Send as one bot and record the message from Telegram's answer."""
        assert self.ingest is not None
        handle = self.pollers[bot_name].handle
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        message = await handle.bot.send_message(chat_id, text, reply_parameters=reply)
        await self.ingest.recorder.record_sent(message, handle)
        return message

    def _task_of(self, poller: BotPoller) -> asyncio.Task[None]:
        return self._polls[poller.handle.name]

    def _on_state(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        if self.pool is not None:
            self._background(self._write_state(handle, state, detail))

    def _background(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(work)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _write_state(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        assert self.pool is not None
        try:
            if state is BotState.RUNNING and handle.telegram_id:
                await queries.set_bot_identity(self.pool, handle.db_id, handle.telegram_id, handle.username)
            await queries.set_bot_state(self.pool, handle.db_id, state.value, detail)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("db.state_not_saved", bot=handle.name, state=state.value, error=type(error).__name__)

    async def stop(self) -> None:
        """Stop polling, flush every pending row, then close the session and the pool."""
        for task in self._polls.values():
            task.cancel()
        await asyncio.gather(*self._polls.values(), return_exceptions=True)
        if self.deps is not None:
            await self.deps.foreign.close()  # leaves still waiting out their grace
        if self._resume is not None:
            self._resume.cancel()
        if self.rooms is not None:
            await self.rooms.stop()
        if self.source is not None:
            await self.source.close()
        if self.outbox is not None:
            await self.outbox.close()
        if self.writer is not None:
            await self.writer.close()
        for poller in self.pollers.values():
            if poller.state is not BotState.DISABLED:
                self._on_state(poller.handle, BotState.STOPPED, None)
        if self._background_tasks:
            await asyncio.wait(self._background_tasks, timeout=5)
        if self.metrics is not None:
            await self.metrics.stop()
        if self.session is not None:
            await self.session.close()
        await self._lock.release()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), timeout=10)
        log.info("runner.stopped", rows_written=self.writer.rows_written if self.writer else 0)
