"""Emoji reactions to people's messages: now and then, by a bot whose view fits, once per message ever.

Members of a market group react more often than they write: a 👍 under a
claim they share, a 🤔 under one they doubt, 👀 under news. Here that is
seasoning: about one claim- or news-like message in twenty
(`ReactionPolicy.rate`), a few seconds after it (someone read it first).
Never a question (those get answers), greetings or thanks, never by the bot
the message is addressed to, none in the chat's quiet hours, none while the
outbox stands down. A reaction is a request like a send: it takes the global
bucket and the bot's slot in the chat and counts in its chatter window, so it
is simply skipped when that window is full or an answer waits in the chat.

The claim (a row in `reactions`, keyed by the message) is committed before
the request, so a message gets at most one reaction, by any bot, across
restarts and processes; a request that fails after the claim is not tried
again. In a basic group each bot numbers messages on its own, so only the bot
that received the message reacts there (chat_kinds.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import ReactionTypeEmoji

from piyasa_bot.bots import BotRegistry
from piyasa_bot.chat_kinds import numbered_per_bot
from piyasa_bot.conversation import ChatLine, Director
from piyasa_bot.conversation.facts import stance
from piyasa_bot.conversation.hours import istanbul, within
from piyasa_bot.conversation.intent import is_greeting, is_question, is_thanks, sentiment
from piyasa_bot.conversation.symbols import find_topics
from piyasa_bot.roster import BotConfig, ChatConfig, Roster
from piyasa_bot.sending.outbox import Outbox, Priority
from piyasa_bot.telegram import error_kind

log = structlog.get_logger(__name__)

Feeling = Literal["agree_up", "agree_down", "doubt", "curious", "news"]

# Emoji from Telegram's reaction set, by what the bot feels and how it talks ("" = any tone).
EMOJI: dict[Feeling, dict[str, tuple[str, ...]]] = {
    "agree_up": {
        "": ("👍", "💯", "🤝"),
        "energetic": ("🔥", "💯", "👍"),
        "enthusiastic": ("🔥", "👏", "💯"),
        "sarcastic": ("😁", "💯"),
        "cautious": ("👍", "🤝"),
    },
    "agree_down": {"": ("👍", "💯", "🤝"), "sarcastic": ("😁", "💯"), "cautious": ("👍", "🤝")},
    "doubt": {"": ("🤔",), "sarcastic": ("🤨", "🤔"), "analytical": ("🤔", "🤨")},
    "curious": {"": ("🤔", "👀")},
    "news": {"": ("👀", "👍"), "energetic": ("👀", "🔥"), "sarcastic": ("👀", "🤨"), "cautious": ("👀", "🤔")},
}
# How much likelier a bot is to react the more its view fits the message.
WEIGHT: dict[Feeling, float] = {"agree_up": 3.0, "agree_down": 3.0, "news": 1.0, "curious": 1.0, "doubt": 0.7}


@dataclass(frozen=True)
class ReactionPolicy:
    rate: float = 0.05  # share of claim- and news-like messages that get a reaction
    delay: tuple[float, float] = (2.0, 12.0)  # seconds after the message, drawn evenly


@dataclass(frozen=True)
class Choice:
    bot: str
    emoji: str


@dataclass
class ReactionCounts:
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def worth_a_reaction(text: str) -> bool:
    """A claim or news a member might react to: a few words on a market subject or with a side taken."""
    if len(text.split()) < 3 or is_question(text) or is_greeting(text) or is_thanks(text):
        return False
    return bool(find_topics(text)) or sentiment(text) is not None


def feeling(bot: BotConfig, text: str, now: datetime) -> Feeling:
    """What `bot` makes of the message, from its stance on the subject and the side the message takes."""
    side = sentiment(text)
    if side is None:
        return "news"
    topics = find_topics(text)
    view = stance(bot, topics[0], now) if topics else "neutral"
    if view == side:
        return "agree_up" if side == "bullish" else "agree_down"
    return "curious" if view == "neutral" else "doubt"


def choose(text: str, candidates: Sequence[BotConfig], now: datetime, rng: random.Random) -> Choice | None:
    """Which of `candidates` reacts to `text`, and with what; None when nobody may."""
    if not candidates:
        return None
    feelings = [feeling(bot, text, now) for bot in candidates]
    index = rng.choices(range(len(candidates)), weights=[WEIGHT[f] for f in feelings])[0]
    bot, felt = candidates[index], feelings[index]
    by_tone = EMOJI[felt]
    return Choice(bot.name, rng.choice(by_tone.get(bot.persona.tone, by_tone[""])))


def quiet(chat: ChatConfig, now: datetime) -> bool:
    """Inside the chat's quiet hours (bots.yaml chats[].quiet_hours, Istanbul time)."""
    return chat.quiet_at(istanbul(now).time())


async def claim(pool: Any, chat_id: int, message_id: int, choice: Choice) -> bool:
    """Take the message for this reaction; False when it has one already (from any bot, any run)."""
    claimed = await pool.fetchval(
        """INSERT INTO reactions (chat_id, message_id, bot, emoji) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING true""",
        chat_id,
        message_id,
        choice.bot,
        choice.emoji,
    )
    return bool(claimed)


class Reactions:
    def __init__(
        self,
        outbox: Outbox,
        bots: BotRegistry,
        roster: Callable[[], Roster],
        clock: Callable[[], datetime],
        rng: random.Random,
        policy: ReactionPolicy | None = None,
    ) -> None:
        self.outbox = outbox  # its pool, limits and backlog: a reaction waits for nothing an answer needs
        self.bots = bots
        self.roster = roster  # the current roster (a reload replaces it)
        self.clock = clock
        self.rng = rng
        self.policy = policy or ReactionPolicy()
        self.counts = ReactionCounts()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()  # set whenever a decided reaction is sent or skipped

    def heard(
        self,
        director: Director,
        line: ChatLine,
        chat_type: str | None,
        stored_chat_id: int,
        received_by: str,
        addressed: str | None,
    ) -> None:
        """A person's message: perhaps one bot reacts to it, a little later (never blocks the caller)."""
        if self.rng.random() >= self.policy.rate or not worth_a_reaction(line.text):
            return
        chat, now = director.chat, self.clock()
        if quiet(chat, now):
            return
        configs = {bot.name: bot for bot in self.roster().bots}
        names = [received_by] if numbered_per_bot(chat_type) else director.members
        candidates = [
            configs[name]
            for name in names
            if name != addressed
            and name in configs
            and self.outbox.rights.sends_for(name)  # a reaction is a request: only for a bot whose lease is here
            and director.is_active(name)
            and within(configs[name].persona.active_hours, now)
        ]
        choice = choose(line.text, candidates, now, self.rng)
        if choice is None:
            return
        delay = self.rng.uniform(*self.policy.delay)
        task = asyncio.create_task(self._react(chat, stored_chat_id, line.message_id, choice, delay))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    @property
    def waiting(self) -> int:
        """Reactions decided and not yet sent (or skipped)."""
        return len(self._tasks)

    async def settle(self, timeout: float) -> None:
        """Wait for the reactions decided so far (tests, the end of `simulate`)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait, without polling, until `condition` holds after a reaction was sent or skipped."""

        async def reached() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _react(self, chat: ChatConfig, chat_id: int, message_id: int, choice: Choice, delay: float) -> None:
        await asyncio.sleep(delay)
        reason = self._not_now(chat, chat_id, choice.bot)
        if reason is not None:
            self.counts.skip(reason)
            return
        try:
            claimed = await claim(self.outbox.pool, chat_id, message_id, choice)
        except Exception as error:  # noqa: BLE001 - the database is away: a reaction is not worth waiting for
            log.warning("reaction.claim_failed", bot=choice.bot, chat_id=chat_id, error=f"{type(error).__name__}")
            self.counts.skip("database")
            return
        if not claimed:
            self.counts.skip("has one")
            return
        await self._send(chat_id, message_id, choice)

    def _not_now(self, chat: ChatConfig, chat_id: int, bot: str) -> str | None:
        """Why the reaction is skipped now (quiet hours began, answers waiting, the bot's budget), or None."""
        if self.outbox.paused:
            return "outbox paused"
        if quiet(chat, self.clock()):
            return "quiet hours"
        if bot not in self.bots:
            return "bot gone"
        if not self.outbox.rights.sends_for(bot):
            return "handed to another runner"
        if self.outbox.backlog_of(chat_id, Priority.ANSWER):
            return "answers waiting"
        if self.outbox.limits.until_room(bot, chat_id, chatter=True) > 0:
            return "budget"
        return None

    async def _send(self, chat_id: int, message_id: int, choice: Choice) -> None:
        limits, handle = self.outbox.limits, self.bots[choice.bot]
        await limits.global_bucket.acquire()
        await limits.pair(choice.bot, chat_id).take(chatter=True)
        await limits.enter_global_window()
        try:
            await handle.bot.set_message_reaction(chat_id, message_id, [ReactionTypeEmoji(emoji=choice.emoji)])
        except TelegramRetryAfter as error:
            limits.pauses.pause(choice.bot, error.retry_after)  # the bot's sends wait too, as for a 429 on one
            self.counts.skip("retry_after")
        except Exception as error:  # noqa: BLE001 - cosmetic: a log line, never a retry (the claim stays)
            log.info("reaction.failed", bot=choice.bot, chat_id=chat_id, error=error_kind(error))
            self.counts.skip(error_kind(error))
        else:
            self.counts.sent += 1
            log.info("reaction.sent", bot=choice.bot, chat_id=chat_id, message_id=message_id, emoji=choice.emoji)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._changed.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("reaction.task_failed", error=f"{type(error).__name__}: {error}")
