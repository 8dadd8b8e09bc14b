"""A basic group upgraded to a supergroup: the same chat from now on, under a new id.

Telegram posts a service message in the old group (`migrate_to_chat_id`) and
one in the new supergroup (`migrate_from_chat_id`); either one is enough, and
both (and every bot's copy) are harmless. From the first one on, the aliases
make the new id count as the roster chat, rows are stored under it, and the
history and settings move over in one transaction.

An outer middleware, placed before the recording one: the supergroup's
message must find its chat already known as the roster chat, or it would be
taken for a message of a foreign chat and not stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from piyasa_bot.db import queries
from piyasa_bot.db.retry import retrying
from piyasa_bot.deps import Deps

log = structlog.get_logger(__name__)


def migration_of(message: Message) -> tuple[int, int] | None:
    """(old id, new id) if this is a migration service message."""
    if message.migrate_to_chat_id:
        return message.chat.id, message.migrate_to_chat_id
    if message.migrate_from_chat_id:
        return message.migrate_from_chat_id, message.chat.id
    return None


class FollowMigration(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Message)
        migration = migration_of(event)
        if migration is not None:
            await follow_migration(*migration, data["deps"])
        return await handler(event, data)


async def follow_migration(old: int, new: int, deps: Deps) -> None:
    chat = deps.roster_chat(old) or deps.roster_chat(new)
    if chat is None:
        log.info("chat.migrated_outside_roster", old_chat_id=old, new_chat_id=new)
        return
    if not deps.aliases.add(old, new):
        return  # the other service message, or another bot's copy, got here first
    # Rows handed over before this point still carry the old id: let them land, then move them.
    await deps.recorder.writer.flush()
    moved = await retrying(lambda: _move(deps, old, new))
    index = next(i for i, listed in enumerate(deps.roster.chats) if listed.id == chat.id)
    log.warning(
        "chat.migrated",
        old_chat_id=old,
        new_chat_id=new,
        title=chat.title,
        messages_moved=moved.messages,
        pending_sends_moved=moved.pending_sends,
        action=f"update bots.yaml: chats[{index}].id and every bot's chats list, {old} -> {new}",
    )


async def _move(deps: Deps, old: int, new: int) -> queries.ChatMove:
    async with deps.pool.acquire() as conn:
        return await queries.migrate_chat(conn, old, new)
