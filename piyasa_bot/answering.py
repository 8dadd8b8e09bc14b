"""Answers being composed: one task per person's message, its answer put in the outbox once.

The chat rooms decide who answers (chatrooms.py); this composes the answer
with the text source and puts it in the outbox. A message is taken at most
once per process: one already being answered, or answered lately, is not
taken again, so a message heard live and found again by the recovery at start
(answer_recovery.py) costs one composition. Across processes the outbox's
answer-once index holds the same line: one row per person's message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from piyasa_bot.chat_kinds import reply_target
from piyasa_bot.conversation import ChatLine, Composer, Director
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.llm import TextSource
from piyasa_bot.roster import Roster
from piyasa_bot.sending.outbox import Outbox, Outgoing, Priority

log = structlog.get_logger(__name__)

# Messages remembered as taken, beyond those in flight: more than a restart's backlog ever holds.
REMEMBERED = 4096


@dataclass
class AnswerCounts:
    addressed: int = 0
    answered: int = 0
    volunteered: int = 0
    recovered: int = 0  # addressed messages found unanswered at start (answer_recovery.py)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class Ask:
    """A person's message one bot is to answer."""

    director: Director
    line: ChatLine
    bot_name: str
    received_by: str  # the bot whose copy was handled (in a basic group only it can reply to it)
    chat_type: str | None
    volunteer: bool = False
    expires_at: float | None = None  # wall clock; None: the roster's answer_ttl_seconds from when it is put

    @property
    def key(self) -> tuple[int, int]:
        return self.director.chat.id, self.line.message_id


class Answers:
    def __init__(
        self,
        outbox: Outbox,
        source: TextSource,
        roster: Callable[[], Roster],
        clock: Callable[[], datetime],
        aliases: ChatAliases,
    ) -> None:
        self.outbox = outbox
        self.source = source
        self.roster = roster  # the current roster (a reload replaces it)
        self.clock = clock
        self.aliases = aliases
        self.counts = AnswerCounts()
        self._tasks: set[asyncio.Task[None]] = set()
        self._taken: dict[tuple[int, int], None] = {}  # oldest first, bounded by REMEMBERED

    def take(self, ask: Ask) -> bool:
        """Start answering, unless this message was taken already in this process; True if started."""
        if ask.key in self._taken:
            return False
        self._taken[ask.key] = None
        if len(self._taken) > REMEMBERED:
            del self._taken[next(iter(self._taken))]
        task = asyncio.create_task(self._answer(ask))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return True

    @property
    def composing(self) -> int:
        """Answers being composed now (not yet in the outbox)."""
        return len(self._tasks)

    async def settle(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _answer(self, ask: Ask) -> None:
        director, line, bot_name = ask.director, ask.line, ask.bot_name
        # People first: the hourly cap and active hours pace chatter, not answers.
        if director.paused or not director.is_active(bot_name):
            self.counts.skip("paused" if director.paused else "bot inactive in chat")
            return
        roster = self.roster()
        draft = await self.source.answer(roster.bot(bot_name), director.chat, line, director.recent, self.clock())
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
                reply_to=reply_target(
                    ask.chat_type, line.message_id, received_by=ask.received_by, answering_bot=bot_name
                ),
                answers=line.message_id,
                not_before=time.time() + Composer.typing_delay(draft.text),
                expires_at=ask.expires_at or time.time() + roster.limits.answer_ttl_seconds,
            )
        )
        if outbox_id is not None and not ask.volunteer:
            self.counts.answered += 1

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("answer.failed", error=f"{type(error).__name__}: {error}")
