"""The C heap's free pages go back to the system: RSS falls after a fragmenting burst."""

from __future__ import annotations

import asyncio

import psutil
import pytest

from piyasa_bot.malloc_trim import MallocTrimmer

MIB = 1024 * 1024


def test_trimming_returns_the_free_pages_a_fragmenting_burst_left_behind() -> None:
    trimmer = MallocTrimmer()
    if not trimmer.available:
        pytest.skip("no glibc malloc_trim on this system")
    # Bodies of every size, as getUpdates answers are; one in ten stays alive, so the
    # free space lies between live blocks, where glibc does not give it back by itself.
    burst = [bytes(1024 + (i % 7) * 512) for i in range(60_000)]
    kept = burst[::10]
    del burst
    process = psutil.Process()
    before = process.memory_info().rss
    trimmer.trim()
    after = process.memory_info().rss
    assert len(kept) == 6_000
    assert before - after > 40 * MIB, f"RSS {before / MIB:.0f} -> {after / MIB:.0f} MiB"
    assert trimmer.trims == 1


async def test_the_trimming_task_starts_and_stops_cleanly() -> None:
    trimmer = MallocTrimmer(every=0.01)
    trimmer.start()
    while trimmer.available and trimmer.trims < 2:
        await asyncio.sleep(0.01)
    await trimmer.stop()
    stopped_at = trimmer.trims
    await asyncio.sleep(0.05)
    assert trimmer.trims == stopped_at
