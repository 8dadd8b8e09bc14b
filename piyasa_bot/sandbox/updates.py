"""One bot's update queue: update_id numbering, offset confirmation, long polling.

Updates are stored as pre-encoded JSON bodies (`"message":{...}`) so a message
fanned out to fifty bots is serialized once, not fifty times.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from itertools import islice

from .models import conflict, unauthorized

_SUPERSEDED = "superseded"
_REVOKED = "revoked"
_CLOSING = "closing"


class ConfirmationWatch:
    """Counts updates not yet confirmed across all queues; wakes waiters at zero."""

    def __init__(self) -> None:
        self.unconfirmed = 0
        self._waiters: list[asyncio.Future[None]] = []

    def added(self, count: int) -> None:
        self.unconfirmed += count

    def confirmed(self, count: int) -> None:
        self.unconfirmed -= count
        if self.unconfirmed == 0:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        if self.unconfirmed == 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


class PollWatch:
    """Counts the bots that have called getUpdates at least once; wakes waiters at a count."""

    def __init__(self) -> None:
        self.polled = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def first_poll(self) -> None:
        self.polled += 1
        for count, waiter in self._waiters:
            if count <= self.polled and not waiter.done():
                waiter.set_result(None)

    async def wait(self, count: int, timeout: float) -> None:
        if self.polled >= count:
            return
        entry = (count, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(entry[1], timeout)
        finally:
            self._waiters.remove(entry)


class UpdateQueue:
    def __init__(self, first_update_id: int, watch: ConfirmationWatch, polls: PollWatch):
        self._items: deque[tuple[int, bytes]] = deque()
        self._next_id = first_update_id
        self._watch = watch
        self._polls = polls
        self.calls = 0  # getUpdates requests with this token, answered or not
        self.last_call_at: float | None = None  # time.time() of the latest
        self._waiter: asyncio.Future[str | None] | None = None
        self._generation = 0  # bumped by every getUpdates; older pollers lose
        self._poll_watchers: list[asyncio.Future[None]] = []
        self.delivered = 0

    def __len__(self) -> int:
        return len(self._items)

    def note_call(self) -> None:
        """A getUpdates request arrived (before any fault decides its answer)."""
        self.calls += 1
        self.last_call_at = time.time()
        if self.calls == 1:
            self._polls.first_poll()

    def push(self, body: bytes) -> int:
        update_id = self._next_id
        self._next_id += 1
        self._items.append((update_id, body))
        self._watch.added(1)
        self._wake(None)
        return update_id

    def confirm(self, offset: int) -> None:
        """Drop every update with update_id < offset (Telegram's confirmation)."""
        items, dropped = self._items, 0
        while items and items[0][0] < offset:
            items.popleft()
            dropped += 1
        if dropped:
            self._watch.confirmed(dropped)

    def clear(self) -> None:
        dropped = len(self._items)
        self._items.clear()
        if dropped:
            self._watch.confirmed(dropped)

    def take(self, limit: int) -> list[bytes]:
        batch = [b'{"update_id":%d,%s}' % item for item in islice(self._items, limit)]
        self.delivered += len(batch)
        return batch

    async def poll(self, offset: int | None, limit: int, timeout: float) -> list[bytes]:
        """getUpdates: confirm below `offset`, then answer at once or wait up to `timeout`.

        A newer poll on the same token ends this one with 409, as Telegram does.
        """
        self._generation += 1
        generation = self._generation
        self._wake(_SUPERSEDED)
        if offset is not None:
            self.confirm(offset)
        if self._items or timeout <= 0:
            return self.take(limit)
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self._notify_polling()
        try:
            reason = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            reason = None
        finally:
            if self._waiter is waiter:
                self._waiter = None
        if reason == _SUPERSEDED or generation != self._generation:
            raise conflict()
        if reason == _REVOKED:
            raise unauthorized()
        return self.take(limit)

    @property
    def polling(self) -> bool:
        """A long poll is waiting for updates right now."""
        return self._waiter is not None and not self._waiter.done()

    async def wait_polling(self, timeout: float) -> None:
        if self.polling:
            return
        watcher = asyncio.get_running_loop().create_future()
        self._poll_watchers.append(watcher)
        try:
            await asyncio.wait_for(watcher, timeout)
        finally:
            if watcher in self._poll_watchers:
                self._poll_watchers.remove(watcher)

    def _notify_polling(self) -> None:
        for watcher in self._poll_watchers:
            if not watcher.done():
                watcher.set_result(None)
        self._poll_watchers.clear()

    def revoke(self) -> None:
        self.clear()
        self._wake(_REVOKED)

    def close(self) -> None:
        """End a waiting poll with an empty answer so the server can stop."""
        self._wake(_CLOSING)

    def _wake(self, reason: str | None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reason)
