"""From a raw getUpdates batch to rows handed to the writer.

Copies already seen are skipped on the raw dict, before aiogram parses them:
with 50 bots in a group, 49 of 50 copies cost a dict lookup. The rest go
through the aiogram Dispatcher, whose handlers record them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update

from piyasa_bot.ingest.identity import CopyKeys, MessageKey, SeenMessages, message_of
from piyasa_bot.ingest.rows import incoming_row, sent_row
from piyasa_bot.ingest.writer import MessageWriter

log = structlog.get_logger(__name__)


@dataclass
class BotHandle:
    """One bot of the roster as the running system knows it."""

    name: str
    db_id: int
    bot: Bot
    telegram_id: int = 0
    username: str = ""


@dataclass
class Arrival:
    """One update's way through the dispatcher: who got it and what to wait for."""

    handle: BotHandle
    key: MessageKey | None
    copy_key: str | None
    commits: set[asyncio.Future[None]] = field(default_factory=set)


@dataclass
class Batch:
    """What one getUpdates batch brought: the commits to wait for, and how much was new."""

    commits: set[asyncio.Future[None]] = field(default_factory=set)
    new: int = 0
    copies: int = 0


class Recorder:
    """Hands messages to the writer once each, however many bots received them."""

    def __init__(self, writer: MessageWriter) -> None:
        self.writer = writer
        self.seen = SeenMessages()
        self.copy_keys = CopyKeys()
        self.stored = 0
        self.skipped_copies = 0

    def record_incoming(self, message: Message, arrival: Arrival) -> bool:
        """Hand the message to the writer unless a copy already was; True when it is new."""
        if arrival.key is not None:
            committed = self.seen.get(arrival.key)
            if committed is not None:
                arrival.commits.add(committed)
                return False
        handle = arrival.handle
        row = incoming_row(message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id, copy_key=arrival.copy_key)
        committed = self.writer.submit(row)
        if arrival.key is not None:
            self.seen.remember(arrival.key, committed)
        arrival.commits.add(committed)
        self.stored += 1
        return True

    def record_sent(self, message: Message, handle: BotHandle) -> asyncio.Future[None]:
        return self.writer.submit(sent_row(message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id))


class Ingest:
    def __init__(self, dispatcher: Dispatcher, recorder: Recorder, deps: Any) -> None:
        self.dispatcher = dispatcher
        self.recorder = recorder
        self.deps = deps
        self.updates_received = 0
        self.updates_failed = 0

    async def process(self, handle: BotHandle, raw_updates: list[dict[str, Any]]) -> Batch:
        """Handle a batch; its commits must land before its offset is confirmed."""
        batch = Batch()
        commits = batch.commits
        seen, copy_keys = self.recorder.seen, self.recorder.copy_keys
        self.updates_received += len(raw_updates)
        for raw in raw_updates:
            key = copy_key = None
            found = message_of(raw)
            if found is not None:
                kind, message = found
                key, copy_key = copy_keys.key(handle.telegram_id, kind, message)
                committed = seen.get(key)
                if committed is not None:
                    self.recorder.skipped_copies += 1
                    batch.copies += 1
                    commits.add(committed)
                    continue
            batch.new += 1
            arrival = Arrival(handle=handle, key=key, copy_key=copy_key, commits=commits)
            await self._dispatch(handle.bot, raw, arrival)
        return batch

    async def _dispatch(self, bot: Bot, raw: dict[str, Any], arrival: Arrival) -> None:
        update_id = raw.get("update_id")
        try:
            update = Update.model_validate(raw, context={"bot": bot})
            await self.dispatcher.feed_update(bot, update, deps=self.deps, arrival=arrival)
        except Exception as error:  # one bad update must not stop the bot
            self.updates_failed += 1
            log.error("update.failed", bot=arrival.handle.name, update_id=update_id,
                      error=f"{type(error).__name__}: {error}")
