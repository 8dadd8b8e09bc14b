"""Emoji reactions and quiet hours: sparing, fitting, once per message ever, within the limits."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import asyncpg
import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import ReactionTypeEmoji

from piyasa_bot.reactions import EMOJI, ReactionPolicy, Reactions, choose, worth_a_reaction
from piyasa_bot.roster import BotConfig, Persona
from piyasa_bot.roster_loader import LoadedRoster, parse_roster
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import EmulatorLimits
from piyasa_bot.sandbox.messages import user_dict
from piyasa_bot.sandbox.reactions import ALLOWED_REACTIONS
from piyasa_bot.sending.outgoing import Priority
from piyasa_bot.telegram import make_bot, shared_session
from tests.helpers import World, make_runner, make_world

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
BULLISH_CLAIM = "THYAO bu hafta uçar, 300'ü görür"


def bot(name: str, tone: str = "calm", **stances: str) -> BotConfig:
    return BotConfig(name=name, token="1:x", chats=[-100], persona=Persona(tone=tone, stances=stances))  # type: ignore[arg-type]


# --- what gets a reaction, from whom -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        BULLISH_CLAIM,
        "Dolar bugün sert düştü, kur baskısı bitti",
        "Altın 3000 doları aştı arkadaşlar",
        "Bitcoin ETF onayı geldi",
    ],
)
def test_claims_and_news_are_worth_a_reaction(text: str) -> None:
    assert worth_a_reaction(text)


@pytest.mark.parametrize(
    "text",
    [
        "THYAO ne olur sizce?",
        "Selam millet, günaydın",
        "Teşekkürler hocam çok sağ ol",
        "evet",
        "Bugün hava çok güzel ya",
    ],
)
def test_questions_greetings_thanks_and_small_talk_are_not(text: str) -> None:
    assert not worth_a_reaction(text)


def test_the_bot_whose_stance_fits_the_claim_reacts_most_and_agrees() -> None:
    bull, bear = bot("boga", "energetic", bist="bullish"), bot("ayi", "cautious", bist="bearish")
    choices = [choose(BULLISH_CLAIM, [bull, bear], NOW, random.Random(seed)) for seed in range(400)]
    by_bull = [c for c in choices if c is not None and c.bot == "boga"]
    by_bear = [c for c in choices if c is not None and c.bot == "ayi"]
    assert len(by_bull) > 3 * len(by_bear) > 0
    assert {c.emoji for c in by_bull} <= set(EMOJI["agree_up"]["energetic"])
    assert {c.emoji for c in by_bear} <= set(EMOJI["doubt"][""])


def test_news_without_a_side_gets_a_look_not_a_verdict() -> None:
    choice = choose("Bitcoin ETF onayı geldi", [bot("emre", "sarcastic")], NOW, random.Random(1))
    assert choice is not None and choice.emoji in EMOJI["news"]["sarcastic"]


def test_every_emoji_a_bot_may_use_is_one_telegram_accepts() -> None:
    used = {emoji for by_tone in EMOJI.values() for emojis in by_tone.values() for emoji in emojis}
    assert used <= ALLOWED_REACTIONS


# --- the emulator's setMessageReaction ----------------------------------------------------------


async def test_the_emulator_counts_reactions_in_the_bots_limits_like_sends() -> None:
    world = await make_world(1, limits=EmulatorLimits(per_bot_per_chat_per_minute=1))
    session = shared_session(world.base_url, 1)
    try:
        telegram = make_bot(world.env["BOT000_TOKEN"], session)
        first = world.emulator.post(world.chat_id, 900, "Altın 3000 doları aştı")
        second = world.emulator.post(world.chat_id, 901, "Dolar da 40'ı geçti")
        assert await telegram.set_message_reaction(world.chat_id, first.message_id, [ReactionTypeEmoji(emoji="👀")])
        with pytest.raises(TelegramRetryAfter):
            await telegram.set_message_reaction(world.chat_id, second.message_id, [ReactionTypeEmoji(emoji="👍")])
    finally:
        await session.close()
        await world.emulator.stop()
    [reaction] = world.emulator.reactions(world.chat_id)
    assert (reaction.bot_name, reaction.message_id, reaction.emoji) == ("bot000", first.message_id, "👀")


# --- against the emulator, end to end ------------------------------------------------------------


def cues_roster(
    world: World, names: list[str], *, quiet: str | None = None, limits: str = "", stances: dict[str, str] | None = None
) -> LoadedRoster:
    """The world's chat and bots, awake all day, with the chat's quiet hours and the bots' stances given."""
    lines = [limits] if limits else []
    lines += ["chats:", f"  - id: {world.chat_id}", "    title: Test"]
    if quiet:
        lines.append(f'    quiet_hours: ["{quiet}"]')
    lines.append("bots:")
    for name in names:
        lines += [
            f"  - name: {name}",
            f"    token: ${{{name.upper()}_TOKEN}}",
            f"    chats: [{world.chat_id}]",
            "    persona:",
            '      active_hours: ["00:00-24:00"]',
            "      hourly_cap: 600",
        ]
        if stances and name in stances:
            lines.append(f"      stances: {{bist: {stances[name]}}}")
    return parse_roster("\n".join(lines) + "\n", "test.yaml", world.env, None)


def reactions_of(runner: Runner) -> Reactions:
    assert runner.rooms is not None
    return runner.rooms.reactions


def every_time(runner: Runner) -> Reactions:
    """The runner's reactions, deciding on every message that is worth one, at once."""
    reactions = reactions_of(runner)
    reactions.policy = ReactionPolicy(rate=1.0, delay=(0.0, 0.05))
    return reactions


async def hear_again(world: World, dsn: str, message_id: int, text: str) -> None:
    """As after a crash before the message's row landed: the row is gone and Telegram delivers it again."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM messages WHERE is_incoming")
    finally:
        await conn.close()
    message = {
        "message_id": message_id,
        "from": user_dict(900, "Mehmet"),
        "chat": {"id": world.chat_id, "type": "supergroup", "title": "Test"},
        "date": int(time.time()),
        "text": text,
    }
    for bot_name in ("bot000", "bot001"):
        world.emulator.push_update(bot_name, {"message": message})


@pytest.mark.slow
async def test_a_claim_gets_one_fitting_reaction_and_never_a_second_across_a_restart(dsn: str) -> None:
    world = await make_world(2)
    loaded = cues_roster(world, ["bot000", "bot001"], stances={"bot000": "bullish", "bot001": "bearish"})
    try:
        async with make_runner(world, dsn, loaded, conversation=True, seed=3, pace_scale=0.0) as runner:
            await runner.wait_polling()
            reactions = every_time(runner)
            claim = world.emulator.post(world.chat_id, 900, BULLISH_CLAIM, first_name="Mehmet")
            await reactions.wait_until(lambda: reactions.counts.sent >= 1, 20)
        async with make_runner(world, dsn, loaded, conversation=True, seed=4, pace_scale=0.0) as again:
            await again.wait_polling()
            reactions = every_time(again)
            await hear_again(world, dsn, claim.message_id, BULLISH_CLAIM)
            await reactions.wait_until(lambda: reactions.counts.skipped.get("has one", 0) >= 1, 20)
    finally:
        await world.emulator.stop()
    [reaction] = world.emulator.reactions(world.chat_id)
    assert reaction.message_id == claim.message_id
    if reaction.bot_name == "bot000":  # bullish, like the claim
        assert reaction.emoji in EMOJI["agree_up"][""]
    else:
        assert reaction.emoji in EMOJI["doubt"][""]


@pytest.mark.slow
async def test_a_reaction_counts_in_the_bots_chatter_budget_and_is_skipped_when_it_is_spent(dsn: str) -> None:
    world = await make_world(1)
    # Two messages a minute into the chat, one of them for chatter: the first reaction spends it.
    loaded = cues_roster(world, ["bot000"], limits="limits: {per_chat_per_minute: 2, answer_share: 0.5}")
    try:
        async with make_runner(world, dsn, loaded, conversation=True, seed=3, pace_scale=0.0) as runner:
            await runner.wait_polling()
            reactions = every_time(runner)
            world.emulator.post(world.chat_id, 900, "Altın 3000 doları aştı arkadaşlar")
            await reactions.wait_until(lambda: reactions.counts.sent >= 1, 20)
            world.emulator.post(world.chat_id, 901, "Dolar da 40 lirayı geçti, kur yükseliyor")
            await reactions.wait_until(lambda: reactions.counts.skipped.get("budget", 0) >= 1, 20)
    finally:
        await world.emulator.stop()
    assert len(world.emulator.reactions()) == 1
    assert sum(world.emulator.violations.values()) == 0


def chatter_sent(world: World, question: int) -> list[str]:
    return [s.text for s in world.emulator.sent() if s.reply_to_message_id != question]


def answered(world: World, question: int) -> bool:
    return any(s.reply_to_message_id == question for s in world.emulator.sent())


@pytest.mark.slow
async def test_without_quiet_hours_the_bots_chatter_and_react(dsn: str) -> None:
    """The control for the next test: the same chat, lively, when no quiet hours are set."""
    world = await make_world(2)
    try:
        async with make_runner(
            world, dsn, cues_roster(world, ["bot000", "bot001"]), conversation=True, seed=3, pace_scale=200
        ) as runner:
            await runner.wait_polling()
            reactions = every_time(runner)
            world.emulator.post(world.chat_id, 900, BULLISH_CLAIM)
            await reactions.wait_until(lambda: reactions.counts.sent >= 1, 20)  # before an answer is queued
            question = world.emulator.post(world.chat_id, 901, "@bot000_bot THYAO için ne dersin?").message_id
            await runner.outbox.wait_until(
                lambda: answered(world, question) and bool(chatter_sent(world, question)), 30
            )
    finally:
        await world.emulator.stop()
    assert len(world.emulator.reactions()) == 1


@pytest.mark.slow
async def test_in_quiet_hours_there_is_no_chatter_nor_reaction_but_people_are_answered(dsn: str) -> None:
    world = await make_world(2)
    loaded = cues_roster(world, ["bot000", "bot001"], quiet="00:00-24:00")
    try:
        async with make_runner(world, dsn, loaded, conversation=True, seed=3, pace_scale=200) as runner:
            await runner.wait_polling()
            reactions = every_time(runner)
            world.emulator.post(world.chat_id, 900, BULLISH_CLAIM)
            question = world.emulator.post(world.chat_id, 901, "@bot000_bot THYAO için ne dersin?").message_id
            # Long enough for the directors' turns: at this pace one comes about every 0.6 s.
            await runner.outbox.wait_until(lambda: answered(world, question), 30)
            queued_chatter = runner.outbox.backlog_of(world.chat_id, Priority.CHATTER)
            deciding = reactions.waiting
    finally:
        await world.emulator.stop()
    assert chatter_sent(world, question) == [] and queued_chatter == 0
    assert deciding == 0 and world.emulator.reactions() == []
