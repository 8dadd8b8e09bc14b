"""Telegram Message dicts, mention entities and privacy-mode visibility."""

from __future__ import annotations

import re
from typing import Any

from .models import SandboxBot

_MENTION = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?:\s|$)")


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def mention_entities(text: str) -> list[dict[str, Any]]:
    """The "mention" entities Telegram would attach to @usernames in `text`."""
    if "@" not in text:
        return []
    return [
        {"type": "mention", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        for m in _MENTION.finditer(text)
    ]


def _utf16_slice(text: str, offset: int, length: int) -> str:
    if text.isascii():
        return text[offset : offset + length]
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def addressees(text: str, entities: list[dict[str, Any]] | None) -> tuple[set[str], set[int]]:
    """Lower-case usernames mentioned (text or entities) and user ids text-mentioned."""
    usernames = {m.group(1).lower() for m in _MENTION.finditer(text)} if "@" in text else set()
    user_ids: set[int] = set()
    for entity in entities or ():
        kind = entity.get("type")
        if kind == "mention":
            usernames.add(_utf16_slice(text, entity["offset"], entity["length"]).lstrip("@").lower())
        elif kind == "text_mention" and isinstance(entity.get("user"), dict):
            user_ids.add(int(entity["user"]["id"]))
    return usernames, user_ids


class Audience:
    """Decides, once per message, which privacy-on bots may see it."""

    __slots__ = ("_command_for", "_is_command", "_replied_bot", "_user_ids", "_usernames")

    def __init__(self, text: str, entities: list[dict[str, Any]] | None, replied_bot: str | None):
        self._usernames, self._user_ids = addressees(text, entities)
        command = _COMMAND.match(text)
        self._is_command = command is not None
        self._command_for = command.group(2).lower() if command and command.group(2) else None
        self._replied_bot = replied_bot  # name of the bot that wrote the replied message

    def sees(self, bot: SandboxBot) -> bool:
        if not bot.privacy:
            return True
        username = bot.username.lower()
        if self._is_command:
            # "/cmd@other_bot" is for that bot only; a bare "/cmd" is for everyone.
            return self._command_for is None or self._command_for == username
        return username in self._usernames or bot.id in self._user_ids or self._replied_bot == bot.name


def user_dict(user_id: int, first_name: str, username: str | None = None, is_bot: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        user["username"] = username
    return user


def bot_user_dict(bot: SandboxBot) -> dict[str, Any]:
    return user_dict(bot.id, bot.name, bot.username, is_bot=True)


def message_dict(
    message_id: int,
    sender: dict[str, Any],
    chat: dict[str, Any],
    date: int,
    text: str,
    entities: list[dict[str, Any]] | None,
    reply_to: dict[str, Any] | None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "from": sender, "chat": chat, "date": date, "text": text}
    if entities:
        message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


def as_reply_target(message: dict[str, Any], message_id: int) -> dict[str, Any]:
    """The replied message as embedded in a reply: Telegram nests only one level."""
    target = dict(message, message_id=message_id)
    target.pop("reply_to_message", None)
    return target
