"""aiogram's Messages as the conversation's ChatLines (the pure conversation code never sees aiogram).

A line is filed under the chat's bots.yaml id (its director's), and a reply to
one of our bots names that bot, which the registry tells from its Telegram id.
"""

from __future__ import annotations

from aiogram.types import Message

from piyasa_bot.bots import BotRegistry
from piyasa_bot.conversation import ChatLine
from piyasa_bot.conversation.hours import utc_aware


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


def _replied_bot(message: Message, bots: BotRegistry) -> str | None:
    reply = message.reply_to_message
    if reply is None or reply.from_user is None:
        return None
    handle = bots.by_telegram_id(reply.from_user.id)
    return handle.name if handle is not None else None
