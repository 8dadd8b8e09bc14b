"""Messages as rows of `messages`."""

from __future__ import annotations

from aiogram.types import Message

from piyasa_bot.db.queries import MessageRow


def id_scope(chat_type: str, bot_telegram_id: int) -> int:
    # Basic groups number messages per bot; supergroups and channels per chat.
    return bot_telegram_id if chat_type == "group" else 0


def incoming_row(message: Message, *, bot_id: int, bot_telegram_id: int, copy_key: str | None) -> MessageRow:
    reply = message.reply_to_message
    sender = message.from_user or message.sender_chat
    return MessageRow(
        chat_id=message.chat.id,
        id_scope=id_scope(message.chat.type, bot_telegram_id),
        telegram_message_id=message.message_id,
        bot_id=None,
        from_user_id=sender.id if sender else None,
        text=message.text if message.text is not None else message.caption,
        reply_to_message_id=reply.message_id if reply else None,
        is_incoming=True,
        kind=str(message.content_type),
        copy_key=copy_key,
        received_by=bot_id,
        sent_at=message.date,
    )


def sent_row(message: Message, *, bot_id: int, bot_telegram_id: int) -> MessageRow:
    reply = message.reply_to_message
    return MessageRow(
        chat_id=message.chat.id,
        id_scope=id_scope(message.chat.type, bot_telegram_id),
        telegram_message_id=message.message_id,
        bot_id=bot_id,
        from_user_id=bot_telegram_id,
        text=message.text,
        reply_to_message_id=reply.message_id if reply else None,
        is_incoming=False,
        kind=str(message.content_type),
        copy_key=None,
        received_by=None,
        sent_at=message.date,
    )
