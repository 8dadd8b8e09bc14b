"""The conversation, wired: directors' turns become chatter, people's messages become answers.

This is the one place where the pure conversation core meets the outbox and
the clock. Handlers call `heard` (it never sends, it schedules); the outbox
calls `said` once Telegram has a bot's message, so every director sees every
line of its chat. A message heard while some of the chat's bots are still
being identified waits for them (held_messages.py): who it is addressed to
cannot be told before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiogram.types import Message

from piyasa_bot.bots import BotRegistry
from piyasa_bot.chat_kinds import reply_target
from piyasa_bot.conversation import (
    BotIdentity,
    ChatLine,
    Composer,
    Director,
    SpeakerUsage,
    classify,
)
from piyasa_bot.held_messages import HeldUntilIdentified
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.llm import TextSource
from piyasa_bot.message_lines import bot_line, person_line
from piyasa_bot.roster import ChatConfig, Roster
from piyasa_bot.sending.outbox import Outbox, Outgoing, Priority

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# Chatter waiting in a chat's queue beyond this many is not worth adding to.
MAX_QUEUED_CHATTER = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AnswerCounts:
    addressed: int = 0
    answered: int = 0
    volunteered: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class ChatRooms:
    def __init__(
        self,
        roster: Roster,
        bots: BotRegistry,
        outbox: Outbox,
        source: TextSource,
        *,
        rng: random.Random | None = None,
        clock: Clock = utc_now,
        scale: float = 1.0,
        aliases: ChatAliases | None = None,
    ) -> None:
        self.roster = roster
        # Directors stay keyed by bots.yaml's ids; Telegram's ids are translated at the edges.
        self.aliases = aliases if aliases is not None else ChatAliases()
        self.bots = bots
        self.outbox = outbox
        self.source = source
        self.clock = clock
        self.rng = rng or random.Random()
        self.usage = SpeakerUsage()
        self.scale = scale
        self.directors = {chat.id: self._director(chat, roster) for chat in roster.chats}
        self.counts = AnswerCounts()
        self._wake = {chat.id: asyncio.Event() for chat in roster.chats}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._identities: list[BotIdentity] = []
        self._identities_version = -1
        self._held = HeldUntilIdentified(bots, self._hear)

    # --- lifecycle ----------------------------------------------------------------------

    def _director(self, chat: ChatConfig, roster: Roster) -> Director:
        return Director(chat, roster.bots, random.Random(self.rng.random()), self.usage, scale=self.scale)

    def start(self) -> None:
        for chat_id in self.directors:
            self._start_talking(chat_id)

    def _start_talking(self, chat_id: int) -> None:
        self._wake.setdefault(chat_id, asyncio.Event())
        self._tasks[chat_id] = asyncio.create_task(self._talk(chat_id), name=f"talk:{chat_id}")

    async def stop(self) -> None:
        await self.stop_chatter()
        await self._held.close()
        for task in self._answers:
            task.cancel()
        await asyncio.gather(*self._answers, return_exceptions=True)

    async def stop_chatter(self) -> None:
        """No more chatter; answers already decided still go out."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    def apply(self, roster: Roster) -> None:
        """A new roster: new directors that keep what the old ones knew (context, pauses, removals)."""
        self.roster = roster
        old = self.directors
        self.directors = {}
        for chat in roster.chats:
            director = self._director(chat, roster)
            previous = old.get(chat.id)
            if previous is not None:
                for line in previous.recent:
                    director.observe(line)
                for name in previous.inactive:
                    director.deactivate(name)  # still removed from that chat
                director.scale = previous.scale
                if previous.paused:
                    director.pause()
            self.directors[chat.id] = director
        for chat_id in set(self._tasks) - set(self.directors):
            self._tasks.pop(chat_id).cancel()
        for chat_id in self.directors:
            if chat_id in self._tasks:
                self._wake[chat_id].set()
            else:
                self._start_talking(chat_id)

    @property
    def composing(self) -> int:
        """Answers being composed now (not yet in the outbox)."""
        return len(self._answers)

    async def settle_answers(self, timeout: float = 30.0) -> None:
        """Wait until every answer being composed (or waiting for its bot's identity) is in the outbox."""
        deadline = time.monotonic() + timeout
        await self._held.settle(timeout)
        if self._answers:
            await asyncio.wait(set(self._answers), timeout=max(deadline - time.monotonic(), 0.0))

    def nudge(self, chat_id: int) -> None:
        """Replan this chat's next turn now (its director was paused, resumed or re-paced)."""
        director = self.director_of(chat_id)
        if director is not None:
            self._wake[director.chat.id].set()

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        for chat_id, director in self.directors.items():
            director.scale = scale
            self._wake[chat_id].set()

    # --- what the bots hear and say --------------------------------------------------------

    def director_of(self, chat_id: int) -> Director | None:
        """The director of a chat under any of its ids (a group upgraded to a supergroup has two)."""
        return self.aliases.lookup(self.directors, chat_id)

    def heard(self, message: Message, received_by: str) -> None:
        """A person's message (recorded once, whichever bot got it first)."""
        director = self.director_of(message.chat.id)
        if director is None or not (message.text or message.caption):
            return
        if not self._held.hold(director.chat.id, director.members, message, received_by):
            self._hear(message, received_by)

    def _hear(self, message: Message, received_by: str) -> None:
        director = self.director_of(message.chat.id)
        text = message.text or message.caption
        if director is None or not text:
            return  # the chat left bots.yaml while the message was held
        line = person_line(message, text, director.chat.id, self.bots)
        addressee = classify(line, self._identified())
        if addressee is not None and addressee.bot_name in director.members:
            line = dataclasses.replace(line, addressed_to=addressee.bot_name)
            self.counts.addressed += 1
            director.observe(line)
            self._spawn(
                self._answer(director, line, addressee.bot_name, received_by, message.chat.type, volunteer=False)
            )
            return
        director.observe(line)
        volunteer = director.volunteer(line, self.clock())
        if volunteer is not None:
            self.counts.volunteered += 1
            self._spawn(self._answer(director, line, volunteer, received_by, message.chat.type, volunteer=True))
        self._wake[line.chat_id].set()

    def said(self, item: Outgoing, message: Message) -> None:
        """One of our bots' messages, from Telegram's answer to sendMessage."""
        director = self.director_of(message.chat.id)
        if director is None:
            return
        director.observe(
            bot_line(message, director.chat.id, item.bot, self.bots), chatter=item.priority is Priority.CHATTER
        )

    def deactivate(self, bot_name: str, chat_id: int) -> None:
        director = self.director_of(chat_id)
        if director is not None:
            director.deactivate(bot_name)
            self._wake[director.chat.id].set()

    # --- answers ----------------------------------------------------------------------------

    async def _answer(
        self, director: Director, line: ChatLine, bot_name: str, received_by: str, chat_type: str, *, volunteer: bool
    ) -> None:
        # People first: the hourly cap and active hours pace chatter, not answers.
        if director.paused or not director.is_active(bot_name):
            self.counts.skip("paused" if director.paused else "bot inactive in chat")
            return
        bot = self.roster.bot(bot_name)
        draft = await self.source.answer(bot, director.chat, line, director.recent, self.clock())
        if draft is None:
            self.counts.skip("nothing new to say")
            log.info("answer.skipped", bot=bot_name, chat_id=line.chat_id, message_id=line.message_id)
            return
        chat_id = self.aliases.current(line.chat_id)
        outbox_id = await self.outbox.put(
            Outgoing(
                bot=bot_name,
                chat_id=chat_id,
                text=draft.text,
                priority=Priority.ANSWER,
                reply_to=reply_target(chat_type, line.message_id, received_by=received_by, answering_bot=bot_name),
                answers=line.message_id,
                not_before=time.time() + Composer.typing_delay(draft.text),
                expires_at=time.time() + self.roster.limits.answer_ttl_seconds,
            )
        )
        if outbox_id is not None and not volunteer:
            self.counts.answered += 1

    # --- chatter ----------------------------------------------------------------------------

    async def _talk(self, chat_id: int) -> None:
        director, wake = self.directors[chat_id], self._wake[chat_id]
        while True:
            now = self.clock()
            turn = director.next_turn(now)
            wait = None if turn is None else (turn.at - now).total_seconds()
            if wait is None or wait > 0:
                wake.clear()
                with contextlib.suppress(TimeoutError):  # woken early or not, plan again
                    await asyncio.wait_for(wake.wait(), timeout=min(wait, 300) if wait is not None else 300)
                continue
            assert turn is not None
            await self._take_turn(director, turn, now)

    async def _take_turn(self, director: Director, turn: Any, now: datetime) -> None:
        director.finish(turn)
        chat = director.chat
        chat_id = self.aliases.current(chat.id)
        if self.outbox.backlog_of(chat_id, Priority.CHATTER) >= MAX_QUEUED_CHATTER:
            return  # the chat is saturated: adding chatter would only make it expire
        draft = await self.source.chatter(self.roster.bot(turn.bot_name), chat, director.recent, now, turn.reply_to)
        if draft is None:
            return
        await self.outbox.put(
            Outgoing(
                bot=turn.bot_name,
                chat_id=chat_id,
                text=draft.text,
                priority=Priority.CHATTER,
                reply_to=draft.reply_to_message_id,
                expires_at=time.time() + self.roster.limits.chatter_ttl_seconds,
            )
        )

    # --- helpers ----------------------------------------------------------------------------

    def _identified(self) -> list[BotIdentity]:
        # Rebuilt only when the registry changed: bots are identified (or added) rarely, messages come often.
        if self._identities_version != self.bots.version:
            self._identities = [BotIdentity(h.name, h.username, h.telegram_id) for h in self.bots.identified_handles()]
            self._identities_version = self.bots.version
        return self._identities

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._answers.add(task)
        task.add_done_callback(self._answer_done)

    def _answer_done(self, task: asyncio.Task[None]) -> None:
        self._answers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("answer.failed", error=f"{type(error).__name__}: {error}")
