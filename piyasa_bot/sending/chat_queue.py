"""One chat's waiting messages: a priority queue that looks only at what could go next.

The next message is the most urgent one (answers before chatter, then the
earliest `not_before`, then the oldest) among those whose time has come and
whose limits have room now. The limits belong to a lane: one bot, one kind
of message, in this chat. Every message of a lane waits for the same
buckets, so within a lane, kept as a heap ordered by (not_before, arrival),
only the head can be next. A take therefore looks at one head per lane (a few
per bot in the chat) and pops one entry: it never scans or re-heapifies the
queue. Stale messages are found through a second heap ordered by expiry.

Removal is lazy: a message taken, expired or dropped is marked dead where it
still sits in the other heap and skipped when it comes up; the heaps are
rebuilt once dead entries outnumber the live ones, so memory follows what is
queued, not what went through.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from piyasa_bot.sending.outgoing import Outgoing, Priority

# Seconds until this bot may send this kind of message in this chat (0: now).
LaneWait = Callable[[str, Priority], float]

COMPACT_AFTER = 64  # dead entries tolerated before a rebuild is worth it


@dataclass(eq=False, slots=True)
class _Entry:
    item: Outgoing
    seq: int
    live: bool = True


_Heap = list[tuple[float, int, _Entry]]


class ChatQueue:
    def __init__(self) -> None:
        self._lanes: dict[tuple[str, Priority], _Heap] = {}
        self._expiry: _Heap = []
        self._counts = dict.fromkeys(Priority, 0)
        self._lane_counts: Counter[tuple[str, Priority]] = Counter()  # live entries per lane
        self._dead = 0
        self._seq = itertools.count()

    def __len__(self) -> int:
        return sum(self._counts.values())

    def count(self, priority: Priority | None = None) -> int:
        return len(self) if priority is None else self._counts[priority]

    def lane_count(self, bot: str, priority: Priority) -> int:
        """How many of this bot's messages of this kind wait here."""
        return self._lane_counts[(bot, priority)]

    def __iter__(self) -> Iterator[Outgoing]:
        """Every queued message, in no particular order (for snapshots)."""
        for lane in self._lanes.values():
            for _, _, entry in lane:
                if entry.live:
                    yield entry.item

    def push(self, item: Outgoing) -> None:
        entry = _Entry(item, next(self._seq))
        heapq.heappush(self._lanes.setdefault((item.bot, item.priority), []), (item.not_before, entry.seq, entry))
        if item.expires_at is not None:
            heapq.heappush(self._expiry, (item.expires_at, entry.seq, entry))
        self._counts[item.priority] += 1
        self._lane_counts[(item.bot, item.priority)] += 1

    def pop_ready(self, now: float, lane_wait: LaneWait) -> Outgoing | None:
        """Take the most urgent message that may go now (`now`: wall clock), if any."""
        best: tuple[tuple[int, float, int], _Heap, _Entry] | None = None
        for (bot, priority), lane in list(self._lanes.items()):
            head = self._head(bot, priority, lane)
            if head is None or head.item.not_before > now:
                continue
            key = (priority, head.item.not_before, head.seq)
            if best is not None and key >= best[0]:
                continue  # could not win: spare asking the limits
            if lane_wait(bot, priority) > 0:
                continue
            best = (key, lane, head)
        if best is None:
            return None
        _, lane, entry = best
        heapq.heappop(lane)
        self._kill(entry)
        self._compact()
        return entry.item

    def pop_expired(self, now: float) -> list[Outgoing]:
        """Take every message whose expiry (wall clock) has come."""
        stale = []
        while self._expiry and self._expiry[0][0] <= now:
            _, _, entry = heapq.heappop(self._expiry)
            if entry.live:
                self._kill(entry)
                stale.append(entry.item)
            else:
                self._dead -= 1  # it was taken earlier; this was its last trace
        self._compact()
        return stale

    def remove_bot(self, bot: str) -> list[Outgoing]:
        """Take every message of this bot."""
        removed = []
        for priority in Priority:
            for _, _, entry in self._lanes.pop((bot, priority), []):
                if entry.live:
                    self._kill(entry)
                    removed.append(entry.item)
                else:
                    self._dead -= 1
        self._compact()
        return removed

    def next_wait(self, now: float, lane_wait: LaneWait) -> float | None:
        """Seconds until something here may go or expire, were nothing added; None when empty."""
        soonest = None
        for (bot, priority), lane in list(self._lanes.items()):
            head = self._head(bot, priority, lane)
            if head is not None:
                wait = max(head.item.not_before - now, lane_wait(bot, priority), 0.0)
                soonest = wait if soonest is None else min(soonest, wait)
        while self._expiry and not self._expiry[0][2].live:
            heapq.heappop(self._expiry)
            self._dead -= 1
        if self._expiry:
            wait = max(self._expiry[0][0] - now, 0.0)
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    def _head(self, bot: str, priority: Priority, lane: _Heap) -> _Entry | None:
        while lane and not lane[0][2].live:
            heapq.heappop(lane)
            self._dead -= 1
        if not lane:
            del self._lanes[(bot, priority)]  # a bot that stopped talking leaves no lane behind
            return None
        return lane[0][2]

    def _kill(self, entry: _Entry) -> None:
        # One entry for the lane, one for the expiry heap: the one popped is gone, the other is dead.
        entry.live = False
        self._counts[entry.item.priority] -= 1
        lane = (entry.item.bot, entry.item.priority)
        self._lane_counts[lane] -= 1
        if not self._lane_counts[lane]:
            del self._lane_counts[lane]  # no key left behind by a bot that stopped talking
        if entry.item.expires_at is not None:
            self._dead += 1

    def _compact(self) -> None:
        if self._dead <= max(COMPACT_AFTER, len(self)):
            return
        for key, lane in list(self._lanes.items()):
            alive = [cell for cell in lane if cell[2].live]
            if alive:
                heapq.heapify(alive)
                self._lanes[key] = alive
            else:
                del self._lanes[key]
        self._expiry = [cell for cell in self._expiry if cell[2].live]
        heapq.heapify(self._expiry)
        self._dead = 0
