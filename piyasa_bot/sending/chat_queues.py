"""The outbox's queues: a `ChatQueue` per chat, the event that wakes its loop, and the loop itself.

What a loop does with a message is the outbox's (`serve`); this module only keeps one loop per
chat running while sending is on, and stops them all at a pause or a close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from piyasa_bot.sending.chat_queue import ChatQueue
from piyasa_bot.sending.outgoing import Outgoing, Priority

Serve = Callable[[int, ChatQueue, asyncio.Event], Coroutine[Any, Any, None]]


class ChatQueues:
    def __init__(self, serve: Serve) -> None:
        self._serve = serve  # one chat's loop: takes from its queue, waits on its event when nothing is ready
        self._queues: dict[int, ChatQueue] = {}
        self._wake: dict[int, asyncio.Event] = {}
        self._loops: dict[int, asyncio.Task[None]] = {}
        self.stopped = False  # no loop runs (a pause, a close); what is queued stays

    def push(self, item: Outgoing) -> None:
        """Queue `item` in its chat and wake that chat's loop (started now if it has none)."""
        chat_id = item.chat_id
        queue = self._queues.get(chat_id)
        if queue is None:
            queue = self._queues[chat_id] = ChatQueue()
            self._wake[chat_id] = asyncio.Event()
        queue.push(item)
        self._wake[chat_id].set()
        if not self.stopped:
            self._ensure_loop(chat_id)

    def remove_bot(self, bot: str) -> list[Outgoing]:
        """Take every queued message of `bot` out, in every chat."""
        return [item for queue in self._queues.values() for item in queue.remove_bot(bot)]

    def __iter__(self) -> Iterator[Outgoing]:
        for queue in self._queues.values():
            yield from queue

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def count(self, chat_id: int, priority: Priority | None = None) -> int:
        queue = self._queues.get(chat_id)
        return queue.count(priority) if queue is not None else 0

    def lane_count(self, chat_id: int, bot: str, priority: Priority) -> int:
        queue = self._queues.get(chat_id)
        return queue.lane_count(bot, priority) if queue is not None else 0

    async def stop(self) -> None:
        """Cancel every chat's loop and wait for them (a message being dispatched goes back to its queue)."""
        self.stopped = True
        loops = list(self._loops.values())
        self._loops.clear()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    def start(self) -> None:
        """Every chat's loop runs again, over what its queue holds."""
        self.stopped = False
        for chat_id in self._queues:
            self._ensure_loop(chat_id)

    def _ensure_loop(self, chat_id: int) -> None:
        loop = self._loops.get(chat_id)
        if loop is not None and not loop.done():
            return
        self._loops[chat_id] = asyncio.create_task(
            self._serve(chat_id, self._queues[chat_id], self._wake[chat_id]), name=f"outbox:{chat_id}"
        )
