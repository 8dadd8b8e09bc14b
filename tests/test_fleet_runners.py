"""Two runners on one database: the roster split between them, the database as their bus.

In one process here (each runner with its own pool, listener and HTTP
session, as two processes would have); tests/test_fleet.py runs real
processes and kills them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import asyncpg
import pytest

from piyasa_bot.fleet.timing import FleetTiming
from piyasa_bot.runner import Runner
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import World, make_runner, make_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

BOTS = 6
# Privacy on, as most groups are: a message mentioning a bot reaches that bot alone, so the
# runner that stores it is often not the one directing the chat.
PRIVACY = True


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async def reached() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), timeout)


async def owners(dsn: str) -> dict[str, str | None]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT kind || ':' || key AS k, owner FROM leases WHERE expires_at > now()")
    finally:
        await conn.close()
    return {row["k"]: row["owner"] for row in rows}


def fleet_runner(world: World, dsn: str, seed: int) -> Runner:
    # Chatter paced down: the answers are what is asserted; poll timeouts short so stops are quick.
    return make_runner(world, dsn, conversation=True, seed=seed, pace_scale=0.01, poll_timeout=2)


async def test_two_runners_split_the_bots_and_every_person_is_answered_once_by_the_bot_asked(dsn: str) -> None:
    world = await make_world(BOTS, privacy=PRIVACY)
    emu = world.emulator
    names = [f"bot{i:03d}" for i in range(BOTS)]
    addressed: dict[int, str] = {}

    def ask(round_: int) -> None:
        for i, bot in enumerate(names):
            posted = emu.post(world.chat_id, user_id=500 + i, text=f"@{bot}_bot dolar ne olur {round_}?")
            addressed[posted.message_id] = bot

    def answered() -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for sent in emu.sent(world.chat_id):
            if sent.reply_to_message_id in addressed:
                found.setdefault(sent.reply_to_message_id, []).append(sent.bot_name)
        return found

    try:
        async with fleet_runner(world, dsn, 1) as first, fleet_runner(world, dsn, 2) as second:
            # The second joined after the first took everything: within a heartbeat or two it has a share.
            await until(lambda: bool(second.pollers) and len(first.pollers) + len(second.pollers) == BOTS)
            assert not set(first.pollers) & set(second.pollers)
            held = await owners(dsn)
            assert {held[f"bot:{name}"] for name in second.pollers} == {second.me.id}
            chat_owner = held[f"chat:{world.chat_id}"]
            director, other = (first, second) if chat_owner == first.me.id else (second, first)
            assert director.rooms is not None and other.rooms is not None
            assert list(director.rooms.directors) == [world.chat_id] and not other.rooms.directors

            ask(1)  # each bot is asked once; half of them are polled by the runner not directing the chat
            await until(lambda: set(answered()) == set(addressed))

            # The runner directing the chat stops: the other takes the chat and its bots at once.
            await director.stop()
            await until(lambda: len(other.pollers) == BOTS and bool(other.rooms and other.rooms.directors), 10)
            ask(2)
            await until(lambda: set(answered()) == set(addressed))
            await other.outbox.drain_until_idle(timeout=15)
            stored = await other.pool.fetchval("SELECT count(*) FROM messages WHERE is_incoming")
            distinct = await other.pool.fetchval(
                "SELECT count(DISTINCT telegram_message_id) FROM messages WHERE is_incoming"
            )
    finally:
        await emu.stop()
    by_message = answered()
    assert {message: bots[0] for message, bots in by_message.items()} == addressed  # the bot asked, answered
    assert all(len(bots) == 1 for bots in by_message.values())  # once
    assert stored == distinct == len(addressed)  # every message stored, none twice
    assert not any(emu.violations.values())  # within Telegram's limits, per bot and roster-wide


async def test_a_409_gives_the_bot_up_for_a_while_then_it_is_taken_back(dsn: str) -> None:
    """Another process polls one of the tokens: that poller won; the runner lets the bot go, then tries again."""
    world = await make_world(2)
    token = world.env["BOT001_TOKEN"]
    timing = FleetTiming(heartbeat=0.5, ttl=3.0, fence_after=1.8, conflict_pause=2.0)
    stolen = asyncio.Event()

    async def outsider(http: aiohttp.ClientSession) -> None:
        while not stolen.is_set():  # polls as fast as it is answered, so the runner's polls meet 409s
            async with http.get(f"{world.base_url}/bot{token}/getUpdates", params={"timeout": "1"}) as answer:
                await answer.read()

    try:
        async with make_runner(world, dsn, poll_timeout=2, fleet_timing=timing) as runner:
            await runner.wait_polling()
            async with aiohttp.ClientSession() as http:
                polling = asyncio.create_task(outsider(http))
                await until(lambda: "bot001" not in runner.pollers, 20)
                given_up = await owners(dsn)
                stolen.set()
                await polling
            assert "bot000" in runner.pollers  # the other bot was never touched
            await until(lambda: "bot001" in runner.pollers, 20)  # after the pause, claimed and polled again
            taken_back = await owners(dsn)
    finally:
        await world.emulator.stop()
    assert "bot:bot001" not in given_up and given_up["bot:bot000"] == runner.me.id
    assert taken_back["bot:bot001"] == runner.me.id


async def test_steering_saved_on_one_runner_reaches_the_runner_that_directs_the_chat_and_sends_for_the_bot(
    dsn: str,
) -> None:
    """The operator's console (or an admin command) may be on any runner: a pause saved on the runner that
    does not direct the chat pauses its director, and a bot disabled there stops speaking where it is sent
    for."""
    world = await make_world(BOTS, privacy=PRIVACY)
    try:
        async with fleet_runner(world, dsn, 1) as first, fleet_runner(world, dsn, 2) as second:
            await until(lambda: bool(second.pollers) and len(first.pollers) + len(second.pollers) == BOTS)
            await until(
                lambda: bool(first.rooms and first.rooms.directors) or bool(second.rooms and second.rooms.directors)
            )
            director, other = (first, second) if first.rooms and first.rooms.directors else (second, first)
            assert director.rooms is not None
            directed = director.rooms.directors[world.chat_id]

            await other.deps.steering.pause(world.chat_id, by="test")
            await until(lambda: directed.paused, 10)
            await other.deps.steering.resume(world.chat_id, by="test")
            await until(lambda: not directed.paused, 10)

            # A bot the other runner polls, disabled on this one: its outbox there silences it.
            bot = next(iter(other.pollers))
            await director.deps.steering.disable_bot(bot, by="test")
            await until(lambda: other.deps.steering.is_disabled(bot), 10)
            queued = await other.outbox.put(
                Outgoing(bot=bot, chat_id=world.chat_id, text="Altın yatay.", priority=Priority.CHATTER)
            )
            await other.outbox.drain_until_idle(timeout=10)
            ended = await other.pool.fetchrow("SELECT status, reason FROM outbox WHERE id = $1", queued)
            assert ended["status"] == "expired", dict(ended)
            assert not [sent for sent in world.emulator.sent(world.chat_id, bot) if sent.text == "Altın yatay."]
    finally:
        await world.emulator.stop()
