"""A message for a group that became a supergroup goes to the supergroup.

Telegram answers a send into the old group with the new id. The message is
moved there, durably, without its reply target: the supergroup numbers its
messages afresh, so the old id would name another message or none.
(Rows already queued for the old id are moved by `queries.migrate_chat`
when the service message arrives; this handles the send that learns first.)
"""

from __future__ import annotations

import structlog

from piyasa_bot.sending.outgoing import Outgoing
from piyasa_bot.sending.store import OutboxStore

log = structlog.get_logger(__name__)


async def follow_migration(item: Outgoing, new_chat_id: int, store: OutboxStore) -> None:
    log.info("send.chat_migrated", bot=item.bot, chat_id=item.chat_id, to=new_chat_id, outbox_id=item.id)
    item.chat_id, item.reply_to = new_chat_id, None
    await store.move(item)
