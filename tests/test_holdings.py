"""Holdings: a bot speaks from its positions, with its cost and a profit or loss that matches the market."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.facts import Facts
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.holdings import describe, held_name, position_clause, profit_percent, with_ablative
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.quote import MacroFacts, Quote
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import fold, format_number
from piyasa_bot.roster import BotConfig, ChatConfig, Holding, Persona
from piyasa_bot.roster_loader import RosterError, parse_roster

CHAT = ChatConfig(id=-1001, topics=["bist", "crypto", "gold"])
BIST_ONLY = ChatConfig(id=-1001, topics=["bist"])
MONDAY_9 = datetime(2025, 3, 3, 9, 0, tzinfo=ISTANBUL)
TOKEN = "7000000001:AAH-ayse_secret_part_0123456789abcdefgh"


def holder(name: str, holdings: list[dict[str, object]], **persona: object) -> BotConfig:
    settings: dict[str, object] = {"tone": "calm", "length": "medium", "emoji_rate": 0, "holdings": holdings}
    return BotConfig(name=name, token="t", chats=[CHAT.id], persona=Persona(**(settings | persona)))


def roster_problems(holdings: str) -> list[str]:
    text = (
        "chats:\n  - id: -1001234567890\nbots:\n  - name: ayse\n    token: ${AYSE_TOKEN}\n"
        f"    chats: [-1001234567890]\n    persona:\n      holdings: {holdings}\n"
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(text, "bots.yaml", {"AYSE_TOKEN": TOKEN}, None)
    return [str(problem) for problem in caught.value.problems]


# --- bots.yaml ----------------------------------------------------------------------------


def test_holdings_name_symbols_as_people_write_them() -> None:
    persona = Persona(
        holdings=[
            {"symbol": "thyao", "average_cost": 290, "size": 100},
            {"symbol": "gram altın", "average_cost": 3100},
            {"symbol": "XAUUSD", "average_cost": 2900},
            {"symbol": "bitcoin", "average_cost": 95000, "size": 0.15},
        ]
    )
    assert [(h.symbol, h.average_cost, h.size) for h in persona.holdings] == [
        ("THYAO", 290, 100),
        ("GRAM", 3100, None),
        ("ONS", 2900, None),
        ("BTC", 95000, 0.15),
    ]
    assert Persona().holdings == []


@pytest.mark.parametrize(
    ("holdings", "expected"),
    [
        ("[{symbol: SASA, average_cost: 40}]", "bots[0].persona.holdings[0].symbol: unknown symbol 'SASA'"),
        (
            "[{symbol: faiz, average_cost: 40}]",
            "bots[0].persona.holdings[0].symbol: the policy rate is not something one holds",
        ),
        (
            "[{symbol: THYAO, average_cost: 0}]",
            "bots[0].persona.holdings[0].average_cost: input should be greater than 0",
        ),
        (
            "[{symbol: BTC, average_cost: 1, size: -2}]",
            "bots[0].persona.holdings[0].size: input should be greater than 0",
        ),
        ("[{symbol: THYAO}]", "bots[0].persona.holdings[0].average_cost: is required"),
        (
            "[{symbol: BTC, average_cost: 90000}, {symbol: bitcoin, average_cost: 95000}]",
            "bots[0].persona.holdings: held twice: BTC (one entry, with its average cost, per symbol)",
        ),
    ],
)
def test_a_wrong_holding_is_reported_by_its_path(holdings: str, expected: str) -> None:
    assert roster_problems(holdings) == [expected]


# --- Turkish ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "said"),
    [
        ("290", "290'dan"),
        ("300", "300'den"),
        ("35", "35'ten"),
        ("40", "40'tan"),
        ("36", "36'dan"),
        ("3.100", "3.100'den"),
        ("95.000", "95.000'den"),
        ("36,50", "36,50'den"),
        ("2,5", "2,5'ten"),
        ("70", "70'ten"),
        ("80", "80'den"),
        ("9", "9'dan"),
        ("1.000.000", "1.000.000'dan"),
    ],
)
def test_a_cost_takes_the_suffix_its_reading_calls_for(number: str, said: str) -> None:
    assert with_ablative(number) == said


def test_tickers_take_an_apostrophe_suffix_in_vowel_harmony() -> None:
    assert [held_name(code).assets for code in ("THYAO", "ASELS", "EREGL", "BTC", "SOL", "GRAM", "USDTRY")] == [
        "THYAO'lar",
        "ASELS'ler",
        "EREGL'ler",
        "BTC'ler",
        "SOL'lar",
        "altınlar",
        "dolarlar",
    ]


def test_positions_are_described_for_a_prompt() -> None:
    persona = Persona(
        holdings=[Holding(symbol="THYAO", average_cost=290, size=100), Holding(symbol="GRAM", average_cost=3100.5)]
    )
    assert describe(persona.holdings) == "100 lot THYAO (ortalama maliyet 290); gram altın (ortalama maliyet 3.100,50)"


# --- what the bots say ----------------------------------------------------------------------


def facts_at(symbol: str, price: float | None) -> Facts:
    quote = None if price is None else Quote(symbol, price, price, True)
    return Facts(symbol, SYMBOLS[symbol].topic, quote, {"sym": symbol})


@pytest.mark.parametrize("code", [code for code in SYMBOLS if code != "POLICY"])
def test_every_position_clause_passes_the_guard_and_keeps_to_its_sign(code: str) -> None:
    rng = random.Random(code)
    for size in (None, 12.5):
        holding = Holding(symbol=code, average_cost=100, size=size)
        for price in (None, 30, 96, 99.8, 100.2, 101, 104, 140, 300):
            for _ in range(25):
                text = position_clause(holding, facts_at(code, price), rng)
                folded = fold(text)
                assert guard(text).ok, text
                assert "100" in text, text
                if price is None:
                    assert "kar" not in folded and "zarar" not in folded and "%" not in text, text
                elif price > 100.5:
                    assert "kar" in folded and "zarar" not in folded, text
                elif price < 99.5:
                    assert "zarar" in folded or "altinda" in folded, text
                    assert not re.search(r"\bkar", folded), text


def test_the_profit_stated_is_the_one_at_the_quoted_price() -> None:
    rng = random.Random(3)
    holding = Holding(symbol="THYAO", average_cost=290, size=100)
    stated = {position_clause(holding, facts_at("THYAO", 304.5), rng) for _ in range(200)}
    percents = {match for text in stated for match in re.findall(r"%[\d,]+", text)}
    assert round(profit_percent(holding, 304.5), 1) == 5.0 and percents == {"%5"}


def mentions(bot: BotConfig, market: Market, count: int, chat: ChatConfig = CHAT) -> list[tuple[datetime, str]]:
    """`count` chatter messages of `bot`, an hour apart, with the moment each was said."""
    composer = Composer(market, random.Random(1))
    out = []
    now = MONDAY_9
    for _ in range(count):
        now += timedelta(minutes=61)
        draft = composer.chatter(bot, chat, [], now, reply_to=None)
        assert draft is not None
        out.append((now, draft.text))
    return out


def cost_named(text: str, cost: str) -> bool:
    return bool(re.search(rf"(?<![\d.,]){re.escape(cost)}(?![\d]|[.,]\d)", text))


@pytest.mark.parametrize(
    ("symbol", "cost", "profit"),
    [("THYAO", 200, True), ("THYAO", 450, False), ("GRAM", 2000, True), ("BTC", 150000, False)],
)
def test_a_holder_mentions_its_position_with_its_cost_and_the_sign_of_the_market(
    symbol: str, cost: float, profit: bool
) -> None:
    bot = holder("sahip", [{"symbol": symbol, "average_cost": cost, "size": 10}], watchlist=[symbol])
    market = Market(random.Random(7))
    said = mentions(bot, market, 300, ChatConfig(id=CHAT.id, topics=[SYMBOLS[symbol].topic]))
    cost_text = format_number(cost, 0)
    about = [(now, text) for now, text in said if cost_named(text, cost_text)]
    # Seasoning, and no tic: the sentence memory lets each wording of the position recur only now and then.
    assert 0.02 * len(said) <= len(about) <= 0.3 * len(said)
    for now, text in about:
        price = market.quote(symbol, now).price
        assert (price > cost) is profit  # the case is chosen far from the cost
        folded = fold(text)
        if profit:
            assert re.search(r"\bkard", folded) and "zarar" not in folded, text
        else:
            assert "zarar" in folded and not re.search(r"\bkard", folded), text


def test_a_lowercase_holder_writes_the_ticker_suffix_in_lowercase() -> None:
    bot = holder("kucuk", [{"symbol": "THYAO", "average_cost": 200}], watchlist=["THYAO"], lowercase=True)
    said = [text for _, text in mentions(bot, Market(random.Random(7)), 300)]
    assert any("thyao'lar" in text for text in said)
    assert not any("THYAO'lar" in text for text in said)


class NoQuotes:
    """A live market with nothing fresh: the bots talk without numbers."""

    def macro_facts(self) -> MacroFacts:
        return MacroFacts()

    def knows(self, symbol: str) -> bool:
        return symbol in SYMBOLS

    def quote(self, symbol: str, now: datetime) -> Quote | None:
        return None


def test_without_a_fresh_quote_a_holder_names_its_cost_but_no_profit_or_loss() -> None:
    bot = holder("sahip", [{"symbol": "THYAO", "average_cost": 290, "size": 100}], watchlist=["THYAO"])
    composer = Composer(NoQuotes(), random.Random(2))
    texts = []
    for hour in range(300):
        draft = composer.chatter(bot, BIST_ONLY, [], MONDAY_9 + timedelta(hours=hour), reply_to=None)
        if draft is not None:  # None: nothing new to say without numbers (the sentence memory), and nobody waits
            texts.append(draft.text)
    about = [text for text in texts if cost_named(text, "290")]
    assert len(about) >= 5  # without numbers a bot has fewer new things to say, its position among them
    assert [text for text in about if re.search(r"\bkar(d|\b)|zarar|%|basa bas", fold(text))] == []


def question(text: str, at: datetime, message_id: int) -> ChatLine:
    return ChatLine(CHAT.id, message_id, text, at, user_id=42)


def test_asked_about_its_position_a_holder_answers_from_it_and_not_after_thanks() -> None:
    bot = holder("sahip", [{"symbol": "THYAO", "average_cost": 290, "size": 100}], watchlist=["THYAO"])
    composer = Composer(Market(random.Random(5)), random.Random(5))
    asked, thanked = [], []
    for index in range(40):
        at = MONDAY_9 + timedelta(hours=1, minutes=7 * index)
        line = question("THYAO'da sende pozisyon var mı?", at, 2 * index)
        asked.append(composer.answer(bot, CHAT, line, [line], at))
        thanks = question("THYAO için teşekkürler", at, 2 * index + 1)
        thanked.append(composer.answer(bot, CHAT, thanks, [thanks], at))
    # Asked the very same thing 40 times in five hours, it does not answer in the very same words each time.
    assert sum(1 for draft in asked if draft and cost_named(draft.text, "290")) >= 15
    assert [draft.text for draft in thanked if draft and cost_named(draft.text, "290")] == []


def test_a_bot_without_holdings_never_claims_a_position() -> None:
    bot = holder("bos", [], watchlist=["THYAO", "BTC"])
    said = [fold(text) for _, text in mentions(bot, Market(random.Random(9)), 200)]
    assert [text for text in said if re.search(r"maliyet|aldigim|zarardayim|kardayim|girmistim", text)] == []
