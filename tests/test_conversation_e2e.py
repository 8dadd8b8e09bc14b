"""The conversation end to end: people who address a bot get that bot's answer, within the limits."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

from piyasa_bot.roster_loader import load_roster
from piyasa_bot.sandbox import Emulator
from tests.helpers import World, make_runner

pytestmark = pytest.mark.slow

REPO_ROSTER = Path(__file__).resolve().parents[1] / "bots.yaml"


async def repo_world() -> World:
    """The bots.yaml the repository ships, each bot given an emulator token."""
    emulator = Emulator(seed=5)
    placeholder = load_roster(REPO_ROSTER, _AnyToken(), None)
    env = {}
    for bot in placeholder.roster.bots:
        env[f"{bot.name.upper()}_TOKEN"] = emulator.add_bot(
            name=bot.name, username=f"{bot.name}_bot", privacy=False
        ).token
    chat = placeholder.roster.chats[0]
    emulator.add_chat(
        chat_id=chat.id,
        title=chat.title,
        type="supergroup",
        members=list(env and [b.name for b in placeholder.roster.bots]),
    )
    base_url = await emulator.start()
    return World(emulator, base_url, load_roster(REPO_ROSTER, env, None), env, chat.id)


class _AnyToken(dict):
    def get(self, name, default=None):
        return f"{1000 + len(name)}{abs(hash(name)) % 10**6}:{'T' * 35}"


async def test_every_person_who_addresses_a_bot_gets_that_bots_answer(dsn: str) -> None:
    world = await repo_world()
    emu, rng = world.emulator, random.Random(2)
    names = [bot.name for bot in world.loaded.roster.bots]
    addressed: dict[int, str] = {}
    try:
        async with make_runner(world, dsn, conversation=True, seed=7) as runner:
            await runner.wait_polling()
            for i in range(12):
                bot = names[i % len(names)]
                posted = emu.post(
                    world.chat_id,
                    user_id=600 + i,
                    first_name="Deniz",
                    text=rng.choice(
                        [
                            f"@{bot}_bot sence BTC nereye gider?",
                            f"@{bot}_bot dolar ne olur?",
                            f"@{bot}_bot altın almalı mı?",
                        ]
                    ),
                )
                addressed[posted.message_id] = bot
            # A person replies to one of a bot's answers: that bot answers again.
            await runner.outbox.wait_until(lambda: any(s.reply_to_message_id in addressed for s in emu.sent()), 30)
            first = next(s for s in emu.sent() if s.reply_to_message_id in addressed)
            follow_up = emu.post(
                world.chat_id, user_id=700, text="Neden öyle düşünüyorsun?", reply_to_message_id=first.message_id
            )
            addressed[follow_up.message_id] = first.bot_name
            await runner.outbox.wait_until(lambda: set(addressed) <= {s.reply_to_message_id for s in emu.sent()}, 60)
            counts = runner.rooms.counts
    finally:
        await emu.stop()
    answers = {s.reply_to_message_id: s.bot_name for s in emu.sent() if s.reply_to_message_id in addressed}
    assert answers == addressed
    assert counts.addressed == counts.answered == len(addressed)
    assert sum(emu.violations.values()) == 0
    conn = await asyncpg.connect(dsn)
    try:
        statuses = await conn.fetch("SELECT status, count(*) FROM outbox WHERE priority = 0 GROUP BY status")
    finally:
        await conn.close()
    assert dict(statuses) == {"sent": len(addressed)}
