"""The runner on a live market: bots quote what the sources say, or no number at all; headlines once per chat.

The runner as `run` builds it, against the Bot API emulator, with bots.yaml's
sources pointed at a local server that answers in the sources' own formats
(tests/market_sources.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from piyasa_bot.roster_loader import parse_roster
from tests.helpers import World, make_runner, make_world, roster_yaml
from tests.market_sources import NEWS, FakeSources, has_number, market_yaml, serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
async def sources() -> AsyncIterator[FakeSources]:
    async with serving(FakeSources()) as fake:
        yield fake


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = await make_world(2)
    try:
        yield made
    finally:
        await made.emulator.stop()


def live_roster(world: World, sources: FakeSources, **market: object) -> World:
    names = [bot.name for bot in world.loaded.roster.bots]
    # Awake at any hour, so the chatter does not depend on when the suite runs.
    text = roster_yaml(names, world.chat_id).replace(
        "    chats: [", "    persona: {active_hours: ['00:00-24:00']}\n    chats: ["
    )
    text += market_yaml(sources.base, **market)  # type: ignore[arg-type]
    world.loaded = parse_roster(text, "test.yaml", world.env, None)
    return world


async def ask(world: World, runner: object, text: str, user_id: int = 501) -> str:
    posted = world.emulator.post(world.chat_id, user_id=user_id, first_name="Deniz", text=text)
    await runner.outbox.wait_until(  # type: ignore[attr-defined]
        lambda: any(s.reply_to_message_id == posted.message_id for s in world.emulator.sent()), 30
    )
    return next(s.text for s in world.emulator.sent() if s.reply_to_message_id == posted.message_id)


async def test_a_bot_asked_about_the_dollar_quotes_the_central_banks_rate(
    dsn: str, world: World, sources: FakeSources
) -> None:
    live_roster(world, sources)
    async with make_runner(world, dsn, conversation=True, seed=3) as runner:
        await runner.wait_polling()
        assert runner.services.market is not None and runner.services.market.poller is not None
        await runner.services.market.poller.fetched("tcmb")
        answer = await ask(world, runner, "@bot000_bot dolar ne olur sence?")
        bitcoin = await ask(world, runner, "@bot001_bot BTC'de durum ne?", user_id=502)
    assert "42,35" in answer  # 42.3518 as the CBRT's bulletin says, in Turkish
    assert "97.31" in bitcoin or "97.32" in bitcoin  # 97,315.5 $ from the exchange's ticker


async def test_with_every_source_failing_the_bots_talk_without_numbers(
    dsn: str, world: World, sources: FakeSources
) -> None:
    for source in ("tcmb", "binance", "yahoo"):
        sources.fail(source, "html")
    live_roster(world, sources)
    async with make_runner(world, dsn, conversation=True, seed=4) as runner:
        await runner.wait_polling()
        assert runner.services.market is not None and runner.services.market.poller is not None
        await runner.services.market.poller.fetched("tcmb")
        answers = [
            await ask(world, runner, "@bot000_bot dolar ne olur sence?"),
            await ask(world, runner, "@bot001_bot altın almalı mı?", user_id=502),
            await ask(world, runner, "@bot000_bot borsa bugün nasıl?", user_id=503),
        ]
        status = runner.services.market.poller.states
    assert not any(has_number(text) for text in answers), answers
    assert all(state.failures >= 1 for state in status.values())


def fresh_feed() -> bytes:
    """The recorded AA economy feed, its items dated in the last hour."""
    body = (NEWS / "aa_ekonomi.xml").read_text(encoding="utf-8")
    now = datetime.now(UTC)
    counter = iter(range(1, 100))
    body = re.sub(
        r"<pubDate>[^<]*</pubDate>",
        lambda _: f"<pubDate>{format_datetime(now - timedelta(minutes=5 * next(counter)))}</pubDate>",
        body,
    )
    return body.encode("utf-8")


async def test_a_fresh_headline_is_brought_up_once_per_chat_even_across_a_restart(
    dsn: str, world: World, sources: FakeSources
) -> None:
    sources.feeds["aa"] = fresh_feed()
    live_roster(world, sources, feeds={"aa": "aa"}, share=1.0)
    headline = "Merkez Bankası rezervleri 164,5 milyar dolara yükseldi"  # the newest; names the dollar

    def mentions() -> list[str]:
        return [s.text for s in world.emulator.sent() if headline.lower() in s.text.lower()]

    async with make_runner(world, dsn, conversation=True, seed=5, pace_scale=200) as runner:
        await runner.wait_polling()
        await runner.outbox.wait_until(lambda: len(mentions()) >= 1, 40)
    assert all("http" not in text and "aa.com.tr" not in text for text in mentions())  # retold, never linked
    async with make_runner(world, dsn, conversation=True, seed=6, pace_scale=200) as again:
        await again.wait_polling()
        desk = again.services.news
        assert desk is not None and any(h.title == headline for h in desk.headlines)  # known again after the restart
        sent_before = len(world.emulator.sent())
        await again.outbox.wait_until(lambda: len(world.emulator.sent()) >= sent_before + 2, 30)
        chat, bot = again.loaded.roster.chats[0], again.loaded.roster.bots[0]
        offered = []
        while (offer := await desk.offer(chat, bot, datetime.now(UTC))) is not None:
            offered.append(offer.title)
    assert headline not in offered
    assert len(mentions()) == 1
