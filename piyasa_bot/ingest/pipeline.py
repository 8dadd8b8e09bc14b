"""From a raw getUpdates batch to rows handed to the writer.

Copies already seen are skipped on the raw dict, before aiogram parses them:
with 50 bots in a group, 49 of 50 copies cost a dict lookup. The rest go
through the aiogram Dispatcher, whose handlers record them. An update of a
kind aiogram does not know is skipped before parsing; one no handler takes,
or one that fails, is reported in one log line and the bot polls on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, Update
from pydantic import ValidationError

from piyasa_bot.bots import BotHandle
from piyasa_bot.db.queries import EditRow, MessageRow
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.ingest.identity import CopyKeys, MessageKey, SeenMessages, message_of
from piyasa_bot.ingest.rows import edit_row, incoming_row, raw_incoming_row, sent_row
from piyasa_bot.ingest.writer import MessageWriter

log = structlog.get_logger(__name__)

# Every kind of update aiogram can parse; anything else is a kind newer than our aiogram.
KNOWN_KINDS = frozenset(Update.model_fields) - {"update_id"}


def update_kind(raw: dict[str, Any]) -> str | None:
    """The update's kind if aiogram knows it, else None."""
    return next((key for key, value in raw.items() if key in KNOWN_KINDS and value is not None), None)


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

    def __init__(self, writer: MessageWriter, aliases: ChatAliases | None = None) -> None:
        self.writer = writer
        self.seen = SeenMessages()
        self.copy_keys = CopyKeys()
        # Rows of a chat Telegram renumbered are stored under its new id, however late they come.
        self.aliases = aliases if aliases is not None else ChatAliases()
        self.stored = 0
        self.skipped_copies = 0

    def record_incoming(self, message: Message, arrival: Arrival) -> bool:
        """Hand the message to the writer unless a copy already was; True when it is new."""
        if self._already(arrival):
            return False
        handle = arrival.handle
        row = incoming_row(message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id, copy_key=arrival.copy_key)
        self._submit(row, arrival)
        return True

    def record_edit(self, message: Message, arrival: Arrival) -> bool:
        """An edited message: a new version beside the original, once across bots."""
        if self._already(arrival):
            return False
        handle = arrival.handle
        self._submit(
            edit_row(message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id, copy_key=arrival.copy_key),
            arrival,
        )
        return True

    def record_raw(self, message: dict[str, Any], arrival: Arrival) -> bool:
        """A message aiogram refused: stored from the raw dict if its identity is sound."""
        if self._already(arrival):
            return False
        handle = arrival.handle
        row = raw_incoming_row(
            message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id, copy_key=arrival.copy_key
        )
        if row is None:
            return False
        self._submit(row, arrival)
        return True

    def record_sent(self, message: Message, handle: BotHandle) -> asyncio.Future[None]:
        row = sent_row(message, bot_id=handle.db_id, bot_telegram_id=handle.telegram_id)
        return self.writer.submit(self._renumbered(row))

    def _already(self, arrival: Arrival) -> bool:
        if arrival.key is None:
            return False
        committed = self.seen.get(arrival.key)
        if committed is None:
            return False
        arrival.commits.add(committed)
        return True

    def _submit(self, row: MessageRow | EditRow, arrival: Arrival) -> None:
        committed = self.writer.submit(self._renumbered(row))
        if arrival.key is not None:
            self.seen.remember(arrival.key, committed)
        arrival.commits.add(committed)
        self.stored += 1

    def _renumbered(self, row: MessageRow | EditRow) -> MessageRow | EditRow:
        if self.aliases:
            current = self.aliases.current(row.chat_id)
            if current != row.chat_id:
                return row._replace(chat_id=current)
        return row


class Ingest:
    def __init__(self, dispatcher: Dispatcher, recorder: Recorder, deps: Any) -> None:
        self.dispatcher = dispatcher
        self.recorder = recorder
        self.deps = deps
        self.updates_received = 0
        self.updates_failed = 0
        self.skipped: dict[str, int] = {}  # update kind -> updates nobody handles
        self.skipped_foreign = 0  # messages of chats outside the roster, skipped unparsed

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
                # Malformed: no key, and aiogram will say what is wrong with it below.
                with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                    key, copy_key = copy_keys.key(handle.telegram_id, kind, message)
                committed = seen.get(key) if key is not None else None
                if committed is not None:
                    self.recorder.skipped_copies += 1
                    batch.copies += 1
                    commits.add(committed)
                    continue
                if self._from_foreign_chat(message):
                    self.skipped_foreign += 1
                    continue
            batch.new += 1
            arrival = Arrival(handle=handle, key=key, copy_key=copy_key, commits=commits)
            await self._dispatch(handle.bot, raw, arrival)
        return batch

    def _from_foreign_chat(self, message: dict[str, Any]) -> bool:
        """A message of a chat already noted as outside the roster: not worth parsing fifty copies of.

        Still parsed when it may change that: a migration message, or a chat bots.yaml now lists.
        """
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if not isinstance(chat_id, int) or chat_id not in self.deps.foreign.noted:
            return False
        migrating = "migrate_from_chat_id" in message or "migrate_to_chat_id" in message
        return not migrating and self.deps.roster_chat(chat_id) is None

    async def _dispatch(self, bot: Bot, raw: dict[str, Any], arrival: Arrival) -> None:
        update_id = raw.get("update_id")
        kind = update_kind(raw)
        if kind is None:
            # Parsing it would only make aiogram warn; say once what it was and move on.
            self._skip(arrival, update_id, "unknown", sorted(key for key in raw if key != "update_id"))
            return
        try:
            update = Update.model_validate(raw, context={"bot": bot})
        except ValidationError as error:
            self._refused(raw, kind, arrival, error)
            return
        try:
            handled = await self.dispatcher.feed_update(bot, update, deps=self.deps, arrival=arrival)
        except Exception as error:  # one bad update must not stop the bot
            self.updates_failed += 1
            log.error(
                "update.failed",
                bot=arrival.handle.name,
                update_id=update_id,
                kind=kind,
                error=f"{type(error).__name__}: {error}",
            )
            return
        if handled is UNHANDLED:
            self._skip(arrival, update_id, kind, None)

    def _refused(self, raw: dict[str, Any], kind: str, arrival: Arrival, error: ValidationError) -> None:
        """aiogram refused the update: store a message anyway if it is one from a roster chat."""
        self.updates_failed += 1
        message = raw.get(kind)
        stored = False
        if kind in ("message", "channel_post") and isinstance(message, dict):
            chat = message.get("chat")
            chat_id = chat.get("id") if isinstance(chat, dict) else None
            if isinstance(chat_id, int) and self.deps.roster_chat(chat_id) is not None:
                stored = self.recorder.record_raw(message, arrival)
        fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in error.errors()})[:5]
        log.error(
            "update.invalid",
            bot=arrival.handle.name,
            update_id=raw.get("update_id"),
            kind=kind,
            fields=fields,
            stored=stored,
        )

    def _skip(self, arrival: Arrival, update_id: Any, kind: str, keys: list[str] | None) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        if keys is None:
            log.info(
                "update.skipped",
                bot=arrival.handle.name,
                update_id=update_id,
                kind=kind,
                reason="no handler for this kind of update",
            )
        else:
            log.warning(
                "update.skipped",
                bot=arrival.handle.name,
                update_id=update_id,
                kind="unknown",
                keys=keys,
                reason="a kind of update this aiogram version does not know",
            )
