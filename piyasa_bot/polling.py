"""One supervised long-poll loop per bot.

Unlike aiogram's start_polling, a bot here fails alone: a revoked token
disables that bot, a conflicting poller backs it off, a network fault or a 5xx
retries it, and the rest of the roster keeps polling. The offset that
confirms a batch is sent only after the batch's rows are committed.

Nothing ends the loop but cancellation (or, unless `disabled_recheck` is set,
a rejected token): any other exception is logged with its kind, counted in
`errors`, and retried after a bounded backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import structlog
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from piyasa_bot.backoff import Backoff, BackoffPolicy
from piyasa_bot.bots import BotHandle
from piyasa_bot.ingest.pipeline import Ingest
from piyasa_bot.listeners import Listeners
from piyasa_bot.polling_shared import IdentityGate, Recovery
from piyasa_bot.telegram import GetRawUpdates, error_kind

log = structlog.get_logger(__name__)

# Telegram holds a long poll at most 50 s: the longest wait means the fewest empty polls
# (1,000 idle bots: 20 requests a second instead of 40 at 25 s).
LONGEST_POLL_TIMEOUT = 50
FAULT_BACKOFF = BackoffPolicy(min_delay=0.5, max_delay=10.0, factor=2.0, jitter=0.2)
# Another process polls this token: it may be a deploy overlap, so keep
# trying, but slowly enough not to steal every other poll from it.
CONFLICT_BACKOFF = BackoffPolicy(min_delay=5.0, max_delay=60.0, factor=1.5, jitter=0.2)
# A retry_after longer than this is obeyed only this long (and said so): one bad value must not silence a bot.
MAX_RETRY_AFTER = 30.0
# How often a bot whose token was rejected asks getMe again (a transient 401, a token restored in BotFather).
DISABLED_RECHECK = 300.0
# Faults of the Bot API or the way to it, retried without a traceback (a body cut mid-character included).
EXPECTED_FAULTS = (TelegramNetworkError, ClientDecodeError, TelegramAPIError, TimeoutError, OSError, UnicodeDecodeError)
# A webhook set again this soon after we deleted one: someone else wants it; back off as from a conflict.
WEBHOOK_GRACE = 60.0

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


class BatchNotStored(RuntimeError):
    """A commit the batch depends on failed: its offset is not confirmed, the batch comes again."""


class MalformedBatch(RuntimeError):
    """No update of the batch has an update_id: it cannot be confirmed, so back off before asking again."""


class BotPoller:
    def __init__(
        self,
        handle: BotHandle,
        ingest: Ingest,
        on_state: StateListener,
        *,
        poll_timeout: int = LONGEST_POLL_TIMEOUT,
        batch_limit: int = 100,
        copies_pause: float = 5.0,
        listeners: Listeners | None = None,
        recovery: Recovery | None = None,
        disabled_recheck: float | None = None,
        gate: IdentityGate | None = None,
    ) -> None:
        self.handle = handle
        self.ingest = ingest
        self.on_state = on_state
        self.poll_timeout = poll_timeout
        self.batch_limit = batch_limit
        self.copies_pause = copies_pause  # the longest pause
        self.listeners = listeners or Listeners()
        # Shared by every poller of the runner, so that one success after an outage wakes them all.
        self.recovery = recovery or Recovery()
        # None: a rejected token ends run() (the caller decides); seconds: run() asks getMe again that often.
        self.disabled_recheck = disabled_recheck
        # Shared by the roster's pollers: none polls before every bot is identified (or given up on).
        self._gate = gate
        if gate is not None:
            gate.expect(handle.name)
        self._jitter = random.Random()
        self._last_batch_at = time.monotonic()
        self._recheck = asyncio.Event()
        self._webhook_in_the_way = False
        self._webhook_deleted_at: float | None = None
        # One early wake per run of failures: after an outage, not at every success of the others
        # while only this bot fails (it would then retry at their pace, not its backoff's).
        self._may_wake_early = True
        self.offset: int | None = None
        self.state = BotState.STARTING
        self.errors: dict[str, int] = {}
        self.identified = asyncio.Event()
        self.settled = asyncio.Event()  # identified, or disabled: what "every bot has started" waits for
        self.last_polled_at: float | None = None  # time.monotonic() when the last getUpdates completed

    def recheck(self) -> bool:
        """Ask getMe again now if the token was rejected (e.g. on reload); True if the bot was disabled."""
        if self.state is not BotState.DISABLED:
            return False
        self._recheck.set()
        return True

    async def run(self) -> None:
        faults, conflicts = Backoff(FAULT_BACKOFF), Backoff(CONFLICT_BACKOFF)
        while True:
            try:
                if not self.identified.is_set():
                    await self._identify()
                if self._gate is not None:
                    await self._gate.wait()
                    self._gate = None
                if self._webhook_in_the_way:
                    await self.handle.bot.delete_webhook(drop_pending_updates=False)  # pending updates are kept
                    self._webhook_in_the_way = False
                    self._webhook_deleted_at = time.monotonic()
                await self._poll_once()
            except TelegramUnauthorizedError as error:
                self._failed(
                    error,
                    BotState.DISABLED,
                    "the token was rejected (revoked or wrong): bot disabled",
                    retry_in=self.disabled_recheck,
                )
                self.identified.clear()
                self._settle()
                if self.disabled_recheck is None:
                    return
                await self._wait_recheck(self.disabled_recheck)
            except TelegramConflictError as error:
                if "webhook" in error.message.lower() and not self._deleted_webhook_lately():
                    # getUpdates is refused while a webhook is set: delete it (once) and poll again.
                    log.info("bot.deleting_webhook", bot=self.handle.name)
                    self._webhook_in_the_way = True
                    continue
                delay = next(conflicts)
                self._failed(error, BotState.CONFLICT, "another process polls this token", retry_in=delay)
                await asyncio.sleep(delay)
            except TelegramRetryAfter as error:
                delay = min(float(error.retry_after), MAX_RETRY_AFTER)
                if delay < error.retry_after:
                    log.warning("bot.retry_after_capped", bot=self.handle.name, asked=error.retry_after, waits=delay)
                self._failed(error, BotState.RETRYING, "rate limited by the Bot API", retry_in=delay)
                await asyncio.sleep(delay)
            except EXPECTED_FAULTS as error:
                delay = next(faults)
                self._failed(error, BotState.RETRYING, "Bot API call failed", retry_in=delay)
                await self._back_off(delay)
            except Exception as error:  # noqa: BLE001 - anything else: seen, counted, retried; never a silent end
                delay = next(faults)
                self._failed(error, BotState.RETRYING, "poll loop failed", retry_in=delay, unexpected=True)
                await self._back_off(delay)
            else:
                faults.reset()
                conflicts.reset()
                self._may_wake_early = True
                self.recovery.answered()

    async def _back_off(self, delay: float) -> None:
        if self._may_wake_early:
            self._may_wake_early = not await self.recovery.sleep(delay)
        else:
            await asyncio.sleep(delay)

    def _deleted_webhook_lately(self) -> bool:
        deleted = self._webhook_deleted_at
        return deleted is not None and time.monotonic() - deleted < WEBHOOK_GRACE

    async def _wait_recheck(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._recheck.wait(), delay)
        self._recheck.clear()
        log.info("bot.rechecking_token", bot=self.handle.name)

    async def _identify(self) -> None:
        me = await self.handle.bot.get_me()
        self.handle.telegram_id, self.handle.username = me.id, me.username or ""
        self.listeners.identified(self.handle.name, bool(me.can_read_all_group_messages))
        self.identified.set()
        self._settle()
        log.info("bot.identified", bot=self.handle.name, username=self.handle.username, telegram_id=me.id)

    async def _poll_once(self) -> None:
        request = GetRawUpdates(offset=self.offset, limit=self.batch_limit, timeout=self.poll_timeout)
        answer: list[Any] = await self.handle.bot(request, request_timeout=self.poll_timeout + 10)
        self.last_polled_at = time.monotonic()
        self._set_state(BotState.RUNNING, None)
        updates = [update for update in answer if isinstance(update, dict)]
        if not updates:
            return
        confirmable = self._confirmable(answer, updates)
        now = time.monotonic()
        since_last, self._last_batch_at = now - self._last_batch_at, now
        # A malformed update is still handled (its message stored from the raw dict if
        # its chat and id are sound); only the well-formed ones can move the offset.
        batch = await self.ingest.process(self.handle, updates)
        if batch.commits:
            await asyncio.wait(batch.commits)
            if any(commit.cancelled() or commit.exception() is not None for commit in batch.commits):
                raise BatchNotStored("a row of the batch was not committed")
        if not confirmable:
            raise MalformedBatch(f"{len(updates)} update(s) and none with an update_id: nothing to confirm")
        # Confirmed on the next call, now that every row of the batch is committed.
        self.offset = max(confirmable) + 1
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

    async def confirm(self, timeout: float = 1.0) -> None:
        """Tell Telegram what is stored (the offset is otherwise sent with the next poll, which another runner
        will make): a poll that waits for nothing. What it returns is not taken: it comes to the next poller."""
        if self.offset is None or not self.identified.is_set():
            return
        request = GetRawUpdates(offset=self.offset, limit=1, timeout=0)
        try:
            await asyncio.wait_for(self.handle.bot(request, request_timeout=int(timeout) + 1), timeout)
        except (*EXPECTED_FAULTS, TelegramConflictError, TelegramRetryAfter, TelegramUnauthorizedError) as error:
            log.info("bot.offset_not_confirmed", bot=self.handle.name, error=error_kind(error), then="comes again")

    def _confirmable(self, answer: list[Any], updates: list[dict[str, Any]]) -> list[int]:
        """The update ids that can confirm the batch; anything without one is counted and logged."""
        ids = [u["update_id"] for u in updates if type(u.get("update_id")) is int]
        if len(ids) < len(answer):
            malformed = len(answer) - len(ids)
            self.errors["malformed_update"] = self.errors.get("malformed_update", 0) + malformed
            log.warning("bot.malformed_updates", bot=self.handle.name, malformed=malformed, well_formed=len(ids))
        return ids

    def _settle(self) -> None:
        self.settled.set()
        if self._gate is not None:
            self._gate.settled(self.handle.name)

    def _copies_pause(self, copies: int, over: float) -> float:
        # Jittered so that the copy-only bots do not all wake in the same moment.
        pause = min(max(COPIES_PER_BATCH * over / copies, MIN_COPIES_PAUSE), self.copies_pause)
        return pause * self._jitter.uniform(0.5, 1.5)

    def _failed(
        self,
        error: BaseException,
        state: BotState,
        summary: str,
        retry_in: float | None = None,
        unexpected: bool = False,
    ) -> None:
        kind = error_kind(error)
        self.errors[kind] = self.errors.get(kind, 0) + 1
        detail = f"{kind}: {error}"
        retry = None if retry_in is None else round(retry_in, 2)
        if unexpected:  # with its traceback: this is a bug or a Bot API answer nobody foresaw
            log.error(
                "bot.poll_failed",
                bot=self.handle.name,
                summary=summary,
                error=detail,
                kind=kind,
                retry_in=retry,
                exc_info=error,
            )
        else:
            log.warning(
                "bot.poll_failed", bot=self.handle.name, summary=summary, error=detail, kind=kind, retry_in=retry
            )
        self._set_state(state, detail)

    def _set_state(self, state: BotState, detail: str | None) -> None:
        if state is self.state and state is BotState.RUNNING:
            return
        self.state = state
        self.on_state(self.handle, state, detail)
