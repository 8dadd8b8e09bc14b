"""People first: who a person's message is for, and who volunteers otherwise."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

import pytest

from piyasa_bot.conversation.addressee import (
    Addressee,
    BotIdentity,
    addressees,
    classify,
    pick_volunteer,
    utf16_slice,
    utf16_to_index,
)
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.roster import BotConfig, Persona

CHAT = -1001
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)
IDS = [BotIdentity("ayse", "Ayse_Piyasa_Bot", 111), BotIdentity("mert", "mertkripto_bot", 222)]


def human(text: str, entities=(), **extra) -> ChatLine:
    return ChatLine(CHAT, 10, text, NOW, user_id=5, entities=tuple(entities), **extra)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mention(text: str, handle: str) -> dict:
    start = text.index(handle)
    return {"type": "mention", "offset": utf16_len(text[:start]), "length": utf16_len(handle)}


def test_mention_is_case_insensitive() -> None:
    text = "@ayse_piyasa_bot BIST ne olur?"
    assert classify(human(text, [mention(text, "@ayse_piyasa_bot")]), IDS) == Addressee("ayse", "mention")


def test_text_mention_uses_the_user_id() -> None:
    text = "Ayşe hanım dolar ne olur?"
    entity = {"type": "text_mention", "offset": 0, "length": 10, "user": {"id": 111, "is_bot": True}}
    assert classify(human(text, [entity]), IDS) == Addressee("ayse", "text_mention")


def test_reply_to_a_bot_message() -> None:
    assert classify(human("katılmıyorum", reply_to_message_id=3, reply_to_bot="mert"), IDS) == Addressee(
        "mert", "reply"
    )


def test_mention_beats_reply_and_the_first_mention_wins() -> None:
    text = "@mertkripto_bot ve @Ayse_Piyasa_Bot ne diyorsunuz?"
    line = human(
        text,
        [mention(text, "@mertkripto_bot"), mention(text, "@Ayse_Piyasa_Bot")],
        reply_to_message_id=3,
        reply_to_bot="ayse",
    )
    assert classify(line, IDS) == Addressee("mert", "mention")
    assert [a.bot_name for a in addressees(line, IDS)] == ["mert", "ayse"]


def test_emoji_before_the_mention_is_counted_in_utf16_units() -> None:
    text = "🚀🚀 📈 @mertkripto_bot BTC?"
    entity = mention(text, "@mertkripto_bot")
    assert entity["offset"] == 8 != text.index("@")  # surrogate pairs: 2 units per emoji
    assert utf16_slice(text, entity["offset"], entity["length"]) == "@mertkripto_bot"
    assert text[utf16_to_index(text, entity["offset"])] == "@"
    assert classify(human(text, [entity]), IDS) == Addressee("mert", "mention")


@pytest.mark.parametrize("offset,length", [(0, 5), (3, 40), (-1, 4), (1, 1), (200, 10)])
def test_wrong_offsets_fall_back_to_the_text(offset: int, length: int) -> None:
    text = "🚀 selam @mertkripto_bot bitcoin?"
    assert classify(human(text, [{"type": "mention", "offset": offset, "length": length}]), IDS) == Addressee(
        "mert", "mention"
    )


def test_mention_without_entities_and_in_rtl_text() -> None:
    assert classify(human("مرحبا @AYSE_PIYASA_BOT ما رأيك بالذهب؟"), IDS) == Addressee("ayse", "mention")
    text = "שלום @mertkripto_bot 👋🏽"
    assert classify(human(text, [mention(text, "@mertkripto_bot")]), IDS) == Addressee("mert", "mention")


def test_no_addressee() -> None:
    assert classify(human("@başkası_bot ne dersin? email ayse@Ayse_Piyasa_Bot"), IDS) is None
    assert classify(human("@Ayse_Piyasa_Botx dolar?"), IDS) is None
    assert classify(ChatLine(CHAT, 1, "@mertkripto_bot", NOW, author_bot="ayse"), IDS) is None
    assert classify(human("merhaba", reply_to_message_id=4, reply_to_bot=None), IDS) is None


def test_entities_may_be_objects() -> None:
    class Entity:
        type, offset, length, user = "text_mention", 0, 4, type("U", (), {"id": 222})()

    assert classify(human("Mert nasıl?", [Entity()]), IDS) == Addressee("mert", "text_mention")


@pytest.mark.parametrize(
    "text",
    [
        "BTC ne olur?",
        "dolar yükselir mi",
        "ALTIN NASIL",
        "borsa neden düştü",
        "kaç olur sizce",
        "THYAO alınır mı",
        "euro ne durumda",
    ],
)
def test_questions(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize("text", ["BIST bugün güzel", "dolar sakin", "iyi akşamlar", "kimi zaman böyle"])
def test_statements(text: str) -> None:
    assert not is_question(text)


def persona_bot(name: str, watchlist: list[str], chats: Sequence[int] = (CHAT,), **persona) -> BotConfig:
    return BotConfig(name=name, token="t", chats=list(chats), persona=Persona(watchlist=watchlist, **persona))


BOTS = [
    persona_bot("borsaci", ["XU100", "THYAO"]),
    persona_bot("kriptocu", ["BTC", "ETH"]),
    persona_bot("altinci", ["GRAM", "ONS"]),
    persona_bot("yabanci", ["BTC"], chats=[-999]),
]


def test_volunteer_follows_the_watchlist() -> None:
    rng = random.Random(1)
    assert {pick_volunteer(human("BTC ne olur?"), BOTS, rng) for _ in range(50)} == {"kriptocu"}
    assert {pick_volunteer(human("altın nasıl sizce"), BOTS, rng) for _ in range(50)} == {"altinci"}
    assert {pick_volunteer(human("kripto piyasası ne olacak?"), BOTS, rng) for _ in range(50)} == {"kriptocu"}


def test_no_volunteer_for_statements_addressed_or_unwatched_questions() -> None:
    rng = random.Random(2)
    assert pick_volunteer(human("BTC güzel gidiyor"), BOTS, rng) is None
    assert pick_volunteer(human("BTC ne olur?", reply_to_message_id=3, reply_to_bot="borsaci"), BOTS, rng) is None
    assert pick_volunteer(human("BTC ne olur?", addressed_to="borsaci"), BOTS, rng) is None
    assert pick_volunteer(human("brent petrol ne olur?"), BOTS, rng) is None
    assert pick_volunteer(ChatLine(CHAT, 1, "BTC?", NOW, author_bot="borsaci"), BOTS, rng) is None


def test_volunteer_is_shared_fairly_and_deterministic() -> None:
    both = [persona_bot("aa", ["BTC"]), persona_bot("bb", ["BTC", "SOL"])]
    picks = [pick_volunteer(human("bitcoin nereye?"), both, random.Random(seed)) for seed in range(200)]
    assert 60 < picks.count("aa") < 140
    assert picks == [pick_volunteer(human("bitcoin nereye?"), both, random.Random(seed)) for seed in range(200)]
