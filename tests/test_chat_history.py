"""A restart remembers its chats: the last lines come back as context, and a thread goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from piyasa_bot.conversation.symbols import find_symbols
from tests.helpers import World, make_runner, make_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = await make_world(2)
    try:
        yield made
    finally:
        await made.emulator.stop()


async def test_after_a_restart_the_chat_goes_on_from_its_last_lines(dsn: str, world: World) -> None:
    emu = world.emulator
    async with make_runner(world, dsn, conversation=True, seed=1) as runner:
        await runner.wait_polling()
        asked = emu.post(world.chat_id, user_id=801, first_name="Selin", text="@bot000_bot BTC'de durum ne?")
        await runner.outbox.wait_until(lambda: any(s.reply_to_message_id == asked.message_id for s in emu.sent()), 30)
    answer = next(s for s in emu.sent() if s.reply_to_message_id == asked.message_id)

    async with make_runner(world, dsn, conversation=True, seed=2) as again:
        await again.wait_polling()
        assert again.rooms is not None
        director = again.rooms.director_of(world.chat_id)
        assert director is not None
        await asyncio.wait_for(again.rooms.caught_up(), 10)
        remembered = {line.message_id: line for line in director.recent}
        assert remembered[asked.message_id].user_id == 801 and remembered[asked.message_id].author_bot is None
        assert remembered[answer.message_id].author_bot == "bot000"
        assert remembered[answer.message_id].reply_to_message_id == asked.message_id
        # What the bot said before counts as said: no sentence of it comes back.
        source = again.services.source
        assert source is not None and source.composer.said.said_message("bot000", answer.text)  # type: ignore[attr-defined]
        # The person replies to the answer from before the restart: the same bot, on the same subject.
        follow = emu.post(
            world.chat_id, user_id=801, text="Neden öyle düşünüyorsun?", reply_to_message_id=answer.message_id
        )
        await again.outbox.wait_until(lambda: any(s.reply_to_message_id == follow.message_id for s in emu.sent()), 30)
    reply = next(s for s in emu.sent() if s.reply_to_message_id == follow.message_id)
    assert reply.bot_name == "bot000"
    assert "BTC" in find_symbols(reply.text), reply.text
