"""Reading the room: which recent message a bot could answer, and what is being discussed.

A reply keeps the chat a conversation rather than a row of monologues, but
bots answering bots forever would be a show for nobody: a bot-to-bot chain
stops after MAX_BOT_CHAIN hops, and a bot never answers the bot that just
answered it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.symbols import find_symbols

MAX_BOT_CHAIN = 2
REPLY_WINDOW = timedelta(minutes=10)
TOPIC_WINDOW = timedelta(minutes=20)
_HALF_LIFE_S = 180.0
# Chance to answer the chosen message rather than start a thread of one's own.
_REPLY_CHANCE = {(True, True): 0.9, (True, False): 0.45, (False, True): 0.55, (False, False): 0.25}


def _parent_bot(line: ChatLine, by_id: dict[int, ChatLine]) -> str | None:
    """The bot whose message `line` replies to, from the line itself or from the message it names."""
    if line.reply_to_message_id is None:
        return None
    parent = by_id.get(line.reply_to_message_id)
    return parent.author_bot if parent is not None else line.reply_to_bot


def bot_chain_length(line: ChatLine, by_id: dict[int, ChatLine]) -> int:
    """How many bot-to-bot reply hops end at `line` (0 for a person or a fresh bot message)."""
    hops, current, seen = 0, line, set()
    while current.author_bot and _parent_bot(current, by_id) and current.message_id not in seen:
        seen.add(current.message_id)
        hops += 1
        parent = by_id.get(current.reply_to_message_id) if current.reply_to_message_id is not None else None
        if parent is None:
            break
        current = parent
    return hops


def reply_candidates(bot_name: str, lines: Sequence[ChatLine], now: datetime) -> list[ChatLine]:
    """Recent messages `bot_name` may answer, oldest first."""
    by_id = {line.message_id: line for line in lines}
    answered = {line.reply_to_message_id for line in lines if line.author_bot and line.reply_to_message_id is not None}
    found = []
    for line in lines:
        if not (now - REPLY_WINDOW <= line.at <= now) or line.author_bot == bot_name:
            continue
        if line.message_id in answered or not line.text.strip():
            continue
        if line.is_human:
            # A message addressed to a bot is that bot's to answer, through the answer path.
            if line.addressed_to or _parent_bot(line, by_id):
                continue
        elif _parent_bot(line, by_id) == bot_name or bot_chain_length(line, by_id) >= MAX_BOT_CHAIN:
            continue
        found.append(line)
    return found


def pick_reply_target(bot_name: str, lines: Sequence[ChatLine], now: datetime, rng: random.Random) -> ChatLine | None:
    """A recent message to answer, or None to start something new.

    People outweigh bots, questions outweigh statements, newer outweighs older.
    """
    candidates = reply_candidates(bot_name, lines, now)
    if not candidates:
        return None
    asks = [is_question(line.text) for line in candidates]
    weights = []
    for line, asking in zip(candidates, asks, strict=True):
        weight = (3.0 if line.is_human else 1.0) * (2.5 if asking else 1.0)
        age = (now - line.at).total_seconds()
        weights.append(weight * 0.5 ** (age / _HALF_LIFE_S))
    index = rng.choices(range(len(candidates)), weights=weights)[0]
    chosen = candidates[index]
    return chosen if rng.random() < _REPLY_CHANCE[(chosen.is_human, asks[index])] else None


def recent_symbols(lines: Sequence[ChatLine], now: datetime) -> list[str]:
    """Symbols the chat talked about lately, most recent first."""
    found: list[str] = []
    for line in reversed(lines):
        if now - TOPIC_WINDOW <= line.at <= now:
            found.extend(code for code in find_symbols(line.text) if code not in found)
    return found
