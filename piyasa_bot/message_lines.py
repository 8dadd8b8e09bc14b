"""aiogram's Messages, and rows other runners stored, as the conversation's ChatLines.

The pure conversation code never sees aiogram nor the database.

A line is filed under the chat's bots.yaml id (its director's), and a reply to
one of our bots names that bot, which the registry tells from its Telegram id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.types import Message

from piyasa_bot.bots import BotRegistry
from piyasa_bot.conversation import ChatLine
from piyasa_bot.conversation.hours import utc_aware

if TYPE_CHECKING:
    from piyasa_bot.fleet.line_feed import StoredLine


def person_line(message: Message, text: str, chat_id: int, bots: BotRegistry) -> ChatLine:
    """A person's message (`text` is its text or caption)."""
    reply = message.reply_to_message
    return ChatLine(
        chat_id=chat_id,
        message_id=message.message_id,
        text=text,
        at=utc_aware(message.date),
        user_id=message.from_user.id if message.from_user else None,
        reply_to_message_id=reply.message_id if reply else None,
        reply_to_bot=_replied_bot(message, bots),
        entities=tuple(message.entities or message.caption_entities or ()),
    )


def bot_line(message: Message, chat_id: int, author: str, bots: BotRegistry) -> ChatLine:
    """One of our bots' messages, as sendMessage returned it."""
    reply = message.reply_to_message
    return ChatLine(
        chat_id=chat_id,
        message_id=message.message_id,
        text=message.text or "",
        at=utc_aware(message.date),
        author_bot=author,
        reply_to_message_id=reply.message_id if reply else None,
        reply_to_bot=_replied_bot(message, bots),
    )


def stored_line(stored: StoredLine, chat_id: int, bots: BotRegistry) -> ChatLine:
    """A message another runner stored: a person's, or one of our bots' (its author named)."""
    author = bots.by_db_id(stored.bot_id) if stored.bot_id is not None else None
    replied = bots.by_db_id(stored.reply_to_bot_id) if stored.reply_to_bot_id is not None else None
    return ChatLine(
        chat_id=chat_id,
        message_id=stored.message_id,
        text=stored.text,
        at=utc_aware(stored.at),
        author_bot=author.name if author is not None else None,
        user_id=stored.from_user_id if author is None else None,
        reply_to_message_id=stored.reply_to_message_id,
        reply_to_bot=replied.name if replied is not None else None,
    )


def _replied_bot(message: Message, bots: BotRegistry) -> str | None:
    reply = message.reply_to_message
    if reply is None or reply.from_user is None:
        return None
    handle = bots.by_telegram_id(reply.from_user.id)
    return handle.name if handle is not None else None
