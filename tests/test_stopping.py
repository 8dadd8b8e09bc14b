"""Signals to `python -m piyasa_bot run`: a stop always ends, a second one at once, a reload is never fatal."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import RunnerProcess, World, make_world, roster_yaml

pytestmark = pytest.mark.slow

NAMES = [f"bot{i:03d}" for i in range(10)]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    world = await make_world(len(NAMES))
    yield world
    await world.emulator.stop()


def config_with(tmp_path: Path, world: World, names: list[str]) -> Path:
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml(names, world.chat_id))
    return config


async def test_a_sighup_during_start_up_is_kept_and_applied_once_running(
    world: World, dsn: str, tmp_path: Path
) -> None:
    config = config_with(tmp_path, world, NAMES[:2])
    runner = RunnerProcess(world, dsn, config)
    await runner.start()
    try:
        await runner.wait_for("db.migrated")  # inside the start: the bots are not polling yet
        config.write_text(roster_yaml(NAMES[:3], world.chat_id))
        runner.signal(signal.SIGHUP)
        await runner.wait_for("roster.applied")
        await runner.wait_for("bot.identified", count=3)
        assert runner.process.returncode is None, "SIGHUP must not end the process"
    finally:
        runner.signal(signal.SIGTERM)
        code = await runner.finish()
    assert code == 0
    assert runner.events("roster.applied")[0]["added"] == ["bot002"]


async def test_sigterm_under_load_exits_zero_within_ten_seconds(world: World, dsn: str, tmp_path: Path) -> None:
    runner = RunnerProcess(world, dsn, config_with(tmp_path, world, NAMES))
    await runner.start()
    await runner.wait_for("bot.identified", count=len(NAMES))
    posting = True

    async def people() -> None:  # ~100 messages a second, a third of them addressed to a bot
        i = 0
        while posting:
            text = f"@{NAMES[i % len(NAMES)]}_bot dolar ne olur?" if i % 3 == 0 else f"altın {i}"
            world.emulator.post(world.chat_id, user_id=100 + i % 17, text=text)
            i += 1
            await asyncio.sleep(0.01)

    crowd = asyncio.create_task(people())
    try:
        await asyncio.sleep(3)
        runner.signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await runner.finish(timeout=15)
        took = time.monotonic() - signalled
    finally:
        posting = False
        await crowd
    print(f"exit {code} {took:.2f} s after SIGTERM")
    assert code == 0 and took < 10, f"exit {code} after {took:.1f} s"
    assert runner.events("runner.stopped")


async def test_a_second_sigterm_ends_the_process_at_once(world: World, dsn: str, tmp_path: Path) -> None:
    runner = RunnerProcess(world, dsn, config_with(tmp_path, world, NAMES))
    await runner.start()
    await runner.wait_for("bot.identified", count=len(NAMES))
    runner.signal(signal.SIGTERM)
    await runner.wait_for("runner.stopping")
    runner.signal(signal.SIGTERM)
    code = await runner.finish(timeout=5)
    print(f"exit {code}")
    assert code in (0, 128 + signal.SIGTERM)  # 0 only if the clean stop won the race
    if code:
        assert runner.events("runner.stopped_at_once")
