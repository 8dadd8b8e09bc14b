"""Start-up wired as measured: states written in batches, a rejected token checked again on reload, a light migrate."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.polling import BotState
from piyasa_bot.roster_loader import parse_roster
from piyasa_bot.runner import Runner
from tests.helpers import SUPERGROUP, make_runner, make_world, roster_yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


async def test_fifty_bots_states_and_identities_reach_the_bots_table_in_a_few_writes(dsn: str) -> None:
    world = await make_world(50)
    try:
        async with make_runner(world, dsn, poll_timeout=1) as runner:
            await runner.wait_polling()
            await asyncio.wait_for(_every_bot_polled(runner), 10)
            states = runner.services.states
            while True:  # the first polls' states are collected for a moment, then written together
                rows = await runner.pool.fetch("SELECT name, state, telegram_id, username FROM bots ORDER BY name")
                if all(row["state"] == "running" for row in rows):
                    break
                await asyncio.sleep(0.05)
            batches = states.batches_written
    finally:
        await world.emulator.stop()
    expected = {bot.name: (bot.id, bot.username) for bot in world.emulator.bots()}
    assert {row["name"]: (row["telegram_id"], row["username"]) for row in rows} == expected
    assert batches <= 5  # one write per bot and state before: 50 here, 3,000 statements at 1,000 bots


async def _every_bot_polled(runner: Runner) -> None:
    while any(poller.last_polled_at is None for poller in runner.pollers.values()):
        await asyncio.sleep(0.02)


class RejectingApi:
    """A Bot API that rejects some tokens' getMe (a transient 401) until told otherwise."""

    def __init__(self) -> None:
        self.rejecting: set[str] = set()
        self.get_me: dict[str, int] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"].lower()
        bot_id = int(token.split(":")[0])
        if method == "getme":
            self.get_me[token] = self.get_me.get(token, 0) + 1
            if token in self.rejecting:
                return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
            me = {"id": bot_id, "is_bot": True, "first_name": "B", "username": f"b{bot_id}_bot"}
            return web.json_response({"ok": True, "result": {**me, "can_read_all_group_messages": True}})
        if method == "getupdates":
            await asyncio.sleep(0.2)  # a long poll with nothing new
            return web.json_response({"ok": True, "result": []})
        return web.json_response({"ok": True, "result": True})


async def test_a_reload_checks_a_rejected_token_again_and_the_bot_polls_once_it_is_good(dsn: str) -> None:
    api = RejectingApi()
    server = TestServer(api.app(), host="127.0.0.1", port=0)
    await server.start_server()
    tokens = {"AYSE_TOKEN": "123456:" + "A" * 35, "ALI_TOKEN": "234567:" + "B" * 35}
    api.rejecting.add(tokens["ALI_TOKEN"])
    loaded = parse_roster(roster_yaml(["ayse", "ali"], SUPERGROUP), "test.yaml", tokens, None)
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    try:
        async with Runner(
            loaded, dsn=dsn, api_base=str(server.make_url("")), cipher=cipher, poll_timeout=1, conversation=False
        ) as runner:
            await runner.wait_polling()  # returns although ali's token was rejected
            ali = runner.pollers["ali"]
            assert ali.state is BotState.DISABLED and runner.pollers["ayse"].identified.is_set()
            assert runner.services.bots.by_username("b234567_bot") is None
            api.rejecting.clear()  # e.g. the token restored in BotFather, or the 401 was a proxy's
            await runner.apply(loaded)  # as a SIGHUP does, with nothing changed in bots.yaml
            while ali.state is not BotState.RUNNING:
                await asyncio.sleep(0.02)
            known = runner.services.bots.by_username("b234567_bot")
            state = await runner.pool.fetchval("SELECT state FROM bots WHERE name = 'ali'")
            while state != "running":  # written a moment later, with the other states of that moment
                await asyncio.sleep(0.05)
                state = await runner.pool.fetchval("SELECT state FROM bots WHERE name = 'ali'")
    finally:
        await server.close()
    assert known is not None and known.name == "ali"  # mentions of ali are understood again
    assert api.get_me[tokens["ALI_TOKEN"]] == 2  # once at start, once on the reload: not in a loop


def test_migrate_does_not_load_the_runner() -> None:
    check = "import sys, piyasa_bot.commands.run; print(sorted({'aiogram', 'piyasa_bot.runner'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert result.stdout.strip() == "[]"  # aiogram's import alone is most of the 3 s `migrate` took
