"""Chats that bots.yaml does not list: recorded once, never stored, and left.

A bot added to such a group (my_chat_member) records the chat
(`chats.allowed = false`) and leaves it. Messages heard from such a chat are
neither stored nor answered; the chat is recorded and logged once per run, but
a message alone does not make a bot leave: a supergroup that Telegram has just
made out of a roster group looks foreign until its migration message arrives,
and a bot that left cannot come back by itself. For the same reason a bot
added to a foreign supergroup waits `leave_grace` seconds for such a migration
before it leaves (Telegram announces the bot in the new supergroup, and the
order of that update and the migration messages is not documented).

What it remembers is bounded: the NOTED_KEPT chats noted most recently (a
chat forgotten is noted, once, again when heard from) and the LEFT_KEPT
latest leaves.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import structlog
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat

from piyasa_bot.db import queries
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.ingest.aliases import ChatAliases

if TYPE_CHECKING:
    from piyasa_bot.bots import BotHandle

log = structlog.get_logger(__name__)

LEAVE_GRACE_SECONDS = 15.0
LEFT_REASON = "not in bots.yaml: the bot left"
NOTED_KEPT = 10_000  # ~1 MB at most; one more log line and upsert for a chat forgotten
LEFT_KEPT = 1_000


class RecentSet:
    """A set that keeps only its `limit` most recently added members."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._members: dict[int, None] = {}  # insertion order: oldest first

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[int]:
        return iter(self._members)

    def add(self, member: int) -> None:
        self._members.pop(member, None)
        self._members[member] = None
        while len(self._members) > self.limit:
            del self._members[next(iter(self._members))]

    def discard(self, member: int) -> None:
        self._members.pop(member, None)


class ForeignChats:
    def __init__(
        self, leave_grace: float = LEAVE_GRACE_SECONDS, *, noted_kept: int = NOTED_KEPT, left_kept: int = LEFT_KEPT
    ) -> None:
        self.leave_grace = leave_grace
        # (bot, chat id) of the latest leaveChats that succeeded
        self.left: deque[tuple[str, int]] = deque(maxlen=left_kept)
        # chats recorded (and logged) this run, the most recent ones; Ingest skips their messages
        self.noted = RecentSet(noted_kept)
        self._leaving: dict[tuple[str, int], asyncio.Task[None]] = {}

    async def note(self, chat: Chat, pool: Any, *, bot: str) -> None:
        """Record and log a chat outside the roster, once per run."""
        if chat.id in self.noted:
            return
        self.noted.add(chat.id)
        if chat.type == "private":
            # A person wrote to a bot directly: not a chat the bots could join or be listed for.
            log.info("chat.private_ignored", user_id=chat.id, bot=bot, action="not stored, not answered")
            return
        log.warning(
            "chat.not_in_roster",
            chat_id=chat.id,
            title=chat.title,
            type=chat.type,
            bot=bot,
            action="not stored, not answered; list it in bots.yaml to use it",
        )
        try:
            await queries.record_foreign_chat(pool, chat.id, chat.title or "", chat.type)
        except DATABASE_ERRORS as error:
            self.noted.discard(chat.id)  # try again with the next message
            log.warning("db.foreign_chat_not_saved", chat_id=chat.id, error=type(error).__name__)

    async def leave(self, handle: BotHandle, chat: Chat, pool: Any, aliases: ChatAliases) -> None:
        """Leave a chat outside the roster: at once, or after the grace for a supergroup."""
        if chat.type != "supergroup" or self.leave_grace <= 0:
            await self._leave_now(handle, chat, pool)
            return
        key = (handle.name, chat.id)
        if key in self._leaving:
            return
        task = asyncio.create_task(
            self._leave_later(handle, chat, pool, aliases), name=f"leave:{handle.name}:{chat.id}"
        )
        self._leaving[key] = task
        task.add_done_callback(lambda _: self._leaving.pop(key, None))

    async def settle(self) -> None:
        """Wait for every leave still in its grace period (tests)."""
        while self._leaving:
            await asyncio.gather(*self._leaving.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop waiting to leave (the runner stops); those chats are left when seen again."""
        tasks = list(self._leaving.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _leave_later(self, handle: BotHandle, chat: Chat, pool: Any, aliases: ChatAliases) -> None:
        if await aliases.wait_for(chat.id, self.leave_grace):
            log.info(
                "chat.leave_cancelled",
                bot=handle.name,
                chat_id=chat.id,
                reason="it is the supergroup a roster group was upgraded to",
            )
            return
        await self._leave_now(handle, chat, pool)

    async def _leave_now(self, handle: BotHandle, chat: Chat, pool: Any) -> None:
        try:
            await handle.bot.leave_chat(chat.id)
        except (TelegramAPIError, OSError, TimeoutError) as error:
            log.warning("chat.leave_failed", bot=handle.name, chat_id=chat.id, error=f"{type(error).__name__}: {error}")
            return
        self.left.append((handle.name, chat.id))
        log.warning("chat.left", bot=handle.name, chat_id=chat.id, title=chat.title, reason="not in bots.yaml")
        try:
            await queries.set_bot_chat_active(pool, handle.db_id, chat.id, False, LEFT_REASON)
        except DATABASE_ERRORS as error:
            log.warning("db.bot_chat_not_saved", bot=handle.name, chat_id=chat.id, error=type(error).__name__)
