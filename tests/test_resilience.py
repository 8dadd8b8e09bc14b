"""Crashes and outages: nothing lost, nothing stored twice."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.sandbox import PostedMessage
from tests.helpers import RunnerProcess, World, incoming_rows, make_runner, make_world, roster_yaml

pytestmark = pytest.mark.slow


async def started(runner: RunnerProcess, bots: int) -> RunnerProcess:
    await runner.start()
    await runner.wait_for("bot.identified", count=bots)
    return runner


@pytest.fixture
async def world20(tmp_path: Path) -> AsyncIterator[tuple[World, Path]]:
    world = await make_world(20)
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml([f"bot{i:03d}" for i in range(20)], world.chat_id))
    yield world, config
    await world.emulator.stop()


async def test_sigkill_mid_burst_then_restart_loses_and_doubles_nothing(world20, dsn: str) -> None:
    world, config = world20
    first = await started(RunnerProcess(world, dsn, config), bots=20)
    posted = []
    for i in range(400):
        posted.append(world.emulator.post(world.chat_id, user_id=300 + i % 5, text=f"XU100 {i}"))
        if i == 200:
            first.process.kill()  # SIGKILL: no cleanup at all
        await asyncio.sleep(0)  # let the runner work while the burst goes on
    await first.process.wait()
    second = await started(RunnerProcess(world, dsn, config), bots=20)
    await world.emulator.wait_confirmed(timeout=30)
    second.signal(signal.SIGTERM)
    code = await second.finish()
    rows = await incoming_rows(dsn)
    assert code == 0
    assert sorted(r["telegram_message_id"] for r in rows) == sorted(p.message_id for p in posted)


async def test_sigterm_mid_burst_exits_zero_and_loses_nothing(world20, dsn: str) -> None:
    world, config = world20
    runner = await started(RunnerProcess(world, dsn, config), bots=20)
    delivered = world.emulator.stats()["updates_delivered"]
    posted = [world.emulator.post(world.chat_id, user_id=8, text=f"altın {i}") for i in range(100)]
    # The signal comes once the runner holds the burst: some of it stored, some perhaps not yet.
    await until(lambda: world.emulator.stats()["updates_delivered"] > delivered)
    runner.signal(signal.SIGTERM)
    code = await runner.finish()
    lines = runner.lines
    stored = [r["telegram_message_id"] for r in await incoming_rows(dsn)]
    confirmed = confirmed_ids(world, posted)
    assert code == 0
    assert any(line["event"] == "runner.stopped" for line in lines)
    assert all(token not in json.dumps(lines) for token in world.env.values())
    # Nothing confirmed to the Bot API is missing from the table (Telegram would not send it
    # again), and nothing is stored twice.
    assert confirmed <= set(stored)
    assert len(stored) == len(set(stored))
    # What was not confirmed comes again: the next start stores the rest, each message once.
    async with make_runner(world, dsn) as again:
        await again.wait_polling()
        await world.emulator.wait_confirmed(timeout=30)
    rows = await incoming_rows(dsn)
    assert sorted(r["telegram_message_id"] for r in rows) == sorted(p.message_id for p in posted)


def confirmed_ids(world: World, posted: list[PostedMessage]) -> set[int]:
    """The posts some bot confirmed: a bot's queue keeps what it has not confirmed yet, oldest first."""
    confirmed: set[int] = set()
    for bot in world.emulator.bots():
        received = [p.message_id for p in posted if bot.name in p.recipients]
        confirmed.update(received[: len(received) - world.emulator.pending(bot.name)])
    return confirmed


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    # The emulator keeps counters, not events, for what it has handed out.
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_postgres_outage_mid_run_loses_nothing(spare_postgres: EmbeddedPostgres) -> None:
    server = spare_postgres
    dsn = server.dsn()
    world = await make_world(10)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            posted = [world.emulator.post(world.chat_id, user_id=5, text=f"önce {i}") for i in range(30)]
            await world.emulator.wait_confirmed(timeout=30)
            server.stop()
            posted += [world.emulator.post(world.chat_id, user_id=5, text=f"kesinti {i}") for i in range(50)]
            with pytest.raises(TimeoutError):
                # Nothing written, so nothing may be confirmed while the database is down.
                await world.emulator.wait_confirmed(timeout=3)
            server.start()
            await world.emulator.wait_confirmed(timeout=30)
            failures = runner.writer.write_failures
    finally:
        await world.emulator.stop()
    assert failures > 0
    rows = await incoming_rows(dsn)
    assert sorted(r["telegram_message_id"] for r in rows) == sorted(p.message_id for p in posted)
