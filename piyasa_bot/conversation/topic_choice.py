"""Which symbol a bot's message is about: its watchlist, what the chat is on, the thread it answers.

Pure and seeded: the caller's rng decides among the weighted candidates, and
topics are visited in a fixed order so a seeded run repeats itself whatever
Python's hash seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from piyasa_bot.conversation.context import recent_symbols
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, find_topics, symbols_for_topic, watchlist_codes
from piyasa_bot.roster import BotConfig, ChatConfig, Topic

THREAD_HOPS = 4  # how far up a reply chain a thread's symbol is looked for


def chat_topics(chat: ChatConfig) -> tuple[Topic, ...]:
    """The chat's topics (all of them when it names none), in a fixed order."""
    return tuple(dict.fromkeys(chat.topics or [s.topic for s in SYMBOLS.values()]))


def main_symbols(topic: Topic) -> list[str]:
    """A topic's headline symbols (not single stocks)."""
    return [code for code in symbols_for_topic(topic) if not SYMBOLS[code].beta]


def choose_symbol(
    bot: BotConfig, chat: ChatConfig, context: Sequence[ChatLine], now: datetime, rng: random.Random
) -> str:
    """The bot's own pick: its watchlist first, then what the chat talks about, then the chat's topics."""
    allowed = chat_topics(chat)
    weights: dict[str, float] = {}

    def add(code: str, weight: float) -> None:
        if SYMBOLS[code].topic in allowed:
            weights[code] = weights.get(code, 0.0) + weight

    for code in watchlist_codes(bot.persona.watchlist):
        add(code, 3.0)
    for code in recent_symbols(context, now)[:3]:
        add(code, 2.0)  # stay on what the chat is talking about
    for topic in allowed:
        for code in main_symbols(topic):
            add(code, 1.0 if topic in bot.persona.stances else 0.3)
    codes = list(weights)
    return rng.choices(codes, weights=[weights[c] for c in codes])[0]


def thread_symbol(line: ChatLine, context: Sequence[ChatLine]) -> str | None:
    """The symbol of the message `line` replied to, up the thread (at most THREAD_HOPS)."""
    by_id = {earlier.message_id: earlier for earlier in context}
    current = line
    for _ in range(THREAD_HOPS):
        parent = by_id.get(current.reply_to_message_id) if current.reply_to_message_id is not None else None
        if parent is None:
            return None
        named = find_symbols(parent.text)
        if named:
            return named[0]
        current = parent
    return None


def symbol_from_thread(
    bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime, rng: random.Random
) -> str:
    """No symbol in the message: its topic, else the thread it is in, else the bot's own pick."""
    watched = watchlist_codes(bot.persona.watchlist)
    for topic in find_topics(to.text):
        mine = [code for code in watched if SYMBOLS[code].topic == topic]
        return mine[0] if mine else main_symbols(topic)[0]
    return thread_symbol(to, context) or choose_symbol(bot, chat, context, now, rng)


def other_symbol(bot: BotConfig, chat: ChatConfig, symbol: str, rng: random.Random) -> str | None:
    """A second symbol for an aside: the watchlist's, else a headline one of the chat's topics."""
    allowed = chat_topics(chat)
    pool = [c for c in watchlist_codes(bot.persona.watchlist) if c != symbol and SYMBOLS[c].topic in allowed]
    pool = pool or [c for t in allowed for c in main_symbols(t) if c != symbol]
    return rng.choice(pool) if pool else None
