"""Reading the room: reply targets, bot chains, no ping-pong."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from piyasa_bot.conversation.context import bot_chain_length, pick_reply_target, recent_symbols, reply_candidates
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine

CHAT = -1001
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)


def line(
    mid: int,
    text: str,
    *,
    bot: str | None = None,
    to: int | None = None,
    to_bot: str | None = None,
    ago: float = 60,
    **extra,
) -> ChatLine:
    return ChatLine(
        CHAT,
        mid,
        text,
        NOW - timedelta(seconds=ago),
        author_bot=bot,
        user_id=None if bot else 100 + mid,
        reply_to_message_id=to,
        reply_to_bot=to_bot,
        **extra,
    )


def test_bot_chain_length_counts_bot_to_bot_hops() -> None:
    lines = [
        line(1, "BIST güzel", bot="ali"),
        line(2, "katılıyorum", bot="bora", to=1, to_bot="ali"),
        line(3, "bence de", bot="cem", to=2, to_bot="bora"),
        line(4, "sizce?", to=3, to_bot="cem"),
    ]
    by_id = {item.message_id: item for item in lines}
    assert [bot_chain_length(item, by_id) for item in lines] == [0, 1, 2, 0]


def test_a_chain_of_two_bot_hops_gets_no_third() -> None:
    lines = [
        line(1, "BIST güzel", bot="ali", ago=120),
        line(2, "katılıyorum", bot="bora", to=1, to_bot="ali", ago=90),
        line(3, "bence de", bot="cem", to=2, to_bot="bora", ago=60),
    ]
    assert reply_candidates("deniz", lines, NOW) == []


def test_a_bot_never_answers_the_bot_that_just_answered_it() -> None:
    lines = [line(1, "dolar sakin", bot="ali", ago=120), line(2, "pek katılmıyorum", bot="bora", to=1, to_bot="ali")]
    assert reply_candidates("ali", lines, NOW) == []
    assert [item.message_id for item in reply_candidates("cem", lines, NOW)] == [2]


def test_own_answered_old_and_addressed_messages_are_not_candidates() -> None:
    lines = [
        line(1, "eski mesaj", ago=3600),
        line(2, "benim mesajım", bot="ali"),
        line(3, "altın ne olur?", ago=50),
        line(4, "cevap", bot="bora", to=3),
        line(5, "@ali BTC?", addressed_to="ali"),
        line(6, "dolar kaç?", to=2, to_bot="ali"),
    ]
    assert [item.message_id for item in reply_candidates("ali", lines, NOW)] == [4]
    assert [item.message_id for item in reply_candidates("cem", lines, NOW)] == [2, 4]


def test_people_and_questions_are_preferred() -> None:
    lines = [
        line(1, "BIST bugün iyi", bot="ali", ago=30),
        line(2, "piyasa sakin", ago=30),
        line(3, "dolar ne olur?", ago=30),
        line(4, "altın nasıl sizce?", bot="bora", ago=30),
    ]
    picks = Counter()
    rng = random.Random(1)
    for _ in range(2000):
        chosen = pick_reply_target("cem", lines, NOW, rng)
        picks[chosen.message_id if chosen else None] += 1
    assert picks[3] > picks[2] > picks[1]
    assert picks[3] > picks[4] > picks[1]
    assert picks[None] > 0  # sometimes a bot starts its own thread


def test_recent_symbols_are_most_recent_first() -> None:
    lines = [
        line(1, "altın güzel", ago=600),
        line(2, "BTC 100 bin", ago=300),
        line(3, "dolar da sakin", ago=60),
        line(4, "BIST", ago=7200),
    ]
    assert recent_symbols(lines, NOW) == ["USDTRY", "BTC", "GRAM"]
