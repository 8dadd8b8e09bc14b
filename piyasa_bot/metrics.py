"""Ingest latency, measured where it starts: the moment getUpdates returned a batch.

Everything else the metrics endpoint shows is read at scrape time from
counters the runner keeps anyway (see `metrics_server`); only this histogram
needs an observation, and it is taken off the hot path: `TimedIngest` notes
the time a batch arrives and adds a done-callback to the commits the poller
already waits for. No prometheus_client here, so the runner can always use it.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from piyasa_bot.bots import BotHandle
from piyasa_bot.ingest.pipeline import Batch, Ingest

# Seconds. Healthy ingest is tens of milliseconds; a database outage holds
# batches for as long as it lasts, hence the long tail.
INGEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class LatencyHistogram:
    """Bucket counts, a sum and a count: what a Prometheus histogram exposes."""

    def __init__(self, bounds: Iterable[float] = INGEST_BUCKETS) -> None:
        self.bounds = tuple(sorted(bounds))
        self._counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self.bounds, seconds)] += 1  # a value on a bound counts as <= it
        self.sum += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= it), ending with (inf, count)."""
        total, buckets = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self._counts, strict=True):
            total += count
            buckets.append((bound, total))
        return buckets


class TimedIngest(Ingest):
    """`Ingest` that observes, per batch with something new, the time from arrival to commit.

    "Commit" is the moment every row the batch depends on is committed: the
    moment its poller may confirm the offset. A batch of copies only (another
    bot stored them first) is not observed: its latency belongs to that bot.
    """

    def __init__(self, *args: Any, latency: LatencyHistogram | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latency = latency or LatencyHistogram()

    async def process(self, handle: BotHandle, raw_updates: list[dict[str, Any]]) -> Batch:
        arrived = time.perf_counter()
        batch = await super().process(handle, raw_updates)
        if batch.new:
            _on_all_done(batch.commits, lambda: self.latency.observe(time.perf_counter() - arrived))
        return batch


def _on_all_done(futures: Iterable[asyncio.Future[None]], then: Callable[[], None]) -> None:
    """Call `then()` once every future is done; not at all if one was cancelled (shutdown)."""
    pending = [future for future in futures if not future.done()]
    if not pending:
        then()
        return
    remaining = len(pending)

    def one_done(future: asyncio.Future[None]) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and not any(f.cancelled() for f in pending):
            then()

    for future in pending:
        future.add_done_callback(one_done)
