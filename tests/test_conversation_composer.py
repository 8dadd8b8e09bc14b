"""Composer: many distinct, guarded, persona-styled messages that agree with the market."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.context import MAX_BOT_CHAIN, bot_chain_length
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.phrases_answer import THANKS_REPLIES
from piyasa_bot.conversation.phrases_market import MOVE, MOVED
from piyasa_bot.conversation.phrases_news import NEWS_OPENERS, NEWS_REACTIONS
from piyasa_bot.conversation.style import Styler
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import casual_lower, compare_key, fold, format_number, lower
from piyasa_bot.roster import BotConfig, ChatConfig, Persona

CHAT = ChatConfig(id=-1001)
TUESDAY_11 = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)


def make(name: str, **persona) -> BotConfig:
    return BotConfig(name=name, token="t", chats=[CHAT.id], persona=Persona(**persona))


AYSE = make(
    "ayse",
    tone="analytical",
    risk="low",
    watchlist=["XU100", "THYAO", "USDTRY"],
    length="long",
    emoji_rate=0,
    signature_phrases=["Yatırım tavsiyesi değildir.", "YTD"],
)
MERT = make(
    "mert",
    tone="energetic",
    risk="high",
    watchlist=["BTC", "ETH", "SOL"],
    length="short",
    emoji_rate=0.6,
    lowercase=True,
    typo_rate=0.1,
    stances={"crypto": "bullish"},
)
ZEYNEP = make("zeynep", tone="sarcastic", watchlist=["GRAM", "ONS", "USDTRY"], length="medium", emoji_rate=0.1)
CAN = make(
    "can",
    tone="cautious",
    risk="low",
    watchlist=["XU100", "POLICY"],
    length="medium",
    stances={"macro": "bearish"},
    signature_phrases=["sabır."],
)
ELIF = make(
    "elif",
    tone="enthusiastic",
    risk="high",
    watchlist=["BTC", "XU100", "GARAN"],
    length="long",
    lowercase=True,
    typo_rate=0.05,
    emoji_rate=0.4,
)
DENIZ = make("deniz", tone="calm", watchlist=["EURTRY", "BRENT"], length="short", emoji_rate=0.2)
PERSONAS = [AYSE, MERT, ZEYNEP, CAN, ELIF, DENIZ]
MEMORY = 50


def chat_run(count: int, seed: int = 1) -> list[tuple[str, ChatLine]]:
    """A chat of `count` bot messages, each seeing the last ones as context (so some are replies)."""
    rng = random.Random(seed)
    composer = Composer(Market(random.Random(seed)), rng, memory=MEMORY)
    context: list[ChatLine] = []
    out = []
    now = datetime(2025, 3, 3, 8, 0, tzinfo=ISTANBUL)
    for index in range(count):
        now += timedelta(seconds=rng.randint(60, 600))
        if index % 25 == 0:
            context.append(
                ChatLine(
                    CHAT.id, 10_000 + index, rng.choice(["BTC ne olur?", "dolar nereye?", "borsa iyi"]), now, user_id=7
                )
            )
        bot = PERSONAS[index % len(PERSONAS)]
        draft = composer.chatter(bot, CHAT, context[-30:], now)
        assert draft is not None
        line = ChatLine(
            CHAT.id, index + 1, draft.text, now, author_bot=bot.name, reply_to_message_id=draft.reply_to_message_id
        )  # reply_to_bot left out: found from the context
        context.append(line)
        out.append((bot.name, line))
    return out


@pytest.fixture(scope="module")
def many() -> list[tuple[str, ChatLine]]:
    return chat_run(2000)


def test_no_bot_repeats_itself_within_its_window(many) -> None:
    for bot in PERSONAS:
        keys = [compare_key(line.text) for name, line in many if name == bot.name]
        repeats = sum(1 for i, key in enumerate(keys) if key in keys[max(0, i - MEMORY) : i])
        assert keys and repeats == 0, bot.name


def test_thousands_of_distinct_messages(many) -> None:
    assert len({compare_key(line.text) for _, line in many}) >= 1800
    assert len({line.text for _, line in many}) >= 1900


def test_every_message_passes_the_guard(many) -> None:
    assert [line.text for _, line in many if not guard(line.text).ok] == []


def test_some_messages_are_replies_and_bot_chains_stay_short(many) -> None:
    by_id = {line.message_id: line for _, line in many}
    replies = [line for _, line in many if line.reply_to_message_id]
    assert 0.1 * len(many) < len(replies) < 0.5 * len(many)
    assert max(bot_chain_length(line, by_id) for _, line in many) == MAX_BOT_CHAIN
    for line in replies:
        parent = by_id.get(line.reply_to_message_id)
        grandparent = by_id.get(parent.reply_to_message_id) if parent and parent.reply_to_message_id else None
        if parent is not None:
            assert parent.author_bot != line.author_bot  # nobody answers themselves
        if grandparent is not None:
            assert grandparent.author_bot != line.author_bot  # nor the bot that just answered them


def test_numbers_are_written_the_turkish_way(many) -> None:
    texts = " ".join(line.text for _, line in many)
    assert re.findall(r"\d\.\d{1,2}(?!\d)", texts) == []  # no "9845.20"
    assert re.findall(r"\d,\d{3}(?!\d)", texts) == []  # no "9,845"
    assert re.findall(r"%\d+(?:,\d\d)?", texts)
    assert all(re.fullmatch(r"%\d+(,\d\d)?", p) for p in re.findall(r"%[\d.,]*\d", texts))


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", lower(text)))


def test_bots_agree_on_the_direction_of_the_day() -> None:
    market = Market(random.Random(5))
    formal = [
        make(f"b{i}", tone=t, length=length, watchlist=["XU100", "USDTRY", "BTC", "GRAM"], emoji_rate=0)
        for i, (t, length) in enumerate(
            [("calm", "short"), ("analytical", "medium"), ("sarcastic", "medium"), ("energetic", "short")]
        )
    ]
    stated: dict[str, set[str]] = {}
    for seed in range(4):
        composer = Composer(market, random.Random(seed))
        for index in range(120):
            bot = formal[index % len(formal)]
            draft = composer.chatter(bot, CHAT, [], TUESDAY_11, reply_to=None)
            assert draft is not None
            if draft.direction is None:
                continue
            quote = market.quote(draft.symbol, TUESDAY_11)
            assert draft.direction == quote.direction
            stated.setdefault(draft.symbol, set()).add(draft.direction)
            spec = SYMBOLS[draft.symbol]
            assert format_number(quote.price, spec.decimals) in draft.text
            opposite = {"up": "down", "down": "up"}.get(draft.direction)
            if opposite:
                assert not words(draft.text) & {lower(w) for w in MOVE[opposite] + MOVED[opposite]}, draft.text
    assert len(stated) >= 3 and all(len(directions) == 1 for directions in stated.values())


def test_lowercase_typo_persona_looks_different_from_a_formal_one(many) -> None:
    formal = [line.text for name, line in many if name in ("ayse", "zeynep", "can")]
    casual = [line.text for name, line in many if name in ("mert", "elif")]
    # A capital first, or a number ("39,00 civarında kâr satışı gelebilir.": no capital after a figure).
    assert formal and all(text[0].isupper() or not text[0].isalpha() for text in formal)
    assert all(re.search(r"[.!?…]\s*(\S+\s*)?$", text) for text in formal)
    assert casual and all(text == casual_lower(text) for text in casual)
    assert not any(text.endswith(".") and not text.endswith("...") for text in casual)
    # A word no formal message ever used (even lowercased) is a typo: those personas make some.
    vocabulary = set().union(*(words(t) | words(casual_lower(t)) for t in formal))
    typo_share = sum(bool(words(t) - vocabulary) for t in casual)
    assert typo_share > 0.2 * len(casual)


def test_typos_change_words_but_never_numbers_or_symbols() -> None:
    clauses = ["bugün bitcoin tarafında güzel şeyler oluyor", "BTC 97.450 $, %1,35 yükselişte", "gözümüz dirençte"]
    clean = Styler(random.Random(1)).render(clauses, Persona(lowercase=True, emoji_rate=0), "up")
    changed = 0
    for seed in range(30):
        text = Styler(random.Random(seed)).render(clauses, Persona(lowercase=True, typo_rate=0.2, emoji_rate=0), "up")
        assert "97.450" in text and "%1,35" in text and "btc" in text and "bitcoin" in text
        changed += compare_key(text) != compare_key(clean)
    assert changed >= 20


QUESTIONS = [
    ("BTC ne olur?", "BTC"),
    ("bitcoin nereye gider sizce", "BTC"),
    ("dolar kaç olur?", "USDTRY"),
    ("gram altın alınır mı?", "GRAM"),
    ("THYAO hakkında ne düşünüyorsun?", "THYAO"),
    ("ETH neden düştü bugün?", "ETH"),
    ("borsa ne olacak", "XU100"),
    ("ons altın yükselir mi?", "ONS"),
    ("kripto tarafı nasıl?", "BTC"),
]


@pytest.mark.parametrize("text,symbol", QUESTIONS)
def test_answers_mention_the_asked_symbol_and_a_level(text: str, symbol: str) -> None:
    market = Market(random.Random(9))
    composer = Composer(market, random.Random(10))
    question = ChatLine(CHAT.id, 77, text, TUESDAY_11, user_id=5, addressed_to="x")
    for bot in PERSONAS:
        draft = composer.answer(bot, CHAT, question, [], TUESDAY_11)
        assert draft is not None and draft.reply_to_message_id == 77
        assert draft.symbol == symbol, (bot.name, draft.text)
        spoken = {fold(name) for name in SYMBOLS[symbol].spoken}
        assert any(name in fold(draft.text) for name in spoken), draft.text
        quote = market.quote(symbol, TUESDAY_11)
        assert format_number(quote.price, SYMBOLS[symbol].decimals) in draft.text
        assert guard(draft.text).ok


def test_answers_to_thanks_greetings_and_unknown_tickers() -> None:
    composer = Composer(Market(random.Random(1)), random.Random(2))
    thanks = composer.answer(
        ZEYNEP, CHAT, ChatLine(CHAT.id, 1, "çok teşekkürler", TUESDAY_11, user_id=5), [], TUESDAY_11
    )
    assert thanks and not re.search(r"\d", thanks.text)
    hello = composer.answer(AYSE, CHAT, ChatLine(CHAT.id, 2, "Günaydın @ayse", TUESDAY_11, user_id=5), [], TUESDAY_11)
    assert hello and re.search(r"\d", hello.text)
    unknown = composer.answer(CAN, CHAT, ChatLine(CHAT.id, 3, "AAPL ne olur?", TUESDAY_11, user_id=5), [], TUESDAY_11)
    # An honest "I don't follow it" about AAPL, not an answer about a watchlist symbol.
    assert unknown and "AAPL" in unknown.text and unknown.symbol == "AAPL" and not re.search(r"\d", unknown.text)


def test_an_answer_in_a_thread_picks_up_the_symbol_of_the_message_replied_to() -> None:
    composer = Composer(Market(random.Random(1)), random.Random(2))
    bot_line = ChatLine(CHAT.id, 5, "Ons altın bugün %0,40 artıda.", TUESDAY_11, author_bot="zeynep")
    follow_up = ChatLine(
        CHAT.id, 6, "sence devam eder mi?", TUESDAY_11, user_id=5, reply_to_message_id=5, reply_to_bot="zeynep"
    )
    draft = composer.answer(ZEYNEP, CHAT, follow_up, [bot_line, follow_up], TUESDAY_11)
    assert draft and draft.symbol == "ONS" and draft.reply_to_message_id == 6


def test_chatter_replying_to_a_person_picks_up_their_symbol() -> None:
    composer = Composer(Market(random.Random(1)), random.Random(2))
    person = ChatLine(CHAT.id, 9, "solana için ne diyorsunuz?", TUESDAY_11 - timedelta(minutes=1), user_id=5)
    draft = composer.chatter(AYSE, CHAT, [person], TUESDAY_11, reply_to=person)
    assert draft and draft.reply_to_message_id == 9 and draft.symbol == "SOL"
    statement = ChatLine(CHAT.id, 10, "BIST bence çok güçlü", TUESDAY_11, author_bot="mert")
    reply = composer.chatter(CAN, CHAT, [statement], TUESDAY_11, reply_to=statement)
    assert reply and reply.reply_to_message_id == 10 and reply.symbol == "XU100"


def test_chat_topics_limit_what_bots_bring_up() -> None:
    crypto_chat = ChatConfig(id=CHAT.id, topics=["crypto"])
    composer = Composer(Market(random.Random(1)), random.Random(2))
    topics = {
        composer.chatter(bot, crypto_chat, [], TUESDAY_11 + timedelta(minutes=i), reply_to=None).topic
        for i, bot in enumerate(PERSONAS * 10)
    }
    assert topics == {"crypto"}


def test_a_signature_the_guard_rejects_is_never_sent() -> None:
    spammy = make("spam", signature_phrases=["detaylar t.me/kanal", "kesin kazanç"], emoji_rate=0)
    composer = Composer(Market(random.Random(1)), random.Random(2))
    drafts = [composer.chatter(spammy, CHAT, [], TUESDAY_11 + timedelta(minutes=i)) for i in range(300)]
    assert all(d is not None and guard(d.text).ok for d in drafts)


def test_nothing_new_to_say_returns_none() -> None:
    def fresh() -> Composer:
        return Composer(Market(random.Random(1)), random.Random(2), attempts=1)

    draft = fresh().chatter(ZEYNEP, CHAT, [], TUESDAY_11)
    assert draft is not None
    composer = fresh()
    composer.remember("zeynep", draft.text)
    again = composer.chatter(ZEYNEP, CHAT, [], TUESDAY_11)  # the same plan: its worn stock clauses rotate
    assert again is None or compare_key(again.text) != compare_key(draft.text)

    headline = "Yeni metro hattı hizmete açıldı"  # names no symbol: the openers are all there are
    for said in NEWS_OPENERS + NEWS_REACTIONS["sarcastic"]:  # every way to bring it up, and every reaction
        composer.remember("zeynep", said.format(headline=headline) + ".")
    assert composer.news(ZEYNEP, CHAT, headline, TUESDAY_11) is None  # nobody waits for chatter: silence

    thanks = ChatLine(CHAT.id, 1, "teşekkürler", TUESDAY_11, user_id=7)
    for said in THANKS_REPLIES:
        composer.remember("zeynep", f"{said}.")
    assert composer.answer(ZEYNEP, CHAT, thanks, [], TUESDAY_11) is not None  # a person waits: an answer


def test_same_seed_same_words() -> None:
    assert [line.text for _, line in chat_run(60, seed=3)] == [line.text for _, line in chat_run(60, seed=3)]


def test_typing_delay_grows_with_length_and_is_capped() -> None:
    assert Composer.typing_delay("") == 1.5
    assert Composer.typing_delay("x" * 100) == pytest.approx(4.5)
    assert Composer.typing_delay("x" * 1000) == 8.0
