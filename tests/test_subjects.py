"""Answers are about what was asked: the symbols members write, with Turkish suffixes, and an honest
"I don't follow it" for what the bots do not follow; questions get answers, claims get agreement or not."""

from __future__ import annotations

import random
import re
from datetime import datetime

import pytest

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.intent import is_claim, is_question
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.phrases_talk import AGREE, DISAGREE, PARTIAL
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, find_unfollowed
from piyasa_bot.conversation.turkish import fold
from piyasa_bot.quotes.live_market import LiveMarket, SourceRule
from piyasa_bot.roster import BotConfig, ChatConfig, Persona
from piyasa_bot.sandbox import texts
from tests.market_sources import has_number

CHAT = ChatConfig(id=-1001)
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)  # a Tuesday, BIST open

# What members ask, as they write it, and the symbol the answer must be about.
ASKED = {
    "GOLD nereye gider sence?": "ONS",
    "XAU ne olur bu hafta": "ONS",
    "XAUUSD kaç olur": "ONS",
    "XAU/USD için hedefin ne?": "ONS",
    "ons altın 3000 doları görür mü?": "ONS",
    "XAUUSD'de son durum ne?": "ONS",
    "ons kaç olur?": "ONS",
    "@kemal_piyasa_bot GOLD nereye gider": "ONS",
    "gram altın kaç olur yıl sonu": "GRAM",
    "altın alınır mı şu an": "GRAM",
    "altını satayım mı": "GRAM",
    "Gram ne olur?": "GRAM",
    "Selam, gram altın için ne dersin?": "GRAM",
    "altın mı dolar mı": "GRAM",
    "dolar/TL kaç olur yıl sonu": "USDTRY",
    "dolar ne olur": "USDTRY",
    "$ ne olur": "USDTRY",
    "USD ne olur sizce": "USDTRY",
    "dolara girsem mi": "USDTRY",
    "USDTRY'de durum ne?": "USDTRY",
    "kur ne olur seçimden sonra": "USDTRY",
    "dolar yükselir mi sence": "USDTRY",
    "enflasyon verisi sonrası dolar ne olur?": "USDTRY",
    "BTC'yi alayım mı": "BTC",
    "bitcoin'i satsam mı": "BTC",
    "Bitcoin 100 bini görür mü?": "BTC",
    "BTC'de durum ne": "BTC",
    "BTC 120 bine çıkar mı?": "BTC",
    "faiz kararı BTC'yi nasıl etkiler?": "BTC",
    "ETH nereye gider": "ETH",
    "ethereum alınır mı": "ETH",
    "SOL ne olur": "SOL",
    "solana için hedefin ne?": "SOL",
    "ASELS'i tutayım mı": "ASELS",
    "aselsan ne olur": "ASELS",
    "hocam ASELS'te stop nerede olmalı?": "ASELS",
    "THYAO'yu alayım mı": "THYAO",
    "THY ne olur bu hafta": "THYAO",
    "bu hafta THYAO mu, altın mı?": "THYAO",
    "GARAN'da durum ne?": "GARAN",
    "Akbank ne olur?": "AKBNK",
    "EREGL alınır mı": "EREGL",
    "BIMAS için ne düşünüyorsun?": "BIMAS",
    "TUPRS ne olur": "TUPRS",
    "FROTO'yu tutayım mı": "FROTO",
    "BIST30 bugün?": "XU030",
    "BIST 30 ne olur": "XU030",
    "BIST 100 nereye gider": "XU100",
    "XU100 bugün?": "XU100",
    "endeks ne olur yarın": "XU100",
    "borsa nasıl bugün?": "XU100",
    "BIST100 10.000'i kırar mı": "XU100",
    "brent ne olur": "BRENT",
    "petrol kaç olur": "BRENT",
    "euro ne olur": "EURTRY",
    "euroya girsem mi": "EURTRY",
    "EURTRY kaç": "EURTRY",
    "faiz ne olacak": "POLICY",
    "PPK ne yapar sence?": "POLICY",
    "TCMB faizi indirir mi?": "POLICY",
}
# What the bots do not follow: the subject an honest answer names.
OUTSIDERS = {
    "EURUSD ne olur": "EUR/USD",
    "EUR/USD kaç olur": "EUR/USD",
    "EURUS ne olur": "EURUS",
    "DOGE alınır mı": "DOGE",
    "gümüş ne olur": "gümüş",
    "nasdaq'ta durum ne?": "Nasdaq",
}


def persona(name: str, **fields) -> BotConfig:
    return BotConfig(name=name, token="t", chats=[CHAT.id], persona=Persona(**fields))


BOTS = [
    persona("emre", tone="energetic", risk="high", watchlist=["THYAO", "ASELS", "SASA", "XU100"], length="short",
            lowercase=True, emoji_rate=0.6, stances={"bist": "bullish"}),
    persona("selin", tone="analytical", watchlist=["XU100", "USDTRY", "TR10Y", "CDS5Y"], length="long"),
    persona("can", tone="enthusiastic", risk="high", watchlist=["BTC", "ETH", "SOL"], length="short", emoji_rate=0.5),
    persona("murat", tone="calm", watchlist=["USDTRY", "EURTRY", "EURUSD"], length="medium"),
    persona("kemal", tone="sarcastic", risk="low", watchlist=["BTC", "XU100", "XAUUSD"], length="medium",
            stances={"crypto": "bearish", "gold": "bullish"}),
]  # fmt: skip


def asked(text: str, message_id: int = 1) -> ChatLine:
    return ChatLine(chat_id=CHAT.id, message_id=message_id, text=text, at=NOW, user_id=5, addressed_to="x")


def mentions(text: str, symbol: str) -> bool:
    return symbol in find_symbols(text)


def takes_a_side(text: str) -> bool:
    """Whether `text` agrees, disagrees or half-agrees (a stance phrase as whole words)."""
    return bool(_STANCES.search(fold(text)))


_STANCES = re.compile(r"\b(?:" + "|".join(re.escape(fold(p)) for p in AGREE + DISAGREE + PARTIAL) + r")\b")


@pytest.mark.parametrize("text, symbol", ASKED.items())
def test_find_symbols_names_the_asked_symbol_first(text: str, symbol: str) -> None:
    assert find_symbols(text)[0] == symbol


@pytest.mark.parametrize("market", ["simulated", "no quotes"])
def test_every_answer_to_a_question_naming_one_subject_is_about_that_subject(market: str) -> None:
    view = Market(random.Random(7)) if market == "simulated" else LiveMarket({"binance": SourceRule(300)})
    composer = Composer(view, random.Random(11))
    misses = []
    total = 0
    for round_ in range(2):
        for bot in BOTS:
            for index, (text, symbol) in enumerate(ASKED.items()):
                draft = composer.answer(bot, CHAT, asked(text, 1000 * round_ + index), [], NOW)
                assert draft is not None and guard(draft.text).ok
                total += 1
                if draft.symbol != symbol or not mentions(draft.text, symbol):
                    misses.append((bot.name, text, draft.symbol, draft.text))
    assert not misses, misses[:5]
    assert total >= 500


@pytest.mark.parametrize("text, name", OUTSIDERS.items())
def test_a_subject_we_do_not_follow_gets_an_honest_short_answer_about_it(text: str, name: str) -> None:
    composer = Composer(Market(random.Random(3)), random.Random(5))
    for attempt, bot in enumerate(BOTS * 4):
        draft = composer.answer(bot, CHAT, asked(text, attempt), [], NOW)
        assert draft is not None and guard(draft.text).ok
        assert draft.symbol == name and draft.direction is None
        assert fold(name) in fold(draft.text) or (name == "EURUS" and "eur/usd mi" in fold(draft.text)), draft.text
        assert not has_number(draft.text), draft.text
        # It does not turn into an answer about a watchlist symbol: no price, no day's move.
        assert not any(fold(word) in fold(draft.text) for word in ("artıda", "ekside", "seviyesinde", "yatay"))


def test_a_typo_of_a_name_we_know_is_asked_back() -> None:
    composer = Composer(Market(random.Random(3)), random.Random(5))
    drafts = [composer.answer(BOTS[2], CHAT, asked("EURUS ne olur", n), [], NOW) for n in range(6)]
    assert all(d and "EUR/USD mi demek istedin" in d.text for d in drafts), drafts


def test_a_persona_watching_a_subject_without_quotes_says_it_has_no_fresh_data() -> None:
    composer = Composer(Market(random.Random(3)), random.Random(5))
    murat = BOTS[3]  # watchlist: USDTRY, EURTRY, EURUSD
    for attempt in range(10):
        draft = composer.answer(murat, CHAT, asked("EURUSD ne olur?", attempt), [], NOW)
        assert draft is not None
        assert "EUR/USD" in draft.text and "takip etmiyorum" not in draft.text
        assert any(word in fold(draft.text) for word in ("veri", "rakam")), draft.text


def test_a_question_is_answered_never_agreed_or_disagreed_with() -> None:
    composer = Composer(Market(random.Random(3)), random.Random(9))
    for attempt in range(300):
        bot = BOTS[attempt % len(BOTS)]
        text = list(ASKED)[attempt % len(ASKED)]
        draft = composer.answer(bot, CHAT, asked(text, attempt), [], NOW)
        assert draft is not None
        assert not takes_a_side(draft.text), (text, draft.text)


def test_only_a_claim_gets_agreement_or_disagreement() -> None:
    composer = Composer(Market(random.Random(3)), random.Random(9))
    claim = [composer.answer(BOTS[4], CHAT, asked("bence BTC bu hafta çakılır", n), [], NOW) for n in range(20)]
    plain = [composer.answer(BOTS[4], CHAT, asked("ben de BTC ekranına bakıyordum", n), [], NOW) for n in range(20)]
    assert all(d and takes_a_side(d.text) for d in claim)
    assert not any(d and takes_a_side(d.text) for d in plain)
    assert all(d and mentions(d.text, "BTC") for d in plain)


@pytest.mark.parametrize(
    "text", ["BTC olurmu bu iş", "altın alınırmı", "dolar kaça gider", "THYAO nolur yarın", "faiz inermi"]
)
def test_questions_written_in_a_hurry_are_questions(text: str) -> None:
    assert is_question(text) and not is_claim(text)


CLAIMS = ["bence BTC 120 bini görür", "dolar yıl sonu 45 olur", "THYAO çok şişti", "altın uçar"]


@pytest.mark.parametrize("text", CLAIMS)
def test_a_side_or_a_prediction_is_a_claim(text: str) -> None:
    assert is_claim(text)


def test_plain_statements_and_words_like_twenty_are_not_claims_nor_questions() -> None:
    assert not is_question("yirmi yıldır borsadayım")
    assert not is_claim("ben de ekrana bakıyordum")


def test_prices_in_dollars_and_units_are_not_the_dollar_as_a_subject() -> None:
    assert find_symbols("BTC 97.000 $ seviyesinde") == ["BTC"]
    assert find_symbols("ons 3.000 dolar olur mu") == ["ONS"]
    assert find_symbols("$ kaç olur") == ["USDTRY"]


def test_outsiders_and_unknown_codes_are_found_but_not_taken_for_ours() -> None:
    assert find_symbols("EUR/USD kaç") == [] and [f.name for f in find_unfollowed("EUR/USD kaç")] == ["EUR/USD"]
    assert [f.name for f in find_unfollowed("SASA ne olur")] == ["SASA"]
    assert find_unfollowed("HOCAM NE OLUR BU ISLER") == []  # shouting, not a ticker
    assert find_unfollowed("TCMB faiz kararı ne olur") == [] and find_symbols("TCMB faiz kararı ne olur") == ["POLICY"]
    assert find_unfollowed("THYAO ne olur") == []
    assert SYMBOLS.keys() >= {code for text in ASKED for code in find_symbols(text)}


def test_the_bots_answer_the_simulated_crowds_questions_on_their_subject() -> None:
    composer = Composer(Market(random.Random(7)), random.Random(4))
    rng = random.Random(5)
    single = 0
    for attempt in range(1500):
        question = texts.question_to(rng, "kemal_piyasa_bot")
        draft = composer.answer(BOTS[attempt % len(BOTS)], CHAT, asked(question, attempt), [], NOW)
        assert draft is not None, question
        named, outsiders = find_symbols(question), find_unfollowed(question)
        if len(named) == 1:
            single += 1
            assert draft.symbol == named[0] and mentions(draft.text, named[0]), (question, draft.text)
        elif not named:
            assert outsiders and draft.symbol == outsiders[0].name, (question, draft.text)
    assert single > 1000
