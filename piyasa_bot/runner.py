"""The runner: wires the parts together, starts them in order, stops them in reverse.

`Runner` leaves the event loop and signals to its caller (the CLI, a test),
so tests drive it with `async with Runner(...)` against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import asyncpg
import structlog
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import Message, ReplyParameters

from piyasa_bot.crypto import TokenCipher
from piyasa_bot.db import queries
from piyasa_bot.db.pool import InstanceLock, open_pool
from piyasa_bot.deps import Deps
from piyasa_bot.handlers import build_dispatcher
from piyasa_bot.ingest.pipeline import BotHandle, Ingest, Recorder
from piyasa_bot.ingest.writer import MessageWriter
from piyasa_bot.logs import register_secrets
from piyasa_bot.polling import BotPoller, BotState
from piyasa_bot.roster_loader import LoadedRoster
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
    ) -> None:
        self.loaded = loaded
        self.dsn = dsn
        self.api_base = api_base
        self.cipher = cipher
        self.poll_timeout = poll_timeout
        self.pollers: dict[str, BotPoller] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._state_writes: set[asyncio.Task[None]] = set()
        self.pool: asyncpg.Pool | None = None
        self.session: AiohttpSession | None = None
        self.writer: MessageWriter | None = None
        self.ingest: Ingest | None = None
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
        bot_ids = await self._register(roster.chats, self.loaded.tokens)
        self.session = shared_session(self.api_base, len(roster.bots))
        self.writer = MessageWriter(self.pool)
        self.writer.start()
        recorder = Recorder(self.writer)
        self.ingest = Ingest(build_dispatcher(), recorder, Deps(recorder=recorder))
        for bot in roster.bots:
            handle = BotHandle(name=bot.name, db_id=bot_ids[bot.name],
                               bot=make_bot(self.loaded.tokens[bot.name], self.session))
            poller = BotPoller(handle, self.ingest, self._on_state, poll_timeout=self.poll_timeout)
            self.pollers[bot.name] = poller
            self._tasks.append(asyncio.create_task(poller.run(), name=f"poll:{bot.name}"))
        log.info("runner.started", bots=len(roster.bots), chats=len(roster.chats))

    async def _register(self, chats: Iterable, tokens: dict[str, str]) -> dict[str, int]:
        assert self.pool is not None
        ids: dict[str, int] = {}
        async with self.pool.acquire() as conn, conn.transaction():
            await queries.upsert_chats(conn, [(chat.id, chat.title) for chat in chats])
            for bot in self.loaded.roster.bots:
                ids[bot.name] = await queries.upsert_bot(conn, bot.name, self.cipher.encrypt(tokens[bot.name]))
                await queries.set_bot_chats(conn, ids[bot.name], bot.chats)
        return ids

    async def wait_polling(self, timeout: float = 30.0) -> None:
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
        return next(task for task in self._tasks if task.get_name() == f"poll:{poller.handle.name}")

    def _on_state(self, handle: BotHandle, state: BotState, detail: str | None) -> None:
        if self.pool is None:
            return
        task = asyncio.create_task(self._write_state(handle, state, detail))
        self._state_writes.add(task)
        task.add_done_callback(self._state_writes.discard)

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
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.writer is not None:
            await self.writer.close()
        for poller in self.pollers.values():
            if poller.state is not BotState.DISABLED:
                self._on_state(poller.handle, BotState.STOPPED, None)
        if self._state_writes:
            await asyncio.wait(self._state_writes, timeout=5)
        if self.session is not None:
            await self.session.close()
        await self._lock.release()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), timeout=10)
        log.info("runner.stopped", rows_written=self.writer.rows_written if self.writer else 0)
