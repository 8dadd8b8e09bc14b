"""The spine end to end: the runner against the emulator over aiogram's real HTTP stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.polling import BotState
from piyasa_bot.roster_loader import parse_roster
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import FaultPlan
from tests.helpers import (
    SUPERGROUP,
    World,
    incoming_rows,
    make_runner,
    make_world,
    roster_yaml,
    send_as,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def world50() -> AsyncIterator[World]:
    world = await make_world(50)
    yield world
    await world.emulator.stop()


async def test_fifty_bots_store_each_message_of_a_burst_exactly_once(world50: World, dsn: str) -> None:
    async with make_runner(world50, dsn) as runner:
        await runner.wait_polling()
        posted = [
            world50.emulator.post(world50.chat_id, user_id=500 + i % 7, text=f"BIST {i}. mesaj") for i in range(300)
        ]
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
        sent = await send_as(
            runner, "bot003", world50.chat_id, "Bence 40 civarı dengelenir.", reply_to=question.message_id
        )
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT m.*, b.name FROM messages m JOIN bots b ON b.id = m.bot_id WHERE NOT is_incoming"
        )
    finally:
        await conn.close()
    assert row["name"] == "bot003"
    assert row["telegram_message_id"] == sent
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


async def test_a_second_poller_on_one_token_makes_the_runner_give_that_bot_up_and_the_rest_run_on(dsn: str) -> None:
    world = await make_world(3)
    token = world.env["BOT001_TOKEN"]
    try:
        async with make_runner(world, dsn) as runner, aiohttp.ClientSession() as intruder:
            await runner.wait_polling()
            # Another process polls bot001's token: the emulator ends one of the two polls with 409.
            conflicts = 0
            # The runner gives the bot up (its lease released for a while): the other poller won.
            while "bot001" in runner.pollers:
                async with intruder.post(f"{world.base_url}/bot{token}/getUpdates", json={"timeout": 1}) as answer:
                    conflicts += answer.status == 409
            posted = [world.emulator.post(world.chat_id, user_id=3, text=f"çakışma {i}") for i in range(20)]
            await asyncio.wait_for(_confirmed_by(world, ["bot000", "bot002"]), 10)
            states = {name: poller.state for name, poller in runner.pollers.items()}
    finally:
        await world.emulator.stop()
    assert "bot001" not in states
    assert states["bot000"] is states["bot002"] is BotState.RUNNING
    assert sorted(r["telegram_message_id"] for r in await incoming_rows(dsn)) == [p.message_id for p in posted]


async def _confirmed_by(world: World, names: list[str]) -> None:
    while any(world.emulator.pending(name) for name in names):
        await asyncio.sleep(0.02)


async def test_mentions_waiting_at_start_are_answered_by_the_bot_they_name(dsn: str) -> None:
    # For a second and a half the Bot API fails often: bots are identified one after another
    # (each retrying its getMe), and the first to poll gets every bot's mention while some of
    # those bots are still unknown.
    world = await make_world(6, faults=FaultPlan(rate_5xx=0.5), seed=11)
    names = [f"bot{i:03d}" for i in range(6)]
    try:
        mentions = {
            name: world.emulator.post(world.chat_id, user_id=42, text=f"@{name}_bot dolar ne olur?").message_id
            for name in names
        }
        asyncio.get_running_loop().call_later(1.5, setattr, world.emulator.faults, "rate_5xx", 0.0)
        async with make_runner(world, dsn, conversation=True, seed=3, pace_scale=0.0) as runner:
            await runner.wait_polling()
            await world.emulator.wait_confirmed(timeout=30)

            def answered() -> dict[int, str]:
                return {s.reply_to_message_id: s.bot_name for s in world.emulator.sent(world.chat_id)}

            await runner.outbox.wait_until(lambda: set(mentions.values()) <= set(answered()), timeout=30)
    finally:
        await world.emulator.stop()
    assert {name: answered()[message_id] for name, message_id in mentions.items()} == {n: n for n in names}


class OneBadBatchApi:
    """A Bot API whose first getUpdates answer lacks update_id (no exception the poller expects)."""

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.polls = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if method == "getme":
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "id": 77,
                        "is_bot": True,
                        "first_name": "Tek",
                        "username": "tek_bot",
                        "can_read_all_group_messages": True,
                    },
                }
            )
        if method != "getupdates":
            return web.json_response({"ok": True, "result": True})
        self.polls += 1
        message = {
            "message_id": self.polls,
            "date": 1700000000,
            "text": f"mesaj {self.polls}",
            "chat": {"id": self.chat_id, "type": "supergroup", "title": "Test"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ayşe"},
        }
        if self.polls == 1:
            return web.json_response({"ok": True, "result": [{"message": message}]})
        if self.polls == 2:
            return web.json_response({"ok": True, "result": [{"update_id": 5, "message": message}]})
        await asyncio.sleep(0.5)  # a long poll with nothing new
        return web.json_response({"ok": True, "result": []})


async def test_a_poll_loop_that_ends_unexpectedly_is_noticed_and_polling_goes_on(dsn: str) -> None:
    api = OneBadBatchApi(SUPERGROUP)
    server = TestServer(api.app(), host="127.0.0.1", port=0)
    await server.start_server()
    token = "123456:" + "A" * 35
    loaded = parse_roster(roster_yaml(["tek"], SUPERGROUP), "test.yaml", {"TEK_TOKEN": token}, None)
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    try:
        async with Runner(
            loaded, dsn=dsn, api_base=str(server.make_url("")), cipher=cipher, poll_timeout=1, conversation=False
        ) as runner:
            await runner.wait_polling()
            while api.polls < 3:
                await asyncio.sleep(0.05)
            poller = runner.pollers["tek"]
            noticed = runner.poll_restarts["tek"] + sum(poller.errors.values())
            state = poller.state
    finally:
        await server.close()
    # Both messages were delivered, so both are stored (the first from its raw dict), once each.
    assert [r["text"] for r in await incoming_rows(dsn)] == ["mesaj 1", "mesaj 2"]
    assert noticed >= 1 and state is BotState.RUNNING
