"""Messages as rows of `messages` (and their edits as rows of `message_edits`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram.types import Message

from piyasa_bot.chat_kinds import id_scope
from piyasa_bot.db.queries import EditRow, MessageRow

# What a message that aiogram could not parse is stored as (see raw_incoming_row).
UNPARSED_KIND = "unparsed"


def content_kind(message: Message) -> str:
    """ "text", "photo", "sticker", "new_chat_members", ... (aiogram's ContentType, as a plain string)."""
    kind = message.content_type
    return str(getattr(kind, "value", kind))


def clean_text(text: str | None) -> str | None:
    """Text PostgreSQL can hold: no NUL character, no lone UTF-16 surrogate (hostile JSON can carry both)."""
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _sender_id(message: Message) -> int | None:
    sender = message.from_user or message.sender_chat
    return sender.id if sender else None


def _body(message: Message) -> str | None:
    return clean_text(message.text if message.text is not None else message.caption)


def incoming_row(message: Message, *, bot_id: int, bot_telegram_id: int, copy_key: str | None) -> MessageRow:
    reply = message.reply_to_message
    return MessageRow(
        chat_id=message.chat.id,
        id_scope=id_scope(message.chat.type, bot_telegram_id),
        telegram_message_id=message.message_id,
        bot_id=None,
        from_user_id=_sender_id(message),
        text=_body(message),
        reply_to_message_id=reply.message_id if reply else None,
        is_incoming=True,
        kind=content_kind(message),
        copy_key=copy_key,
        received_by=bot_id,
        sent_at=message.date,
    )


def edit_row(message: Message, *, bot_id: int, bot_telegram_id: int, copy_key: str | None) -> EditRow:
    return EditRow(
        chat_id=message.chat.id,
        id_scope=id_scope(message.chat.type, bot_telegram_id),
        telegram_message_id=message.message_id,
        from_user_id=_sender_id(message),
        text=_body(message),
        kind=content_kind(message),
        copy_key=copy_key,
        received_by=bot_id,
        # edit_date (unix seconds) is always set on an edit; without one the edit still keeps a place in time.
        edited_at=datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else message.date,
    )


def raw_incoming_row(
    message: dict[str, Any], *, bot_id: int, bot_telegram_id: int, copy_key: str | None
) -> MessageRow | None:
    """A row from the raw dict of a message aiogram refused (a malformed field somewhere).

    The message was delivered, so it is stored if its identity is sound:
    an integer id, a chat with an integer id, a date. None otherwise.
    """
    chat = message.get("chat")
    message_id, date = message.get("message_id"), message.get("date")
    if not (
        isinstance(chat, dict)
        and isinstance(chat.get("id"), int)
        and isinstance(message_id, int)
        and isinstance(date, int)
    ):
        return None
    sender = message.get("from") or message.get("sender_chat")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    reply = message.get("reply_to_message")
    reply_id = reply.get("message_id") if isinstance(reply, dict) else None
    text = message.get("text", message.get("caption"))
    try:
        sent_at = datetime.fromtimestamp(date, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return MessageRow(
        chat_id=chat["id"],
        id_scope=id_scope(str(chat.get("type")), bot_telegram_id),
        telegram_message_id=message_id,
        bot_id=None,
        from_user_id=sender_id if isinstance(sender_id, int) else None,
        text=clean_text(text) if isinstance(text, str) else None,
        reply_to_message_id=reply_id if isinstance(reply_id, int) else None,
        is_incoming=True,
        kind=UNPARSED_KIND,
        copy_key=copy_key,
        received_by=bot_id,
        sent_at=sent_at,
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
        kind=content_kind(message),
        copy_key=None,
        received_by=None,
        sent_at=message.date,
    )
