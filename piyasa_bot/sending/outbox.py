"""The outbox: every outgoing message is a row before it is a request.

A row is pending, then sent, failed or expired with the reason, so nothing
is dropped silently and pending messages survive a restart. Each chat has a
`ChatQueue` and one loop that picks the most urgent message whose limits
have room now (answers before chatter), takes the global bucket, marks the
row's send as started, takes the chat's slot and hands it to the send step;
its `SendOutcome` decides what becomes of the row, recorded at once.

No one is answered twice: a row is held (queued or on the wire) at most once
per process, and a send whose outcome is unknown — the process stopped
between marking and recording, or the connection broke after the request
was written — is never sent again (the rule is in `resume`).

Its pieces are the other modules of this package: `chat_queue`, `limits`,
`chat_queues`, `send`/`outcomes`, `retry`, `store`, `resume`, `migration`,
`typing_action`, `status`, `work`; each says what it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import structlog
from aiogram.types import Message

from piyasa_bot.bots import BotHandle
from piyasa_bot.conversation.guard import guard
from piyasa_bot.ingest.pipeline import Recorder
from piyasa_bot.sending.chat_queue import ChatQueue, LaneWait
from piyasa_bot.sending.chat_queues import ChatQueues
from piyasa_bot.sending.limits import WINDOW, SendLimits
from piyasa_bot.sending.migration import follow_migration
from piyasa_bot.sending.outcomes import SendOutcome, SendResult
from piyasa_bot.sending.outgoing import Outgoing, Priority
from piyasa_bot.sending.resume import plan_resume, unknown_outcome
from piyasa_bot.sending.retry import RetryBackoff, default_expiry, stale_reason
from piyasa_bot.sending.rights import EveryBot, SendRights
from piyasa_bot.sending.send import send_once
from piyasa_bot.sending.status import LimitHolds, OutboxCounts, OutboxStatus
from piyasa_bot.sending.store import OutboxRow, OutboxStore
from piyasa_bot.sending.typing_action import Typing
from piyasa_bot.sending.work import BackgroundWork
from piyasa_bot.telegram import error_kind

__all__ = ["Outbox", "OutboxCounts", "OutboxStatus", "Outgoing", "Priority"]

log = structlog.get_logger(__name__)

MAX_IDLE_WAIT = 1.0  # seconds: a queue looks again at least this often (limits may change on a reload)
# Answers one bot may have waiting in one chat: two minutes of its 20 a minute. One more is expired at once.
MAX_ANSWERS_WAITING = 40

SentListener = Callable[[Outgoing, Message], None]
InactiveListener = Callable[[str, int, str], None]


class Outbox:
    def __init__(
        self,
        pool: Any,
        handles: Mapping[str, BotHandle],
        limits: SendLimits,
        recorder: Recorder,
        *,
        on_sent: SentListener,
        on_inactive: InactiveListener,
        rights: SendRights | None = None,
    ) -> None:
        self.pool = pool
        self.handles = handles  # read only, through mapping operations: the runner owns it
        self.limits = limits
        self.recorder = recorder
        self.on_sent = on_sent
        self.on_inactive = on_inactive
        self.rights: SendRights = rights or EveryBot()  # in a fleet: only the bots whose lease is held here
        self.counts = OutboxCounts()
        self.rate_limited_by_bot: Counter[str] = Counter()  # 429s since start, for the console's bot page
        self.retry = RetryBackoff()
        self._store = OutboxStore(pool)
        self._queues = ChatQueues(self._serve)
        self._work = BackgroundWork()
        self._typing = Typing()  # "typing..." while a message waits out its deliberate delay
        self._held: set[int] = set()  # row ids queued or on the wire in this process, until their row is closed
        self._closed_during_reads: list[set[int]] = []  # one set per resume reading rows now (see _resume)
        self._dispatching = 0  # off its queue, not yet handed to a send task
        self._waiting_global = 0  # of those, waiting for the roster-wide bucket
        self._silenced: dict[str, str] = {}  # bot -> why its messages end expired instead of sent (`silence`)
        self._on_wire: Counter[str] = Counter()  # bot -> sends on the wire now

    # --- putting in -----------------------------------------------------------------------

    async def put(self, item: Outgoing) -> int | None:
        """Store the row, then queue it; returns the outbox id (None: that message was answered already)."""
        handle = self.handles[item.bot]
        if item.expires_at is None:
            item.expires_at = default_expiry(item, self.limits.limits)  # every message tries until it is stale
        outbox_id = await self._store.insert(item, handle.db_id)
        if outbox_id is None:
            return await self._take_existing(item)
        if outbox_id in self._held:
            return outbox_id  # a resume that ran meanwhile found the row and queued it
        item.id = outbox_id
        self._held.add(outbox_id)
        verdict = guard(item.text)
        if not verdict.ok:
            # Whatever wrote it (templates, a model, an admin reply), this never reaches the chat.
            await self._finish(item, OutboxStatus.FAILED, f"guard: {verdict.reason}")
            return outbox_id
        if not self.rights.sends_for(item.bot):
            # Another runner sends for this bot: the row is its to queue, and it is told now.
            self._held.discard(outbox_id)
            await self._store.notify_owner(handle.db_id)
            return outbox_id
        if item.bot in self._silenced:
            await self._finish(item, OutboxStatus.EXPIRED, self._silenced[item.bot])
            return outbox_id
        waiting = self._answers_waiting(item)
        if waiting >= MAX_ANSWERS_WAITING:
            # Over Telegram's limits no queue catches up: an answer this late is worse than none, and a
            # backlog bounded only by the expiry grows for as long as the overload lasts.
            await self._finish(item, OutboxStatus.EXPIRED, f"{waiting} answers of this bot already wait in this chat")
            return outbox_id
        self._queue(item)
        self._show_typing(item)
        return item.id

    async def _take_existing(self, item: Outgoing) -> int | None:
        """The person's message has its row already. Ended, or held here: None. Pending and held by nobody
        (our insert whose commit an outage hid, or an earlier run's row): resumed (queued, or closed by the
        resume's rules: a send that started is never repeated); its id if queued."""
        if item.answers is None:
            return None
        answers = item.answers

        async def read() -> list[OutboxRow]:
            found = await self._store.answering(item.chat_id, answers)
            return [found[1]] if found is not None and found[0] is OutboxStatus.PENDING else []

        resumed = await self._resume(read)
        return resumed[0].id if resumed else None

    async def load_pending(self) -> int:
        """Queue what a previous run left pending, except rows this run holds already; returns how many."""
        return len(await self._resume(self._store.pending))

    async def look(self, bot_ids: list[int]) -> int:
        """Queue the pending rows of these bots that nobody here holds (another runner queued them, or the
        bot's earlier owner left them); returns how many."""
        return len(await self._resume(lambda: self._store.pending(bot_ids)))

    async def adopt(self, bot: str, *, queue: bool = True) -> int:
        """This runner now sends for `bot`: what it sent lately (under any runner) still counts against its
        limits, and (with `queue`) what is pending for it is queued here; returns how many."""
        handle = self.handles[bot]
        for chat_id, ago in await self._store.recent_sends(handle.db_id, WINDOW):
            self.limits.seed(bot, chat_id, [ago])
        return await self.look([handle.db_id]) if queue else 0

    async def release(self, bot: str, timeout: float = 1.0) -> None:
        """Another runner sends for `bot` from now on: its queued rows stay pending for that runner (nothing
        is closed), and the sends on the wire finish first (within `timeout`)."""
        for item in self.set_aside(bot):
            self._held.discard(item.id)
        with contextlib.suppress(TimeoutError):
            await self.wait_until(lambda: not self._on_wire[bot], timeout)

    async def _resume(self, read: Callable[[], Awaitable[list[OutboxRow]]]) -> list[Outgoing]:
        """Rows `read` finds pending, queued or closed by the resume's rules; returns those queued.

        What `read` returns may be stale by the time it returns: a row this process sent and closed
        meanwhile still reads pending. So every row closed here during the read is left out too, as the
        rows held now are: it is never sent again, nor its sent row closed as unknown.
        """
        closed: set[int] = set()
        self._closed_during_reads.append(closed)
        try:
            rows = await read()
        finally:
            # By identity: two resumes reading at once may both have empty sets, and sets compare by value.
            self._closed_during_reads = [other for other in self._closed_during_reads if other is not closed]
        # A row of a bot another runner sends for is that runner's to resume.
        names = {handle.db_id: name for name, handle in self.handles.items() if self.rights.sends_for(name)}
        plan = plan_resume([row for row in rows if row.bot_id in names], names, self._held | closed)
        for item, _, _ in plan.close:
            self._held.add(item.id)  # being closed: a second resume must not pick it up meanwhile
        for item in plan.queue:
            self._queue(item)
        for item, status, reason in plan.close:
            await self._finish(item, status, reason)
        return plan.queue

    def _queue(self, item: Outgoing) -> None:
        self._held.add(item.id)
        if item.expires_at is None:  # a row an older version stored without one
            item.expires_at = default_expiry(item, self.limits.limits)
        self._queues.push(item)
        self.counts.max_queue = max(self.counts.max_queue, self.backlog)
        self._work.changed()

    def _show_typing(self, item: Outgoing) -> None:
        """Show "typing..." while a message waits out its deliberate delay (answers and chatter alike), until
        it is sent or dropped; not while sending is paused."""
        handle = self.handles.get(item.bot)
        if handle is not None and item.not_before > time.time() and not self.paused:
            self._typing.start(item.id, handle, item.chat_id, item.not_before)

    def set_aside(self, bot: str) -> list[Outgoing]:
        """Take the bot's queued messages out of the queues: it left bots.yaml, perhaps for a moment.

        Their rows stay pending and held by this process (a resume does not take them);
        `take_back` queues them again, `fail_set_aside` ends them.
        """
        items = self._queues.remove_bot(bot)
        for item in items:
            self._typing.stop(item.id)
        self._work.changed()
        return items

    def take_back(self, items: list[Outgoing]) -> None:
        """The bot is back: its messages set aside go out after all (those gone stale expire as usual)."""
        for item in items:
            self._queue(item)

    async def fail_set_aside(self, bot: str, items: list[Outgoing], reason: str) -> None:
        """The bot is not coming back: what it had queued ends failed, with the reason."""
        self.limits.pauses.forget(bot)
        for item in items:
            await self._finish(item, OutboxStatus.FAILED, reason)

    def silence(self, bot: str, reason: str) -> int:
        """Send nothing of this bot until `unsilence`: what it has queued, and what it queues meanwhile, ends
        expired with `reason` (a send already on the wire finishes). Returns how many queued messages end;
        their rows are closed in the background (`drain` waits for them), as an outage may hold them up."""
        self._silenced[bot] = reason
        items = self.set_aside(bot)
        for item in items:
            self._work.spawn(self._finish(item, OutboxStatus.EXPIRED, reason))
        return len(items)

    def unsilence(self, bot: str) -> None:
        """The bot's new messages are sent again (those that ended meanwhile stay ended)."""
        self._silenced.pop(bot, None)

    # --- what others may ask ------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Nothing is sent (`pause`); what is queued stays pending."""
        return self._queues.stopped

    @property
    def backlog(self) -> int:
        return len(self._queues)

    def _answers_waiting(self, item: Outgoing) -> int:
        if item.priority is not Priority.ANSWER:
            return 0
        return self._queues.lane_count(item.chat_id, item.bot, Priority.ANSWER)

    def backlog_of(self, chat_id: int, priority: Priority | None = None) -> int:
        return self._queues.count(chat_id, priority)

    def holds(self) -> LimitHolds:
        """What is held by which limit right now: messages whose time has come, waiting for room."""
        held = Counter(limit for _, limit in self._due_and_held())
        return LimitHolds(chat=held["chat"], retry_after=held["retry_after"], global_bucket=self._waiting_global)

    def held_by_bot(self) -> Counter[str]:
        """Per bot, its queued messages whose time has come and that a limit holds right now."""
        return Counter(item.bot for item, limit in self._due_and_held() if limit is not None)

    def _due_and_held(self) -> Iterator[tuple[Outgoing, str | None]]:
        """Each queued message whose time has come, with the limit holding it (None: none does)."""
        now = time.time()  # a later one waits out a deliberate delay, not a limit
        for item in self._queues:
            if item.not_before <= now:
                yield item, self.limits.holding(item.bot, item.chat_id, item.is_chatter)

    # --- the per-chat loop ----------------------------------------------------------------

    def _lane_wait(self, chat_id: int) -> LaneWait:
        return lambda bot, priority: self.limits.until_room(bot, chat_id, chatter=priority is Priority.CHATTER)

    async def _serve(self, chat_id: int, queue: ChatQueue, wake: asyncio.Event) -> None:
        lane_wait = self._lane_wait(chat_id)
        while True:
            now = time.time()
            for stale in queue.pop_expired(now):
                self._work.spawn(self._finish(stale, OutboxStatus.EXPIRED, stale_reason(stale)))
            item = queue.pop_ready(now, lane_wait)
            if item is not None and item.bot in self._silenced:  # queued again since (a retry, a resume)
                self._work.spawn(self._finish(item, OutboxStatus.EXPIRED, self._silenced[item.bot]))
                continue
            if item is None:
                wake.clear()
                wait = queue.next_wait(now, lane_wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=None if wait is None else min(wait, MAX_IDLE_WAIT))
                continue
            try:
                await self._dispatch(item)
            except Exception as error:  # noqa: BLE001 - a database error retrying does not cover, or a bug
                log.error(
                    "outbox.dispatch_failed",
                    chat_id=chat_id,
                    outbox_id=item.id,
                    error=error_kind(error),
                    detail=str(error),
                )
                item.not_before = time.time() + 1.0  # the chat's loop goes on; this message later
                self._queue(item)

    async def _dispatch(self, item: Outgoing) -> None:
        """Global bucket, then the mark (committed before any request, and as late as can be: a crash in
        between leaves an unsent message unknown), then the pair's slot, so a slow mark delays it too."""
        self._dispatching += 1
        try:
            self._waiting_global += 1
            try:
                await self.limits.global_bucket.acquire()
            finally:
                self._waiting_global -= 1
            item.attempts += 1
            # Its own task, so that a close() arriving meanwhile cannot leave the mark half done.
            marking = self._work.spawn(self._store.mark_started(item, self.rights.lease_of(item.bot)))
            try:
                if not await asyncio.shield(marking):
                    self._refused(item)
                    return
                await self.limits.pair(item.bot, item.chat_id).take(chatter=item.is_chatter)
            except asyncio.CancelledError:
                item.attempts -= 1
                self._work.spawn(self._unmark(marking, item))
                raise
        except asyncio.CancelledError:
            self._queue(item)  # stopped before sending: the row is plainly pending for the next start
            raise
        finally:
            self._dispatching -= 1
        self._work.spawn(self._send(item))

    def _refused(self, item: Outgoing) -> None:
        """The mark was refused: this runner lost the bot's lease (or the row is closed). Not sent; the row
        is the new owner's."""
        item.attempts -= 1
        self._held.discard(item.id)
        self._typing.stop(item.id)
        self.counts.refused += 1
        log.warning("send.claim_refused", bot=item.bot, chat_id=item.chat_id, outbox_id=item.id)
        self.rights.refused(item.bot)

    async def _unmark(self, marking: asyncio.Task[bool], item: Outgoing) -> None:
        await asyncio.gather(marking, return_exceptions=True)
        await self._store.not_started(item)

    # --- sending and what becomes of the row ------------------------------------------------

    async def _send(self, item: Outgoing) -> None:
        self._typing.stop(item.id)
        handle = self.handles.get(item.bot)
        if handle is None:
            await self._finish(item, OutboxStatus.FAILED, "the bot was removed from bots.yaml")
            return
        self._on_wire[item.bot] += 1
        try:
            result = await send_once(handle, item, self.limits)
            await self._settle(item, handle, result)
        finally:
            self._on_wire[item.bot] -= 1
            self._work.changed()

    async def _settle(self, item: Outgoing, handle: BotHandle, result: SendResult) -> None:
        match result.outcome:
            case SendOutcome.SENT:
                assert result.message is not None
                committed = self.recorder.record_sent(result.message, handle)
                await self._finish(item, OutboxStatus.SENT, None, result.message.message_id)
                await committed
                self.on_sent(item, result.message)
            case SendOutcome.RATE_LIMITED:
                self.counts.rate_limited += 1
                self.rate_limited_by_bot[item.bot] += 1
                paused = self.limits.pauses.pause(item.bot, result.retry_after)
                item.last_error = result.reason
                log.warning("send.rate_limited", bot=item.bot, chat_id=item.chat_id, retry_after=paused)
                await self._store.not_started(item)  # committed before it can be marked again
                self._queue(item)
            case SendOutcome.MIGRATED:
                assert result.migrate_to is not None
                item.attempts -= 1  # not a failure of this message
                await follow_migration(item, result.migrate_to, self._store)
                self._queue(item)
            case SendOutcome.FORBIDDEN:
                await self._finish(item, OutboxStatus.FAILED, result.reason)
                self.on_inactive(item.bot, item.chat_id, result.detail or result.reason)
            case SendOutcome.FAILED:
                await self._finish(item, OutboxStatus.FAILED, result.reason)
            case SendOutcome.UNKNOWN:
                log.warning(
                    "send.outcome_unknown", bot=item.bot, chat_id=item.chat_id, outbox_id=item.id, error=result.reason
                )
                await self._finish(item, *unknown_outcome(item, f"{result.reason}, after the request was sent"))
            case SendOutcome.RETRY:
                await self._retry_later(item, result)

    async def _retry_later(self, item: Outgoing, result: SendResult) -> None:
        """Nothing reached Telegram: try again after a capped backoff, for as long as the message is fresh."""
        item.last_error = result.reason
        retry_at = self.retry.next_attempt_at(item, time.time())
        if retry_at is None:
            await self._finish(item, OutboxStatus.EXPIRED, stale_reason(item))
            return
        self.counts.retried += 1
        item.not_before = retry_at
        log.warning(
            "send.retry",
            bot=item.bot,
            chat_id=item.chat_id,
            error=result.reason,
            attempt=item.attempts,
            retry_in=round(retry_at - time.time(), 2),
        )
        await self._store.not_started(item)  # committed before it can be marked again
        self._queue(item)

    async def _finish(
        self, item: Outgoing, status: OutboxStatus, reason: str | None, message_id: int | None = None
    ) -> None:
        self._typing.stop(item.id)
        self.counts.ended(status)
        if status is not OutboxStatus.SENT:
            log.info(f"send.{status}", bot=item.bot, chat_id=item.chat_id, reason=reason, outbox_id=item.id)
        await self._store.finish(item, status, reason, message_id)
        for closed in self._closed_during_reads:  # a resume reading now may still see this row pending
            closed.add(item.id)
        self._held.discard(item.id)  # only now: until the row is closed, a resume must not take it

    # --- standing down while another runner may send ------------------------------------------

    async def pause(self) -> None:
        """Send nothing until `resume` (the runner is fenced: its leases are not renewed).

        Every chat's loop stops as at `close`: a message being dispatched goes back to its
        queue unsent, its row plainly pending; sends already on the wire finish and are recorded.
        """
        await self._queues.stop()  # paused from here on: no typing starts again
        await self._typing.close()

    def resume(self) -> None:
        """Send again: every chat's loop starts over with what its queue holds, and what still waits out
        its delay shows typing again."""
        self._queues.start()
        for item in self._queues:
            self._show_typing(item)

    # --- waiting ------------------------------------------------------------------------------

    async def drain_until_idle(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or on the wire (tests, `simulate`'s end)."""
        await self.wait_until(lambda: not (self.backlog or self._work or self._dispatching), timeout)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait, without polling, until `condition` holds after some change in the outbox."""
        await self._work.wait_until(condition, timeout)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for sends already on the wire (and their rows)."""
        await self._work.drain(timeout)

    async def close(self) -> None:
        """Stop taking new sends; what is still queued stays pending for the next start."""
        await self._queues.stop()  # paused from here on: no typing starts again
        await self._typing.close()
        await self.drain()
