"""sendMessage as Telegram answers it: validation, the reply target, the per-bot limits, the stored copy."""

from __future__ import annotations

import time
from typing import Any

from .chats import ChatState, StoredMessage
from .journal import Journal
from .limits import LimitBook
from .messages import as_reply_target, bot_user_dict, mention_entities, message_dict
from .models import SandboxBot, SentMessage, bad_request, too_many_requests

MAX_TEXT_LENGTH = 4096


def send_message(
    chat: ChatState, bot: SandboxBot, params: dict[str, Any], limits: LimitBook, journal: Journal
) -> dict[str, Any]:
    """Post `params["text"]` as `bot` (already known to be a member of `chat`); the Message it gets back."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    name = bot.name
    replied = replied_message(chat, name, params)
    now = time.monotonic()
    refusal = limits.refusal(name, chat.id, now)
    if refusal is not None:
        kind, retry_after = refusal
        limits.count_refusal(kind)
        journal.rate_limited["enforced"] += 1
        raise too_many_requests(retry_after)
    limits.accept(name, chat.id, now)
    chat_message_id = chat.next_message_id()
    message = message_dict(
        chat_message_id,
        bot_user_dict(bot),
        chat.as_dict,
        int(time.time()),
        text,
        mention_entities(text),
        as_reply_target(replied.message, replied.chat_message_id) if replied else None,
    )
    # A reply lands in the topic of the message it replies to, as in Telegram.
    thread_id = replied.message.get("message_thread_id") if replied else params.get("message_thread_id")
    if thread_id is not None:
        message.update(message_thread_id=int(thread_id), is_topic_message=True)
    chat.store(StoredMessage(chat_message_id, name, message))
    own_copy = chat.copy_for_bot(name, message, replied)
    sent = SentMessage(
        name,
        chat.id,
        own_copy["message_id"],
        text,
        own_copy["reply_to_message"]["message_id"] if replied else None,
        time.time(),
        chat_message_id,
        message.get("message_thread_id"),
    )
    journal.sent.append(sent)
    chat.recent_sent.append(sent)
    return own_copy


def replied_message(chat: ChatState, bot_name: str, params: dict[str, Any]) -> StoredMessage | None:
    """The message a send replies to (reply_parameters or reply_to_message_id, in the bot's numbering)."""
    reply = params.get("reply_parameters")
    reply = reply if isinstance(reply, dict) else {}
    raw_id = reply.get("message_id", params.get("reply_to_message_id"))
    if raw_id in (None, ""):
        return None
    try:
        replied = chat.find(chat.id_from_bot(bot_name, int(raw_id)))
    except (TypeError, ValueError):
        replied = None
    allow_missing = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
    if replied is None and allow_missing not in (True, "true", "True", "1"):
        raise bad_request("message to be replied not found")
    return replied
