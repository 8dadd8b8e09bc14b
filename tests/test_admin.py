"""Admin commands in a chat, end to end: the runner against the emulator."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiogram.filters import CommandObject
from aiogram.types import Message

from piyasa_bot.handlers.admin import OUR_COMMANDS
from piyasa_bot.handlers.admin_actions import NO_CONVERSATION, PACE_USAGE
from piyasa_bot.roster_loader import parse_roster
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import SentMessage
from tests.helpers import World, make_runner, make_world

pytestmark = pytest.mark.slow

ADMIN = 42
SOMEONE = 7


def with_admins(world: World, admins: list[int], *, all_day: bool = False) -> World:
    """The world's roster with these chat admins; `all_day`: bots that chatter at any hour (whenever the suite runs)."""
    names = [bot.name for bot in world.emulator.bots()]
    lines = ["chats:", f"  - id: {world.chat_id}", "    title: Test", f"    admins: {admins}", "bots:"]
    for name in names:
        lines += [f"  - name: {name}", f"    token: ${{{name.upper()}_TOKEN}}", f"    chats: [{world.chat_id}]"]
        if all_day:
            lines.append("    persona: {active_hours: ['00:00-24:00']}")
    return dataclasses.replace(world, loaded=parse_roster("\n".join(lines) + "\n", "test.yaml", world.env, None))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = with_admins(await make_world(5), [ADMIN])
    yield world
    await world.emulator.stop()


async def command(runner: Runner, world: World, text: str, user_id: int = ADMIN, **post_args) -> SentMessage:
    """Post a command and return the one answer it gets."""
    before = runner.outbox.counts.sent
    posted = world.emulator.post(world.chat_id, user_id=user_id, text=text, **post_args)
    await runner.outbox.wait_until(lambda: runner.outbox.counts.sent > before, timeout=15)
    [answer] = [s for s in world.emulator.sent(world.chat_id) if s.reply_to_message_id == posted.message_id]
    return answer


async def stored_texts(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["text"] for r in await conn.fetch("SELECT text FROM messages WHERE is_incoming ORDER BY id")]
    finally:
        await conn.close()


async def test_commands_are_recognised_with_or_without_the_bot_username() -> None:
    async def parsed(text: str) -> CommandObject | None:
        chat = {"id": -1001000000001, "type": "supergroup", "title": "Test"}
        message = Message.model_validate({"message_id": 1, "date": 0, "chat": chat, "text": text})
        found = await OUR_COMMANDS(message, bot=None)  # the bot is only asked when mentions are checked
        return found["command"] if found else None

    assert (await parsed("/status")).command == "status" and (await parsed("/STATUS  ")).command.lower() == "status"
    assert (await parsed("/status@bot003_bot")).mention == "bot003_bot"
    assert (await parsed("/pace 60")).args == "60"
    assert (await parsed("/pace@bot001_bot 1,5")).args == "1,5"
    assert await parsed("dolar /status") is None and await parsed("/ status") is None
    assert await parsed("/start") is None  # not one of ours


async def test_status_from_an_admin_is_answered_once_by_the_first_active_bot(world: World, dsn: str) -> None:
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        for text in ("BIST güne nasıl başladı?", "altın yükselir mi", "faiz kararı ne zaman"):
            world.emulator.post(world.chat_id, user_id=SOMEONE, text=text)
        await world.emulator.wait_confirmed(timeout=30)
        answer = await command(runner, world, "/status")
        await runner.outbox.drain_until_idle()
        sent = world.emulator.sent(world.chat_id)
    assert len(sent) == 1, "five bots got the command: one of them answers, once"
    assert answer.bot_name == "bot000"
    assert "Etkin bot: 5/5" in answer.text and "Gönderim kuyruğu: 0" in answer.text
    people = int(re.search(r"Son 1 saatte mesaj: \d+ \(insan (\d+), bot 0\)", answer.text).group(1))
    assert people >= 3
    assert NO_CONVERSATION in answer.text  # this runner only records
    assert (await stored_texts(dsn)).count("/status") == 1


async def test_a_command_naming_a_bot_is_answered_by_that_bot(world: World, dsn: str) -> None:
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        answer = await command(runner, world, "/status@bot003_bot")
    assert answer.bot_name == "bot003" and answer.text.startswith("Durum: Test")


async def test_commands_from_anyone_else_are_stored_and_ignored_silently(world: World, dsn: str) -> None:
    texts = ["/pause", "/pace 500", "/status@bot001_bot dolar ne olur?"]
    async with make_runner(world, dsn, conversation=True, seed=1) as runner:
        await runner.wait_polling()
        for text in texts:
            world.emulator.post(world.chat_id, user_id=SOMEONE, text=text)
        await world.emulator.wait_confirmed(timeout=30)
        await runner.rooms.settle_answers()
        await runner.outbox.drain_until_idle()
        director = runner.rooms.directors[world.chat_id]
        paused, scale, addressed = director.paused, director.scale, runner.rooms.counts.addressed
    assert world.emulator.sent(world.chat_id) == []
    assert not paused and scale == 1.0
    assert addressed == 0, "a command naming a bot is not a question to that bot"
    assert await stored_texts(dsn) == texts


async def test_pause_pace_and_resume_steer_the_chat_director(world: World, dsn: str) -> None:
    async with make_runner(world, dsn, conversation=True, seed=2) as runner:
        await runner.wait_polling()
        director = runner.rooms.directors[world.chat_id]
        # Each command names another bot: every bot may answer about once a second in a chat.
        paused = await command(runner, world, "/pause@bot000_bot")
        assert director.paused and "duraklatıldı" in paused.text
        assert (await command(runner, world, "/pace@bot001_bot çok")).text == PACE_USAGE
        assert (await command(runner, world, "/pace@bot002_bot 5000")).text == PACE_USAGE
        assert director.scale == 1.0
        faster = await command(runner, world, "/pace@bot003_bot 60")
        assert director.scale == 2.0  # bots.yaml's pace is 30 an hour
        assert faster.text.startswith("Tempo: saatte 60 mesaj.") and "/resume" in faster.text
        await command(runner, world, "/pace@bot004_bot 0")
        assert director.scale == 0.0
        resumed = await command(runner, world, "/resume@bot000_bot")
        assert not director.paused and resumed.text == "Sohbet devam ediyor."
        status = await command(runner, world, "/status@bot001_bot")
        stored = await runner.pool.fetchrow("SELECT paused, pace, updated_by FROM chat_steering")
    assert "Sohbet: susturuldu (tempo 0)." in status.text
    assert "Kalıcı ayar: tempo 0 (bots.yaml: 30); son değiştiren telegram:42" in status.text
    assert tuple(stored) == (False, 0.0, f"telegram:{ADMIN}"), "the console's steering and the commands' are one"


async def test_a_pause_lasts_across_a_restart_until_resume(world: World, dsn: str) -> None:
    world = with_admins(world, [ADMIN], all_day=True)
    async with make_runner(world, dsn, conversation=True, seed=3, pace_scale=0.0) as runner:
        await runner.wait_polling()
        assert "duraklatıldı" in (await command(runner, world, "/pause")).text
    # Restarted at 200 times bots.yaml's pace (a turn every ~0.6 s): only the stored pause keeps it quiet.
    async with make_runner(world, dsn, conversation=True, seed=4, pace_scale=200) as again:
        await again.wait_polling()
        assert again.rooms.directors[world.chat_id].paused
        status = await command(again, world, "/status@bot001_bot")
        assert "Sohbet: duraklatıldı (/resume ile devam)." in status.text
        resumed_at = await again.pool.fetchval("SELECT clock_timestamp()")
        await command(again, world, "/resume@bot002_bot")
        answers = len(world.emulator.sent(world.chat_id))
        await again.outbox.wait_until(lambda: len(world.emulator.sent(world.chat_id)) > answers, timeout=30)
        chatter = await again.pool.fetch("SELECT created_at FROM outbox WHERE priority = 1 ORDER BY id")
    assert chatter, "after /resume the chat talks again"
    assert all(row["created_at"] > resumed_at for row in chatter), "no chatter while paused, across the restart"


async def test_a_bot_the_operator_disabled_does_not_answer_commands(world: World, dsn: str) -> None:
    async with make_runner(world, dsn) as runner:  # the conversation is off: bots can still be disabled
        await runner.wait_polling()
        await runner.deps.steering.disable_bot("bot000", by="deniz")
        answer = await command(runner, world, "/status@bot000_bot")
    assert answer.bot_name == "bot001", "the first bot that may speak answers instead"
    assert "Etkin bot: 4/5" in answer.text and "Kapatılmış bot (operatör): bot000" in answer.text


async def test_a_command_in_a_forum_topic_is_answered_in_that_topic(world: World, dsn: str) -> None:
    names = [bot.name for bot in world.emulator.bots()]
    world.emulator.add_chat(world.chat_id, "Test", members=names, forum=True)
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        answer = await command(runner, world, "/status", thread_id=7)
    assert answer.thread_id == 7
