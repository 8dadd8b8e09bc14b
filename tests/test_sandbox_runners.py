"""The emulator tells which fleet runner made each Bot API request, so a test can prove one poller per token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

from piyasa_bot.sandbox import Emulator, SandboxBot
from piyasa_bot.telegram import make_bot, shared_session

CHAT = -1001234567890
RUNNER_A = "host-a:101:aaaa"
RUNNER_B = "host-b:202:bbbb"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(seed=1)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def bots(emu: Emulator) -> dict[str, SandboxBot]:
    roster = {name: emu.add_bot(name, f"{name}_piyasa_bot", privacy=False) for name in ("ayse", "mert")}
    emu.add_chat(CHAT, "Piyasa", "supergroup", members=list(roster))
    return roster


@pytest.fixture
async def sessions(emu: Emulator, bots: dict[str, SandboxBot]) -> AsyncIterator[dict[str | None, Bot]]:
    """One aiogram session per runner (and one that names none), each with a Bot for ayse's token."""
    assert emu.base_url is not None
    made = {runner: shared_session(emu.base_url, 2, runner=runner) for runner in (RUNNER_A, RUNNER_B, None)}
    yield {runner: make_bot(bots["ayse"].token, session) for runner, session in made.items()}
    for session in made.values():
        await session.close()


async def test_each_poll_names_the_runner_whose_session_made_it(emu, bots, sessions) -> None:
    since = time.time()
    async with asyncio.timeout(10):
        await sessions[RUNNER_A].get_updates(timeout=0)
        mert = make_bot(bots["mert"].token, sessions[RUNNER_B].session)
        await mert.get_updates(timeout=0)
        await sessions[None].get_me()
    assert emu.pollers(since) == {"ayse": {RUNNER_A}, "mert": {RUNNER_B}}
    runners = {(r.bot_name, r.method): r.runner for r in emu.requests}
    assert runners == {("ayse", "getUpdates"): RUNNER_A, ("mert", "getUpdates"): RUNNER_B, ("ayse", "getMe"): None}
    assert all(r.arrived_at is not None and since <= r.arrived_at <= r.at for r in emu.requests)


async def test_a_poll_from_a_second_runner_ends_the_first_with_a_conflict_counted_for_the_bot(
    emu, bots, sessions
) -> None:
    since = time.time()
    async with asyncio.timeout(10):
        older = asyncio.create_task(sessions[RUNNER_A].get_updates(timeout=10))
        await emu.wait_polling("ayse")
        taken_over = time.time()
        newer = asyncio.create_task(sessions[RUNNER_B].get_updates(timeout=10))
        with pytest.raises(TelegramConflictError):
            await older
        await emu.wait_polling("ayse")
        emu.post(CHAT, 501, "@ayse_piyasa_bot hâlâ orada mısın?")
        assert len(await newer) == 1
    assert emu.conflicts == {"ayse": 1}
    assert emu.stats()["conflicts"] == {"ayse": 1}
    assert emu.pollers(since) == {"ayse": {RUNNER_A, RUNNER_B}}
    # From the takeover on, only the second runner polls ayse (the first one's poll came in before).
    assert emu.pollers(taken_over) == {"ayse": {RUNNER_B}}
    assert emu.pollers(since, until=taken_over) == {"ayse": {RUNNER_A}}


async def test_control_api_lists_polls_with_their_runner_and_conflicts(emu, bots, sessions) -> None:
    since = time.time()
    async with asyncio.timeout(10), aiohttp.ClientSession() as http:
        await sessions[RUNNER_A].get_updates(timeout=0)
        await sessions[None].get_updates(timeout=0)
        async with http.get(f"{emu.base_url}/control/polls", params={"since": str(since)}) as response:
            listing = await response.json()
    assert [(p["bot"], p["runner"], p["status"]) for p in listing["polls"]] == [
        ("ayse", RUNNER_A, 200),
        ("ayse", None, 200),
    ]
    assert listing["conflicts"] == {}
    # A poll that names no runner adds none.
    assert emu.pollers(since) == {"ayse": {RUNNER_A}}


async def test_a_long_poll_waits_no_longer_than_the_emulators_longest_poll() -> None:
    emulator = Emulator(seed=1, longest_poll=0.2)
    bot = emulator.add_bot("ayse")
    base_url = await emulator.start()
    session = shared_session(base_url, 1, runner=RUNNER_A)
    try:
        started = time.monotonic()
        async with asyncio.timeout(5):
            assert await make_bot(bot.token, session).get_updates(timeout=30) == []
        assert 0.15 < time.monotonic() - started < 2
    finally:
        await session.close()
        await emulator.stop()


async def test_cut_offs_tell_a_runner_that_asks_again_from_two_runners_polling_at_once(emu, bots, sessions) -> None:
    since = time.time()
    async with asyncio.timeout(10):
        for first, second in ((RUNNER_A, RUNNER_A), (RUNNER_A, RUNNER_B)):
            older = asyncio.create_task(sessions[first].get_updates(timeout=10))
            await emu.wait_polling("ayse")
            newer = asyncio.create_task(sessions[second].get_updates(timeout=0))
            with pytest.raises(TelegramConflictError):
                await older
            assert await newer == []
    cut_offs = emu.journal.cut_offs(since)
    assert [(c.bot_name, c.runner, c.by) for c in cut_offs] == [
        ("ayse", RUNNER_A, RUNNER_A),
        ("ayse", RUNNER_A, RUNNER_B),
    ]
    assert since < cut_offs[0].at < cut_offs[1].at
