"""What the market lets the bots and the simulated people say: no number without a fresh quote, the
operator's macro facts, and people quoting the bots' own market."""

from __future__ import annotations

import random
import re
from datetime import date, datetime

import pytest

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.symbols import find_symbols
from piyasa_bot.market_config import Macro
from piyasa_bot.markets import WithMacro
from piyasa_bot.quotes.live_market import LiveMarket, SourceRule
from piyasa_bot.roster import BotConfig, ChatConfig, Persona
from piyasa_bot.sandbox import texts
from piyasa_bot.sandbox.crowd import Crowd, CrowdSpec
from piyasa_bot.sandbox.emulator import Emulator
from tests.market_sources import has_number

CHAT = ChatConfig(id=-1001)
NOW = datetime(2026, 12, 1, 11, 0, tzinfo=ISTANBUL)
BOT = BotConfig(name="kemal", token="t", chats=[CHAT.id], persona=Persona(watchlist=["XU100", "USDTRY", "BTC"]))


def question(text: str, message_id: int = 1) -> ChatLine:
    return ChatLine(chat_id=CHAT.id, message_id=message_id, text=text, at=NOW, user_id=5, author_bot=None)


@pytest.mark.parametrize(
    "asked", ["dolar ne olur sence?", "BTC'de durum ne?", "borsa bugün nasıl?", "altın alınır mı?"]
)
def test_with_no_fresh_quote_an_answer_stays_on_the_subject_without_a_number(asked: str) -> None:
    empty = LiveMarket({"binance": SourceRule(300)})  # nothing fetched yet, or every source stale
    composer = Composer(empty, random.Random(3))
    subject = find_symbols(asked)[0]
    for attempt in range(40):
        draft = composer.answer(BOT, CHAT, question(asked, attempt), [], NOW)
        assert draft is not None
        assert not has_number(draft.text), draft.text
        assert draft.symbol == subject and draft.direction is None
        assert guard(draft.text).ok


def test_the_operators_inflation_and_meeting_date_are_what_the_bots_say() -> None:
    macro = Macro(policy_rate=38.5, inflation=31.2, inflation_month="2026-11", next_mpc=date(2026, 12, 25))
    composer = Composer(WithMacro(Market(random.Random(1)), macro), random.Random(4))
    said = [
        draft.text
        for attempt in range(200)
        if (draft := composer.answer(BOT, CHAT, question("faiz ne olacak?", attempt), [], NOW)) is not None
    ]
    rates = {match for text in said for match in re.findall(r"%\s?\d+(?:,\d+)?", text)}
    assert rates and rates <= {"%38,5", "%38,50", "%31,2", "%31,20", "% 38,5", "% 31,2"}, rates
    assert any("25 Aralık" in text for text in said)
    assert any("Kasım" in text and "31,2" in text for text in said)


def test_people_in_the_simulation_name_levels_near_the_bots_prices() -> None:
    prices = {"XU100": 10_400.0, "USDTRY": 42.35, "EURTRY": 49.1, "BTC": 97_000.0, "ETH": 3_400.0, "SOL": 180.0,
              "ONS": 4_000.0, "GRAM": 5_450.0}  # fmt: skip
    rng = random.Random(8)
    for _ in range(300):
        symbol = rng.choice(texts.SYMBOLS)
        level = texts._level(rng, symbol, prices.get)
        value = float(level.replace(".", "").replace(",", "."))
        assert abs(value / prices[texts.CODES[symbol]] - 1) < 0.05, (symbol, level)


async def test_a_crowd_given_the_bots_stored_market_quotes_the_same_figures() -> None:
    market = Market(random.Random(11))
    state = market.state(datetime.now(ISTANBUL)).to_json()
    crowd = Crowd(Emulator(seed=1), CrowdSpec(chat_id=-1001, market_state=state))
    assert crowd.prices is not None
    now = datetime.now(ISTANBUL)
    for code in ("XU100", "USDTRY", "BTC", "GRAM"):
        expected = market.quote(code, now).price
        assert crowd.prices(code) == pytest.approx(expected, rel=1e-3)
