"""One supervised long-poll loop per bot.

Unlike aiogram's start_polling, a bot here fails alone: a revoked token
disables that bot, a conflicting poller backs it off, a network fault or a 5xx
retries it, and the rest of the roster keeps polling. The offset that
confirms a batch is sent only after the batch's rows are committed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from enum import StrEnum

import structlog
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.utils.backoff import Backoff, BackoffConfig

from piyasa_bot.ingest.pipeline import BotHandle, Ingest
from piyasa_bot.listeners import Listeners
from piyasa_bot.telegram import GetRawUpdates, error_kind

log = structlog.get_logger(__name__)

FAULT_BACKOFF = BackoffConfig(min_delay=0.2, max_delay=30.0, factor=2.0, jitter=0.2)
# Another process polls this token: it may be a deploy overlap, so keep
# trying, but slowly enough not to steal every other poll from it.
CONFLICT_BACKOFF = BackoffConfig(min_delay=5.0, max_delay=60.0, factor=1.5, jitter=0.2)


# A bot whose batches bring only copies pauses so that its next batch holds
# about this many: few requests when copies trickle, small batches (cheap to
# decode in one go) when they pour.
COPIES_PER_BATCH = 50
MIN_COPIES_PAUSE = 0.2


class BotState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    CONFLICT = "conflict"
    DISABLED = "disabled"
    STOPPED = "stopped"


StateListener = Callable[[BotHandle, BotState, str | None], None]


class BotPoller:
    def __init__(
        self,
        handle: BotHandle,
        ingest: Ingest,
        on_state: StateListener,
        *,
        poll_timeout: int = 25,
        batch_limit: int = 100,
        copies_pause: float = 5.0,
        listeners: Listeners | None = None,
    ) -> None:
        self.handle = handle
        self.ingest = ingest
        self.on_state = on_state
        self.poll_timeout = poll_timeout
        self.batch_limit = batch_limit
        self.copies_pause = copies_pause  # the longest pause
        self.listeners = listeners or Listeners()
        self._jitter = random.Random()
        self._last_batch_at = time.monotonic()
        self.offset: int | None = None
        self.state = BotState.STARTING
        self.errors: dict[str, int] = {}
        self.identified = asyncio.Event()
        self.last_polled_at: float | None = None

    async def run(self) -> None:
        faults, conflicts = Backoff(FAULT_BACKOFF), Backoff(CONFLICT_BACKOFF)
        while True:
            try:
                if not self.identified.is_set():
                    await self._identify()
                await self._poll_once()
                faults.reset()
                conflicts.reset()
            except TelegramUnauthorizedError as error:
                self._failed(error, BotState.DISABLED, "the token was rejected (revoked or wrong): bot disabled")
                return
            except TelegramConflictError as error:
                self._failed(error, BotState.CONFLICT, "another process polls this token", retry_in=next(conflicts))
                await asyncio.sleep(conflicts.current_delay)
            except TelegramRetryAfter as error:
                self._failed(error, BotState.RETRYING, "rate limited by the Bot API", retry_in=error.retry_after)
                await asyncio.sleep(error.retry_after)
            except (TelegramNetworkError, ClientDecodeError, TelegramAPIError, TimeoutError, OSError) as error:
                self._failed(error, BotState.RETRYING, "Bot API call failed", retry_in=next(faults))
                await asyncio.sleep(faults.current_delay)

    async def _identify(self) -> None:
        bot = self.handle.bot
        me = await bot.get_me()
        self.handle.telegram_id, self.handle.username = me.id, me.username or ""
        self.listeners.identified(self.handle.name, bool(me.can_read_all_group_messages))
        # getUpdates is refused while a webhook is set; pending updates are kept.
        await bot.delete_webhook(drop_pending_updates=False)
        self.identified.set()
        log.info("bot.identified", bot=self.handle.name, username=self.handle.username, telegram_id=me.id)

    async def _poll_once(self) -> None:
        request = GetRawUpdates(offset=self.offset, limit=self.batch_limit, timeout=self.poll_timeout)
        updates = await self.handle.bot(request, request_timeout=self.poll_timeout + 10)
        self.last_polled_at = time.monotonic()
        self._set_state(BotState.RUNNING, None)
        if not updates:
            return
        now = time.monotonic()
        since_last, self._last_batch_at = now - self._last_batch_at, now
        batch = await self.ingest.process(self.handle, updates)
        if batch.commits:
            await asyncio.wait(batch.commits)
        # Confirmed on the next call, now that every row of the batch is committed.
        self.offset = updates[-1]["update_id"] + 1
        name = self.handle.name
        if batch.new == 0 and len(updates) < self.batch_limit and self.listeners.may_rest(name):
            # Another bot got all of these first. Let this bot's copies pile up into
            # larger batches: one bot that polls eagerly keeps ingest fast, and
            # fifty that each ask once per message would cost a request per copy.
            self.listeners.resting(name, True)
            try:
                await asyncio.sleep(self._copies_pause(len(updates), since_last))
            finally:
                self.listeners.resting(name, False)

    def _copies_pause(self, copies: int, over: float) -> float:
        # Jittered so that the copy-only bots do not all wake in the same moment.
        pause = min(max(COPIES_PER_BATCH * over / copies, MIN_COPIES_PAUSE), self.copies_pause)
        return pause * self._jitter.uniform(0.5, 1.5)

    def _failed(self, error: BaseException, state: BotState, summary: str, retry_in: float | None = None) -> None:
        kind = error_kind(error)
        self.errors[kind] = self.errors.get(kind, 0) + 1
        detail = f"{kind}: {error}"
        log.warning("bot.poll_failed", bot=self.handle.name, summary=summary, error=detail,
                    retry_in=None if retry_in is None else round(retry_in, 2))
        self._set_state(state, detail)

    def _set_state(self, state: BotState, detail: str | None) -> None:
        if state is self.state and state is BotState.RUNNING:
            return
        self.state = state
        self.on_state(self.handle, state, detail)
