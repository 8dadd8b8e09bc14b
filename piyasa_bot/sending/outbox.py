"""The outbox: durable rows, a priority queue per chat, limits, and the send itself.

Every outgoing message is a row before it is a request: pending, then sent,
failed or expired with the reason, so nothing is dropped silently and pending
answers survive a restart. Each chat has one loop that takes a slot of the
chat's bucket and only then picks what to send, so an answer that arrived
meanwhile goes ahead of chatter that was waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

import structlog
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Message, ReplyParameters

from piyasa_bot.conversation.guard import guard
from piyasa_bot.db import queries
from piyasa_bot.db.retry import retrying
from piyasa_bot.ingest.pipeline import BotHandle, Recorder
from piyasa_bot.sending.limits import SendLimits
from piyasa_bot.telegram import error_kind

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 6
BUCKET_POLL = 0.05  # seconds between looks at a full bucket


class Priority(IntEnum):
    ANSWER = 0
    CHATTER = 1


@dataclass
class Outgoing:
    bot: str
    chat_id: int
    text: str
    priority: Priority
    reply_to: int | None = None
    answers: int | None = None  # the person's message id this answers
    not_before: float = 0.0  # wall clock
    expires_at: float | None = None  # wall clock; chatter only
    attempts: int = 0
    id: int = 0
    created: float = field(default_factory=time.time)

    def sort_key(self, seq: int) -> tuple[int, float, int]:
        return (self.priority, self.not_before, seq)


SentListener = Callable[[Outgoing, Message], None]
InactiveListener = Callable[[str, int, str], None]


@dataclass
class OutboxCounts:
    sent: int = 0
    failed: int = 0
    expired: int = 0
    rate_limited: int = 0
    retried: int = 0
    max_queue: int = 0


class Outbox:
    def __init__(
        self,
        pool,
        handles: dict[str, BotHandle],
        limits: SendLimits,
        recorder: Recorder,
        *,
        on_sent: SentListener,
        on_inactive: InactiveListener,
    ) -> None:
        self.pool = pool
        self.handles = handles
        self.limits = limits
        self.recorder = recorder
        self.on_sent = on_sent
        self.on_inactive = on_inactive
        self.counts = OutboxCounts()
        self._queues: dict[int, list[tuple[tuple[int, float, int], Outgoing]]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._paused_until: dict[str, float] = {}
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._taken = 0  # off the queue, waiting for the global bucket

    # --- putting in -----------------------------------------------------------------------

    async def put(self, item: Outgoing) -> int | None:
        """Store the row, then queue it; returns the outbox id (None: that message was answered already)."""
        handle = self.handles[item.bot]
        outbox_id = await retrying(lambda: queries.insert_outgoing(
            self.pool, bot_id=handle.db_id, chat_id=item.chat_id, text=item.text, reply_to_message_id=item.reply_to,
            answers_message_id=item.answers, priority=int(item.priority), not_before=_at(item.not_before),
            expires_at=_at(item.expires_at) if item.expires_at else None))
        if outbox_id is None:
            return None
        item.id = outbox_id
        verdict = guard(item.text)
        if not verdict.ok:
            # Whatever wrote it (templates, a model, an admin reply), this never reaches the chat.
            await self._finish(item, "failed", f"guard: {verdict.reason}")
            return outbox_id
        self._queue(item)
        if item.priority is Priority.ANSWER and item.not_before > time.time():
            self._spawn(self._typing(handle, item.chat_id))
        return item.id

    async def _typing(self, handle: BotHandle, chat_id: int) -> None:
        # Shows "typing..." while the answer waits out its deliberate delay.
        try:
            await handle.bot.send_chat_action(chat_id, "typing")
        except Exception as error:  # cosmetic: never worth more than a log line
            log.debug("send.typing_failed", bot=handle.name, error=error_kind(error))

    async def load_pending(self) -> int:
        """Queue what a previous run left pending; returns how many."""
        rows = await queries.pending_outgoing(self.pool)
        by_db_id = {handle.db_id: name for name, handle in self.handles.items()}
        for row in rows:
            name = by_db_id.get(row.bot_id)
            if name is None:
                await self._finish(Outgoing(bot="?", chat_id=row.chat_id, text=row.text, priority=Priority(row.priority),
                                            id=row.id, attempts=row.attempts), "failed", "the bot is no longer in bots.yaml")
                continue
            self._queue(Outgoing(
                bot=name, chat_id=row.chat_id, text=row.text, priority=Priority(row.priority),
                reply_to=row.reply_to_message_id, answers=row.answers_message_id,
                not_before=row.not_before.timestamp(), attempts=row.attempts, id=row.id,
                expires_at=row.expires_at.timestamp() if row.expires_at else None))
        return len(rows)

    def _queue(self, item: Outgoing) -> None:
        queue = self._queues.setdefault(item.chat_id, [])
        heapq.heappush(queue, (item.sort_key(next(self._seq)), item))
        self.counts.max_queue = max(self.counts.max_queue, self.backlog)
        self._changed.set()
        self._wake.setdefault(item.chat_id, asyncio.Event()).set()
        if item.chat_id not in self._tasks:
            self._tasks[item.chat_id] = asyncio.create_task(self._serve(item.chat_id), name=f"outbox:{item.chat_id}")

    async def drop_bot(self, bot: str, reason: str) -> None:
        """The bot is gone: what it had queued ends failed, with the reason."""
        dropped = []
        for queue in self._queues.values():
            mine = [entry for entry in queue if entry[1].bot == bot]
            for entry in mine:
                queue.remove(entry)
                dropped.append(entry[1])
            heapq.heapify(queue)
        self._paused_until.pop(bot, None)
        for item in dropped:
            await self._finish(item, "failed", reason)

    @property
    def backlog(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def backlog_of(self, chat_id: int, priority: Priority | None = None) -> int:
        return sum(1 for _, item in self._queues.get(chat_id, []) if priority is None or item.priority == priority)

    # --- the per-chat loop ----------------------------------------------------------------

    async def _serve(self, chat_id: int) -> None:
        wake = self._wake[chat_id]
        while True:
            item = self._take(chat_id)
            if item is None:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self._until_ready(chat_id))
                continue
            self._taken += 1
            try:
                # _take chose an item whose buckets have room: this returns at once.
                await self.limits.pair(item.bot, chat_id).take(chatter=item.priority is Priority.CHATTER)
                await self.limits.global_bucket.acquire()
            except asyncio.CancelledError:
                self._queue(item)  # stopped before sending: it stays pending for the next start
                raise
            finally:
                self._taken -= 1
            self._spawn(self._send(item))

    def _ready(self, item: Outgoing, now: float) -> bool:
        if item.not_before > now or self._paused_until.get(item.bot, 0) > now:
            return False
        return self.limits.pair(item.bot, item.chat_id).has_room(chatter=item.priority is Priority.CHATTER)

    def _take(self, chat_id: int) -> Outgoing | None:
        """The most urgent item that may go now (answers first), off the queue."""
        now = time.time()
        self._expire(chat_id, now)
        queue = self._queues.get(chat_id, [])
        ready = [entry for entry in queue if self._ready(entry[1], now)]
        if not ready:
            return None
        best = min(ready)
        queue.remove(best)
        heapq.heapify(queue)
        return best[1]

    def _until_ready(self, chat_id: int) -> float | None:
        """How long nothing in this chat can go: None (until woken) when the queue is empty."""
        queue = self._queues.get(chat_id, [])
        if not queue:
            return None
        now = time.time()
        soonest = min(max(item.not_before, self._paused_until.get(item.bot, 0)) for _, item in queue) - now
        if soonest <= 0:
            return BUCKET_POLL  # held only by a full bucket: a slot is at most a few seconds away
        return min(soonest, 1.0)  # at least once a second, so that stale chatter expires on time

    def _expire(self, chat_id: int, now: float) -> None:
        queue = self._queues.get(chat_id, [])
        stale = [entry for entry in queue if entry[1].expires_at is not None and entry[1].expires_at <= now]
        for entry in stale:
            queue.remove(entry)
            self._spawn_finish(entry[1], "expired", "still queued when it stopped being fresh")
        if stale:
            heapq.heapify(queue)

    # --- sending --------------------------------------------------------------------------

    async def _send(self, item: Outgoing) -> None:
        handle = self.handles[item.bot]
        item.attempts += 1
        reply = ReplyParameters(message_id=item.reply_to, allow_sending_without_reply=True) if item.reply_to else None
        await self.limits.enter_global_window()
        try:
            message = await handle.bot.send_message(item.chat_id, item.text, reply_parameters=reply)
        except TelegramRetryAfter as error:
            self.counts.rate_limited += 1
            self._paused_until[item.bot] = time.time() + error.retry_after
            log.warning("send.rate_limited", bot=item.bot, chat_id=item.chat_id, retry_after=error.retry_after)
            self._queue(item)
            return
        except TelegramForbiddenError as error:
            await self._finish(item, "failed", f"forbidden: {error.message}")
            self.on_inactive(item.bot, item.chat_id, error.message)
            return
        except TelegramMigrateToChat as error:
            # The group became a supergroup: the message goes there, without a reply
            # target (the new chat numbers its messages afresh).
            log.info("send.chat_migrated", bot=item.bot, chat_id=item.chat_id, to=error.migrate_to_chat_id)
            item.attempts -= 1
            item.chat_id, item.reply_to = error.migrate_to_chat_id, None
            await retrying(lambda: queries.move_outgoing(self.pool, item.id, item.chat_id))
            self._queue(item)
            return
        except (TelegramBadRequest, TelegramUnauthorizedError) as error:
            await self._finish(item, "failed", f"{error_kind(error)}: {error.message}")
            return
        except Exception as error:  # network, 5xx, timeouts: try again, within reason
            if item.attempts >= MAX_ATTEMPTS:
                await self._finish(item, "failed", f"{error_kind(error)} after {item.attempts} attempts")
                return
            self.counts.retried += 1
            item.not_before = time.time() + min(2 ** item.attempts * 0.25, 15)
            log.warning("send.retry", bot=item.bot, chat_id=item.chat_id, error=error_kind(error), attempt=item.attempts)
            self._queue(item)
            return
        committed = self.recorder.record_sent(message, handle)
        await self._finish(item, "sent", None, message.message_id)
        await committed
        self.on_sent(item, message)

    async def _finish(self, item: Outgoing, status: str, reason: str | None, message_id: int | None = None) -> None:
        setattr(self.counts, status, getattr(self.counts, status) + 1)
        if status != "sent":
            log.info(f"send.{status}", bot=item.bot, chat_id=item.chat_id, reason=reason, outbox_id=item.id)
        await retrying(lambda: queries.finish_outgoing(
            self.pool, item.id, status, reason=reason, telegram_message_id=message_id, attempts=item.attempts))

    def _spawn_finish(self, item: Outgoing, status: str, reason: str) -> None:
        self._spawn(self._finish(item, status, reason))

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._changed.set()

    async def drain_until_idle(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or on the wire (tests, `simulate`'s end)."""
        await self.wait_until(lambda: not (self.backlog or self._in_flight or self._taken), timeout)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait, without polling, until `condition` holds after some change in the outbox."""
        async def reached() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), timeout)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for sends already on the wire (and their rows)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout)

    async def close(self) -> None:
        """Stop taking new sends; what is still queued stays pending for the next start."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self.drain()


def _at(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)
