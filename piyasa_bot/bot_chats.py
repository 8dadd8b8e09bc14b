"""Whether a bot is in a roster chat: its `bot_chats` row and its place in the conversation, together.

Two things tell that a bot was taken out of a chat: Telegram's my_chat_member
update (handlers/membership) and a 403 answer to a send (the outbox). Both
end here, so either way the pair is marked inactive with the reason, the
chat's director stops choosing the bot, and one log line says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import structlog

from piyasa_bot.bots import BotRegistry
from piyasa_bot.db import queries
from piyasa_bot.db.retry import retrying

log = structlog.get_logger(__name__)

RemovalListener = Callable[[str, int], None]  # (bot name, chat id as Telegram gave it)


class BotChats:
    def __init__(self, pool: asyncpg.Pool, bots: BotRegistry) -> None:
        self._pool = pool
        self._bots = bots
        self._listeners: list[RemovalListener] = []
        self._writes: set[asyncio.Task[None]] = set()

    def on_removed(self, listener: RemovalListener) -> None:
        """Call `listener(bot, chat_id)` whenever a bot is taken out of a chat (the chat rooms do)."""
        self._listeners.append(listener)

    async def removed(self, bot: str, chat_id: int, reason: str) -> None:
        """The bot can no longer post in this chat (removed, banned, or 403 on a send)."""
        log.warning("bot.removed_from_chat", bot=bot, chat_id=chat_id, reason=reason)
        for listener in self._listeners:
            listener(bot, chat_id)
        handle = self._bots.get(bot)
        if handle is not None:
            await retrying(lambda: queries.set_bot_chat_active(self._pool, handle.db_id, chat_id, False, reason))

    def removed_soon(self, bot: str, chat_id: int, reason: str) -> None:
        """`removed`, from a caller that cannot wait (the outbox's callback)."""
        task = asyncio.create_task(self.removed(bot, chat_id, reason), name=f"removed:{bot}:{chat_id}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def added(self, bot: str, chat_id: int, detail: str) -> None:
        """The bot is (back) in the chat; the conversation takes it back at the next start."""
        handle = self._bots.get(bot)
        if handle is not None:
            await retrying(lambda: queries.set_bot_chat_active(self._pool, handle.db_id, chat_id, True, None))
        log.info("bot.added_to_chat", bot=bot, chat_id=chat_id, detail=detail)

    async def close(self) -> None:
        """Wait for the removals still being written (the caller bounds how long)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
