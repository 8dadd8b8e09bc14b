"""Typing before a message: shown for chatter and answers, renewed while a long one is "typed", then gone."""

from __future__ import annotations

import asyncio
import itertools
import time
from types import SimpleNamespace
from typing import Any

import pytest

from piyasa_bot.sending.outbox import Outgoing, Priority
from piyasa_bot.sending.typing_action import SHOWN_FOR, Typing
from tests.helpers import make_runner, make_world


def answer(world: Any, text: str, answers: int, delay: float) -> Outgoing:
    """bot000's answer to message `answers`, due `delay` seconds from now."""
    return Outgoing(
        bot="bot000",
        chat_id=world.chat_id,
        text=text,
        priority=Priority.ANSWER,
        answers=answers,
        not_before=time.time() + delay,
    )


def typing_times(world: Any, bot: str) -> list[float]:
    return [
        r.at
        for r in world.emulator.requests
        if r.method == "sendChatAction" and r.bot_name == bot and r.params.get("action") == "typing"
    ]


@pytest.mark.slow
async def test_a_message_typed_for_nine_seconds_shows_typing_throughout_and_none_after_it_is_sent(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            put_at = time.time()
            await runner.outbox.put(answer(world, "THYAO'da 300 direnci önemli, geçerse hız kazanır bence.", 41, 9.0))
            await runner.outbox.drain_until_idle(timeout=20)
            [sent] = world.emulator.sent(world.chat_id, "bot000")
    finally:
        await world.emulator.stop()
    shown = typing_times(world, "bot000")
    assert len(shown) >= 2  # one action fades after 5 s: a 9 s delay needs it renewed
    assert shown[0] - put_at < 1.0  # typing starts as the message is queued
    # No gap in which the person sees nothing, up to the message itself, and no typing after it.
    assert all(later - earlier < SHOWN_FOR for earlier, later in itertools.pairwise([*shown, sent.at]))
    assert sent.at - put_at >= 9.0


@pytest.mark.slow
async def test_chatter_shows_typing_before_it_too(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(
                Outgoing(
                    bot="bot000",
                    chat_id=world.chat_id,
                    text="Altında sakin bir gün, ons yatay.",
                    priority=Priority.CHATTER,
                    not_before=time.time() + 2.0,
                    expires_at=time.time() + 60,
                )
            )
            await runner.outbox.drain_until_idle(timeout=20)
            [sent] = world.emulator.sent(world.chat_id, "bot000")
    finally:
        await world.emulator.stop()
    shown = typing_times(world, "bot000")
    assert shown and all(at < sent.at for at in shown)


@pytest.mark.slow
async def test_a_message_still_waiting_when_sending_resumes_shows_typing_again(dsn: str) -> None:
    """A fence (PostgreSQL out of reach) pauses sending and stops every typing; a message still waiting
    out its delay when sending resumes is typed again, not sent out of a silent chat."""
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(answer(world, "Dolar 34 üstünde kalıcı olur mu, emin değilim.", 43, 6.0))
            await runner.outbox.pause()
            resumed_at = time.time()
            runner.outbox.resume()
            await runner.outbox.drain_until_idle(timeout=20)
            [sent] = world.emulator.sent(world.chat_id, "bot000")
    finally:
        await world.emulator.stop()
    assert [at for at in typing_times(world, "bot000") if resumed_at <= at < sent.at]


@pytest.mark.slow
async def test_a_message_dropped_while_typed_is_typed_no_more(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(answer(world, "Bunu hiç göndermeyeceğiz.", 42, 30.0))
            outbox = runner.outbox  # the bot left bots.yaml for good: removal grace's own two steps
            await outbox.fail_set_aside("bot000", outbox.set_aside("bot000"), "test: the bot is gone")
            await asyncio.sleep(SHOWN_FOR)  # past the first renewal: an absence cannot be awaited
    finally:
        await world.emulator.stop()
    assert len(typing_times(world, "bot000")) <= 1
    assert world.emulator.sent() == []


class FakeBot:
    """Counts typing actions and lets a test await a count."""

    def __init__(self) -> None:
        self.actions: list[float] = []
        self.changed = asyncio.Event()

    async def send_chat_action(self, chat_id: int, action: str) -> bool:
        self.actions.append(time.monotonic())
        self.changed.set()
        return True

    async def wait_for(self, count: int) -> None:
        async def reached() -> None:
            while len(self.actions) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(reached(), 5)


async def test_typing_is_renewed_until_stopped_and_then_no_more() -> None:
    bot = FakeBot()
    typing = Typing(every=0.01)
    typing.start(7, SimpleNamespace(name="kemal", bot=bot), -100, until=time.time() + 60)  # type: ignore[arg-type]
    await bot.wait_for(3)
    typing.stop(7)
    after_stop = len(bot.actions)
    await asyncio.sleep(0.1)  # ten renewal periods: an absence cannot be awaited
    assert len(bot.actions) == after_stop
    assert len(typing) == 0


async def test_typing_ends_by_itself_once_its_last_action_lasts_until_the_message() -> None:
    bot = FakeBot()
    typing = Typing(every=0.01)
    typing.start(8, SimpleNamespace(name="kemal", bot=bot), -100, until=time.time() + SHOWN_FOR - 2)  # type: ignore[arg-type]
    await bot.wait_for(1)
    await asyncio.sleep(0.05)
    assert len(bot.actions) == 1  # one action covers a short delay
    assert len(typing) == 0
    await typing.close()
