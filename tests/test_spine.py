"""The spine end to end: the runner against the emulator over aiogram's real HTTP stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from piyasa_bot.polling import BotState
from piyasa_bot.sandbox import FaultPlan
from tests.helpers import World, incoming_rows, make_runner, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
async def world50() -> AsyncIterator[World]:
    world = await make_world(50)
    yield world
    await world.emulator.stop()


async def test_fifty_bots_store_each_message_of_a_burst_exactly_once(world50: World, dsn: str) -> None:
    async with make_runner(world50, dsn) as runner:
        await runner.wait_polling()
        posted = [world50.emulator.post(world50.chat_id, user_id=500 + i % 7, text=f"BIST {i}. mesaj") for i in range(300)]
        await world50.emulator.wait_confirmed(timeout=30)
        skipped = runner.ingest.recorder.skipped_copies
    rows = await incoming_rows(dsn)
    assert sorted(r["telegram_message_id"] for r in rows) == sorted(p.message_id for p in posted)
    assert {r["text"] for r in rows} == {p.text for p in posted}
    # 50 copies of each message arrived; all but one were skipped before any parsing.
    assert skipped >= 300 * 49 - 300


async def test_basic_group_copies_with_per_bot_ids_lose_nothing_and_double_nothing(dsn: str) -> None:
    world = await make_world(5, chat_type="group")
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            posted = [world.emulator.post(world.chat_id, user_id=700, text="altın?") for _ in range(3)]
            posted += [world.emulator.post(world.chat_id, user_id=701, text=f"dolar {i}") for i in range(20)]
            await world.emulator.wait_confirmed(timeout=20)
    finally:
        await world.emulator.stop()
    copies = posted[0].copies
    assert len(set(copies.values())) > 1, "the emulator must number a basic group's copies per bot"
    rows = await incoming_rows(dsn)
    # Three identical messages from one person in the same second are three messages.
    assert len(rows) == len(posted) == 23
    assert sorted(r["text"] for r in rows) == sorted(p.text for p in posted)


async def test_what_a_bot_sends_is_recorded_from_the_send_result(world50: World, dsn: str) -> None:
    async with make_runner(world50, dsn) as runner:
        await runner.wait_polling()
        question = world50.emulator.post(world50.chat_id, user_id=42, text="@bot003_bot dolar ne olur?")
        await world50.emulator.wait_confirmed(timeout=30)
        sent = await runner.send("bot003", world50.chat_id, "Bence 40 civarı dengelenir.", reply_to=question.message_id)
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT m.*, b.name FROM messages m JOIN bots b ON b.id = m.bot_id WHERE NOT is_incoming")
    finally:
        await conn.close()
    assert row["name"] == "bot003"
    assert row["telegram_message_id"] == sent.message_id
    assert row["reply_to_message_id"] == question.message_id
    assert row["text"] == "Bence 40 civarı dengelenir."


async def test_a_revoked_token_disables_that_bot_alone(dsn: str) -> None:
    world = await make_world(4)
    world.emulator.revoke("bot002")
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            posted = [world.emulator.post(world.chat_id, user_id=9, text=f"kripto {i}") for i in range(10)]
            await asyncio.wait_for(_confirmed_by(world, ["bot000", "bot001", "bot003"]), 10)
            states = {name: poller.state for name, poller in runner.pollers.items()}
    finally:
        await world.emulator.stop()
    assert states["bot002"] is BotState.DISABLED
    assert {s for n, s in states.items() if n != "bot002"} == {BotState.RUNNING}
    assert len(await incoming_rows(dsn)) == len(posted)
    conn = await asyncpg.connect(dsn)
    try:
        state, error = await conn.fetchrow("SELECT state, last_error FROM bots WHERE name = 'bot002'")
    finally:
        await conn.close()
    assert state == "disabled" and "unauthorized" in error


async def test_server_errors_and_dropped_connections_lose_nothing(dsn: str) -> None:
    world = await make_world(10, faults=FaultPlan(rate_5xx=0.2, drop_rate=0.1), seed=3)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            posted = [world.emulator.post(world.chat_id, user_id=77, text=f"faiz {i}") for i in range(100)]
            await world.emulator.wait_confirmed(timeout=60)
            errors = sum(sum(p.errors.values()) for p in runner.pollers.values())
    finally:
        await world.emulator.stop()
    assert errors > 0, "the fault plan should have hit some polls"
    rows = await incoming_rows(dsn)
    assert sorted(r["telegram_message_id"] for r in rows) == sorted(p.message_id for p in posted)


async def test_a_second_poller_on_one_token_backs_that_bot_off_and_the_rest_run_on(dsn: str) -> None:
    world = await make_world(3)
    token = world.env["BOT001_TOKEN"]
    try:
        async with make_runner(world, dsn) as runner, aiohttp.ClientSession() as intruder:
            await runner.wait_polling()
            # Another process polls bot001's token: the emulator ends one of the two polls with 409.
            conflicts = 0
            while runner.pollers["bot001"].state is not BotState.CONFLICT:
                async with intruder.post(f"{world.base_url}/bot{token}/getUpdates", json={"timeout": 1}) as answer:
                    conflicts += answer.status == 409
            posted = [world.emulator.post(world.chat_id, user_id=3, text=f"çakışma {i}") for i in range(20)]
            await asyncio.wait_for(_confirmed_by(world, ["bot000", "bot002"]), 10)
            states = {name: poller.state for name, poller in runner.pollers.items()}
    finally:
        await world.emulator.stop()
    assert states["bot001"] is BotState.CONFLICT
    assert states["bot000"] is states["bot002"] is BotState.RUNNING
    assert sorted(r["telegram_message_id"] for r in await incoming_rows(dsn)) == [p.message_id for p in posted]


async def _confirmed_by(world: World, names: list[str]) -> None:
    while any(world.emulator.pending(name) for name in names):
        await asyncio.sleep(0.02)
