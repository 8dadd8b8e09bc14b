"""The conversation, wired: directors' turns become chatter, people's messages become answers.

This is the one place where the pure conversation core meets the outbox and
the clock. Handlers call `heard` (it never sends, it schedules); the outbox
calls `said` once Telegram has a bot's message, so every director sees every
line of its chat. A message heard while some of the chat's bots are still
being identified waits for them (held_messages.py): who it is addressed to
cannot be told before. Answers are composed in answering.py, and a
director's turn becomes chatter in chatter.py. A chat taken up (at start,
or from another runner of the fleet) catches up in catch_up.py: its last
lines, then the answers an earlier run owed (answer_recovery.py). Some
people's messages get an emoji reaction (reactions.py); in a chat's quiet
hours there is no chatter (nor reactions).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import Callable, Collection
from datetime import UTC, datetime

import structlog
from aiogram.types import Message

from piyasa_bot.answer_recovery import COMMAND, NOT_PEOPLE
from piyasa_bot.answering import AnswerCounts, Answers, Ask
from piyasa_bot.bots import BotRegistry
from piyasa_bot.catch_up import CatchUp
from piyasa_bot.chat_kinds import BASIC_GROUP
from piyasa_bot.chatter import Chatter
from piyasa_bot.conversation import BotIdentity, ChatLine, Director, SpeakerUsage, classify
from piyasa_bot.fleet.line_feed import Seen, StoredLine
from piyasa_bot.held_messages import HeldUntilIdentified
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.llm import TextSource
from piyasa_bot.message_lines import bot_line, person_line, stored_line
from piyasa_bot.news.desk import NewsDesk
from piyasa_bot.reactions import Reactions
from piyasa_bot.roster import ChatConfig, Roster
from piyasa_bot.sending.outbox import Outbox, Outgoing, Priority

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        news: NewsDesk | None = None,
        directed: Collection[int] | None = None,
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
        # The chats this runner directs (None: every chat of the roster; a fleet hands them out: `take`).
        chats = [chat for chat in roster.chats if directed is None or chat.id in directed]
        self._handed_out = directed is not None
        self.directors = {chat.id: self._director(chat, roster) for chat in chats}
        self.answers = Answers(outbox, source, lambda: self.roster, clock, self.aliases)
        self.chatter = Chatter(outbox, source, lambda: self.roster, self.aliases, news)
        self.catch_up = CatchUp(
            outbox.pool, bots, self.aliases, self.answers, lambda: self.roster, lambda: self.directors, self._identified
        )
        self._wake = {chat.id: asyncio.Event() for chat in chats}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._talking = False  # chatter runs (start) or not (stop_chatter)
        self._recovery: asyncio.Task[None] | None = None
        self._catching_up: set[asyncio.Task[None]] = set()  # chats taken over while running
        self._heard = Seen()  # people's messages heard, live or read back from another runner's rows
        self._identities: list[BotIdentity] = []
        self._identities_version = -1
        self._held = HeldUntilIdentified(bots)
        self.reactions = Reactions(outbox, bots, lambda: self.roster, clock, random.Random(self.rng.random()))

    # --- lifecycle ----------------------------------------------------------------------

    def _director(self, chat: ChatConfig, roster: Roster) -> Director:
        return Director(chat, roster.bots, random.Random(self.rng.random()), self.usage, scale=self.scale)

    def start(self) -> None:
        self._talking = True
        for chat_id in self.directors:
            self._start_talking(chat_id)
        if self._recovery is None:
            self._recovery = asyncio.create_task(self.catch_up.run(list(self.directors)), name="answers-owed")

    def _start_talking(self, chat_id: int) -> None:
        self._wake.setdefault(chat_id, asyncio.Event())
        self._tasks[chat_id] = asyncio.create_task(self._talk(chat_id), name=f"talk:{chat_id}")

    async def stop(self) -> None:
        recoveries = [task for task in (self._recovery, *self._catching_up) if task is not None]
        for task in recoveries:
            task.cancel()
        await asyncio.gather(*recoveries, return_exceptions=True)
        await self.stop_chatter()
        await self._held.close()
        await self.answers.stop()
        await self.reactions.stop()

    async def stop_chatter(self) -> None:
        """No more chatter; answers already decided still go out."""
        self._talking = False
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
            previous = old.get(chat.id)
            if previous is None and self._handed_out:
                continue  # a chat new to bots.yaml: directed here once the fleet hands it to this runner
            director = self._director(chat, roster)
            if previous is not None:
                for line in previous.recent:
                    director.observe(line)
                for name in previous.inactive:
                    director.deactivate(name)  # still removed from that chat
                for name in previous.disabled:
                    director.disable(name)  # still disabled by the operator (steering.py applies it again too)
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

    # --- the chats a fleet hands to this runner ---------------------------------------------------

    def take(self, chat_id: int) -> None:
        """Direct this chat from now on: its last lines read back, the answers owed in it taken up."""
        if chat_id in self.directors:
            return
        chat = next((chat for chat in self.roster.chats if chat.id == chat_id), None)
        if chat is None:
            return
        self.directors[chat_id] = self._director(chat, self.roster)
        self._wake.setdefault(chat_id, asyncio.Event())
        if self._talking:
            self._start_talking(chat_id)
        if self._recovery is not None:  # started: catch this chat up on its own (else start() does)
            task = asyncio.create_task(self.catch_up.run([chat_id]), name=f"catch-up:{chat_id}")
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)

    async def give_up(self, chat_id: int) -> None:
        """Another runner directs this chat from now on: no more turns here. Answers being composed still
        reach the outbox (the answer-once index keeps one, should the new owner compose one too)."""
        self.directors.pop(chat_id, None)
        task = self._tasks.pop(chat_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def counts(self) -> AnswerCounts:
        return self.answers.counts

    @property
    def composing(self) -> int:
        """Answers being composed now (not yet in the outbox)."""
        return self.answers.composing

    async def settle_answers(self, timeout: float = 30.0) -> None:
        """Wait until every answer being composed (or waiting for its bot's identity) is in the outbox."""
        deadline = asyncio.get_running_loop().time() + timeout
        await self._held.settle(timeout)
        await self.answers.settle(max(deadline - asyncio.get_running_loop().time(), 0.0))

    def nudge(self, chat_id: int) -> None:
        """Replan this chat's next turn now (its director was paused, resumed, re-paced or lost a bot)."""
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

    def heard(self, message: Message, received_by: str, copy_key: str | None = None) -> None:
        """A person's message (recorded once, whichever bot got it first)."""
        director = self.director_of(message.chat.id)
        if director is None or not (message.text or message.caption):
            return
        if not self._heard.first_time(copy_key or (message.chat.id, message.message_id)):
            return  # another runner stored it first, and its row was read back already
        if not self._held.hold(director.chat.id, director.members, lambda: self._hear(message, received_by)):
            self._hear(message, received_by)

    def _hear(self, message: Message, received_by: str) -> None:
        director = self.director_of(message.chat.id)
        text = message.text or message.caption
        if director is None or not text:
            return  # the chat left bots.yaml while the message was held
        line = person_line(message, text, director.chat.id, self.bots)
        self._hear_line(director, line, received_by, message.chat.type, message.chat.id)

    def hear_stored(self, stored: StoredLine) -> None:
        """A line of a chat directed here that another runner stored (fleet/line_feed.py)."""
        director = self.director_of(stored.chat_id)
        if director is None:
            return
        if stored.bot_id is not None and self.bots.by_db_id(stored.bot_id) is None:
            return  # a bot no longer in bots.yaml
        line = stored_line(stored, director.chat.id, self.bots)
        if line.author_bot is not None:
            # Another runner's bot spoke here: context, and chatter unless it answered a person.
            director.observe(line, chatter=line.reply_to_message_id is None or line.reply_to_bot is not None)
            return
        if stored.from_user_id in NOT_PEOPLE or COMMAND.match(line.text):
            director.observe(line)
            return
        if not self._heard.first_time(stored.copy_key or (stored.chat_id, stored.message_id)):
            return  # heard live already (a copy reached one of this runner's bots too)
        handle = self.bots.by_db_id(stored.received_by) if stored.received_by is not None else None
        chat_type = BASIC_GROUP if stored.id_scope else "supergroup"

        def hear() -> None:
            if (now := self.director_of(stored.chat_id)) is not None:
                self._hear_line(now, line, handle.name if handle else "?", chat_type, stored.chat_id)

        # Who it is addressed to is known once the chat's bots are (those polled elsewhere: from the database).
        if not self._held.hold(director.chat.id, director.members, hear):
            hear()

    def _hear_line(
        self, director: Director, line: ChatLine, received_by: str, chat_type: str | None, stored_chat_id: int
    ) -> None:
        addressee = classify(line, self._identified())
        addressed = addressee.bot_name if addressee else None
        self.reactions.heard(director, line, chat_type, stored_chat_id, received_by, addressed)
        if addressee is not None and addressee.bot_name in director.members:
            line = dataclasses.replace(line, addressed_to=addressee.bot_name)
            director.observe(line)
            if self.answers.take(Ask(director, line, addressee.bot_name, received_by, chat_type)):
                self.counts.addressed += 1
            return
        director.observe(line)
        volunteer = director.volunteer(line, self.clock())
        if volunteer is not None and self.answers.take(
            Ask(director, line, volunteer, received_by, chat_type, volunteer=True)
        ):
            self.counts.volunteered += 1
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

    async def caught_up(self) -> None:
        """Wait until the start's catching up is done: the chats' history read, the answers owed taken."""
        if self._recovery is not None:
            await asyncio.shield(self._recovery)

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
            await self.chatter.take_turn(director, turn, now)

    # --- helpers ----------------------------------------------------------------------------

    def _identified(self) -> list[BotIdentity]:
        # Rebuilt only when the registry changed: bots are identified (or added) rarely, messages come often.
        if self._identities_version != self.bots.version:
            self._identities = [BotIdentity(h.name, h.username, h.telegram_id) for h in self.bots.identified_handles()]
            self._identities_version = self.bots.version
        return self._identities
