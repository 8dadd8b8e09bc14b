"""People first: which bot a person's message is for, and who volunteers otherwise.

Telegram gives entity offsets in UTF-16 code units, so a message with emoji
or astral characters before the mention has offsets that do not match
Python string indices. We slice in UTF-16; when the slice does not name a
bot (a client sent wrong offsets, or no entities at all) we search the text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, find_topics, watchlist_codes
from piyasa_bot.roster import BotConfig


@dataclass(frozen=True)
class BotIdentity:
    """A roster bot as Telegram knows it (from getMe): BotConfig has no username or id."""

    name: str
    username: str  # without "@"
    user_id: int


@dataclass(frozen=True)
class Addressee:
    bot_name: str
    via: Literal["mention", "text_mention", "reply"]


def utf16_slice(text: str, offset: int, length: int) -> str | None:
    """text[offset:offset+length] in UTF-16 code units, or None if out of range or mid-character."""
    data = text.encode("utf-16-le")
    if offset < 0 or length <= 0 or 2 * (offset + length) > len(data):
        return None
    try:
        return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def utf16_to_index(text: str, offset: int) -> int:
    """The Python index of the character at UTF-16 `offset` (clamped to the text)."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def addressees(line: ChatLine, identities: Sequence[BotIdentity]) -> list[Addressee]:
    """Every bot the message is addressed to, in reading order; the reply target last."""
    if not line.is_human:
        return []
    by_username = {identity.username.casefold(): identity for identity in identities}
    by_id = {identity.user_id: identity for identity in identities}
    hits: list[tuple[int, Addressee]] = []
    for entity in line.entities:
        kind, offset, length = _field(entity, "type"), _field(entity, "offset", -1), _field(entity, "length", 0)
        if kind == "text_mention":
            identity = by_id.get(_field(_field(entity, "user"), "id"))
            if identity:
                hits.append((utf16_to_index(line.text, offset), Addressee(identity.name, "text_mention")))
        elif kind == "mention":
            named = utf16_slice(line.text, offset, length)
            identity = by_username.get(named[1:].casefold()) if named and named.startswith("@") else None
            if identity:
                hits.append((utf16_to_index(line.text, offset), Addressee(identity.name, "mention")))
    # Wrong offsets or missing entities: the text itself still says "@username".
    for match in re.finditer(r"(?<![\w@])@(\w{3,32})", line.text):
        identity = by_username.get(match.group(1).casefold())
        if identity:
            hits.append((match.start(), Addressee(identity.name, "mention")))
    found: dict[str, Addressee] = {}
    for _, addressee in sorted(hits, key=lambda hit: hit[0]):
        found.setdefault(addressee.bot_name, addressee)
    if line.reply_to_bot and line.reply_to_bot in {identity.name for identity in identities}:
        found.setdefault(line.reply_to_bot, Addressee(line.reply_to_bot, "reply"))
    return list(found.values())


def classify(line: ChatLine, identities: Sequence[BotIdentity]) -> Addressee | None:
    """The bot a person's message is for: an explicit mention first, else the bot replied to."""
    found = addressees(line, identities)
    return found[0] if found else None


def pick_volunteer(line: ChatLine, bots: Sequence[BotConfig], rng: random.Random) -> str | None:
    """A bot to take a question nobody was asked by name: one whose watchlist it touches.

    Returns None for statements, for messages already addressed to a bot, and
    when no bot in the chat follows what the question is about.
    """
    if not line.is_human or line.reply_to_bot or line.addressed_to or not is_question(line.text):
        return None
    asked = find_symbols(line.text)
    topics = set(find_topics(line.text))
    scored: list[tuple[str, float]] = []
    for bot in bots:
        if line.chat_id not in bot.chats:
            continue
        watched = watchlist_codes(bot.persona.watchlist)
        score = 3.0 * sum(1 for code in asked if code in watched)
        if not asked:
            score += sum(1.0 for code in watched if SYMBOLS[code].topic in topics)
            score += sum(0.5 for topic in bot.persona.stances if topic in topics)
        if score > 0:
            scored.append((bot.name, score))
    if not scored:
        return None
    names, weights = zip(*scored, strict=True)
    return rng.choices(names, weights=weights)[0]


def _field(item: Any, name: str, default: Any = None) -> Any:
    """Entities arrive as dicts (Bot API JSON) or as objects (aiogram models): read either."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)
