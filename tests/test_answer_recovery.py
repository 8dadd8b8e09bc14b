"""Or never: a run that stops while answers are composed leaves them owed, and the next start answers them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.crypto import generate_key
from tests.helpers import make_runner, make_world, roster_yaml, send_as

pytestmark = pytest.mark.slow


async def answer_rows(dsn: str) -> dict[int, str]:
    """Person's message id -> the bot whose outbox row answers it."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT o.answers_message_id, b.name FROM outbox o JOIN bots b ON b.id = o.bot_id
               WHERE o.answers_message_id IS NOT NULL"""
        )
    finally:
        await conn.close()
    return {row["answers_message_id"]: row["name"] for row in rows}


async def test_stored_addressed_unanswered_messages_are_answered_at_the_next_start(dsn: str) -> None:
    world = await make_world(3)
    emu, chat = world.emulator, world.chat_id
    try:
        # A run that stored everything and answered nothing (it stopped while composing).
        async with make_runner(world, dsn) as first:
            await first.wait_polling()
            said = await send_as(first, "bot001", chat, "selam millet, piyasa sakin")
            mention = emu.post(chat, user_id=501, text="@bot000_bot dolar ne olur?")
            reply = emu.post(chat, user_id=502, text="sence düşer mi?", reply_to_message_id=said)
            plain = emu.post(chat, user_id=503, text="bugün hava güzel")
            stale = emu.post(chat, user_id=504, text="@bot002_bot altın?")
            answered = emu.post(chat, user_id=505, text="@bot000_bot eski soru")
            command = emu.post(chat, user_id=506, text="/status @bot002_bot")
            await emu.wait_confirmed(timeout=20)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "UPDATE messages SET created_at = now() - interval '11 minutes' WHERE telegram_message_id = $1",
                stale.message_id,
            )  # past the answer's expiry (ten minutes)
            await conn.execute(
                """INSERT INTO outbox (bot_id, chat_id, text, priority, answers_message_id, status)
                   SELECT id, $1, 'cevap verildi', 0, $2, 'sent' FROM bots WHERE name = 'bot000'""",
                chat,
                answered.message_id,
            )
        finally:
            await conn.close()
        sent_before = len(emu.sent())
        async with make_runner(world, dsn, conversation=True, seed=5) as second:
            owed = {mention.message_id, reply.message_id}
            await second.outbox.wait_until(lambda: owed <= {s.reply_to_message_id for s in emu.sent()}, timeout=30)
            await second.drain()
            recovered = second.rooms.counts.recovered
    finally:
        await emu.stop()
    replies = Counter((s.bot_name, s.reply_to_message_id) for s in emu.sent()[sent_before:])
    assert replies[("bot000", mention.message_id)] == 1
    assert replies[("bot001", reply.message_id)] == 1
    assert recovered == 2
    assert await answer_rows(dsn) == {
        mention.message_id: "bot000",
        reply.message_id: "bot001",
        answered.message_id: "bot000",  # answered before: not again
    }  # nothing for the plain message, the stale one or the command
    assert {plain.message_id, stale.message_id, command.message_id}.isdisjoint(await answer_rows(dsn))


# --------------------------------------------------------------------------- SIGKILL while composing


class SlowModel:
    """An OpenAI-compatible endpoint that takes `delay` s to answer; it knows what it is composing."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.composing: list[str] = []  # the prompts of the calls in flight
        self.calls = 0
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.Response:
        prompt = json.dumps(await request.json(), ensure_ascii=False)
        self.calls += 1
        n = self.calls
        self.composing.append(prompt)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.composing.remove(prompt)
        text = f"Bence {n}. soruda da temkinli olmak lazım, seviyeler netleşmeden acele etmem."
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})

    def composing_for(self, tag: str) -> bool:
        return any(tag in prompt for prompt in self.composing)


@pytest.fixture
async def slow_model() -> AsyncIterator[SlowModel]:
    model = SlowModel(delay=3.0)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", model.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    model.base_url = str(server.make_url("/v1"))
    try:
        yield model
    finally:
        await server.close()


class Process:
    """`python -m piyasa_bot run`, started again after each kill with the same environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, bots: int) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "piyasa_bot",
            "run",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.events = []
        identified = asyncio.Event()
        self._reader = asyncio.create_task(self._read(bots, identified))
        await asyncio.wait_for(identified.wait(), 30)

    async def _read(self, bots: int, identified: asyncio.Event) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:  # read on, so that the pipe never fills
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))
            if sum(e.get("event") == "bot.identified" for e in self.events) >= bots:
                identified.set()

    async def end(self, signum: int) -> int:
        assert self.process is not None and self._reader is not None
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), 20)
        await asyncio.wait_for(self._reader, 5)
        return code


async def test_kills_while_answers_are_composed_leave_no_one_unanswered_or_answered_twice(
    dsn: str, tmp_path: Path, slow_model: SlowModel
) -> None:
    bots, rounds, per_round = 4, 3, 6
    # Privacy mode: only the bot asked gets the mention, so nothing but the stored row can bring it back.
    world = await make_world(bots, privacy=True)
    emu, chat = world.emulator, world.chat_id
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml([f"bot{i:03d}" for i in range(bots)], chat))
    env = {
        **world.env,
        "DATABASE_URL": dsn,
        "PIYASA_CONFIG": str(config),
        "PIYASA_TELEGRAM_API": world.base_url,
        "PIYASA_SECRET_KEY": generate_key(),
        "PIYASA_DATA_DIR": str(tmp_path / "data"),
        "PIYASA_LLM_BASE_URL": slow_model.base_url,
        "PIYASA_LLM_MODEL": "slow",
    }
    runner = Process({**os.environ, **env})
    rng = random.Random(7)
    asked: dict[int, str] = {}  # person's message id -> the bot asked
    kills = 0
    try:
        for round_ in range(rounds):
            await runner.start(bots)
            tags = []
            for i in range(per_round):
                bot = f"bot{rng.randrange(bots):03d}"
                tag = f"soru {round_}-{i}"
                asked[emu.post(chat, user_id=600 + i, text=f"@{bot}_bot {tag}: dolar ne olur?").message_id] = bot
                tags.append(tag)
            # The worst moment: every mention stored and confirmed, its answer still being composed.
            async with asyncio.timeout(20):
                while not all(slow_model.composing_for(tag) for tag in tags):
                    await asyncio.sleep(0.01)
            await emu.wait_confirmed(timeout=10)
            assert await runner.end(signal.SIGKILL) == -signal.SIGKILL
            kills += 1
        await runner.start(bots)

        def answered() -> set[int]:
            return {s.reply_to_message_id for s in emu.sent()} & set(asked)

        deadline = time.monotonic() + 60
        while answered() != set(asked) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        code = await runner.end(signal.SIGTERM)
    finally:
        await emu.stop()
    replies = Counter(s.reply_to_message_id for s in emu.sent() if s.reply_to_message_id in asked)
    by = {s.reply_to_message_id: s.bot_name for s in emu.sent() if s.reply_to_message_id in asked}
    assert kills == rounds and code == 0
    assert sorted(replies) == sorted(asked), f"never answered: {sorted(set(asked) - set(replies))}"
    assert set(replies.values()) == {1}, f"answered twice: {[m for m, n in replies.items() if n > 1]}"
    assert by == asked  # each by the bot asked
