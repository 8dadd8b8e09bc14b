"""Stances: a bot's view of a subject changes with a big move or slowly, and it does not contradict itself."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from itertools import pairwise

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.hours import ISTANBUL, istanbul
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.phrases_market import OUTLOOK, OUTLOOK_VS_DAY
from piyasa_bot.conversation.quote import MacroFacts, Quote
from piyasa_bot.conversation.stances import StanceMemory, Stances, baseline, big_move
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import fold
from piyasa_bot.roster import BotConfig, ChatConfig, Persona, Topic

MONDAY = datetime(2025, 3, 3, 0, 0, tzinfo=ISTANBUL)
TOPICS: tuple[Topic, ...] = ("bist", "usdtry", "gold", "crypto", "macro")


def bot(name: str, **persona: object) -> BotConfig:
    return BotConfig(name=name, token="t", chats=[-1001], persona=Persona(**persona))  # type: ignore[arg-type]


BULL = bot("boga", stances={"bist": "bullish", "crypto": "bullish"}, risk="high")
BEAR = bot("ayi", stances={"bist": "bearish", "gold": "neutral"}, risk="low")
FREE = bot("serbest")  # no configured stance: a seeded view
BOTS = (BULL, BEAR, FREE, bot("temkinli", risk="low"), bot("atak", risk="high"))


class Scripted:
    """A market whose day changes the test sets: `moves[symbol]` in percent."""

    def __init__(self) -> None:
        self.moves: dict[str, float] = {}

    def macro_facts(self) -> MacroFacts:
        return MacroFacts()

    def knows(self, symbol: str) -> bool:
        return symbol in SYMBOLS

    def quote(self, symbol: str, now: datetime) -> Quote | None:
        spec = SYMBOLS[symbol]
        previous = (spec.low + spec.high) / 2
        return Quote(symbol, previous * (1 + self.moves.get(symbol, 0.0) / 100), previous, True)


def moments(start: datetime, days: int, step: timedelta) -> list[datetime]:
    out, now = [], start
    while now < start + timedelta(days=days):
        out.append(now)
        now += step
    return out


# --- the slow part --------------------------------------------------------------------------


def test_a_configured_stance_is_the_baseline_all_along() -> None:
    stances = Stances(Scripted())
    for now in moments(MONDAY, 3, timedelta(minutes=20)):
        assert stances.of(BULL, "bist", now) == "bullish"
        assert stances.of(BEAR, "bist", now) == "bearish"
        assert stances.of(BEAR, "gold", now) == "neutral"


def test_an_unconfigured_view_holds_for_days_and_changes_only_at_midnight() -> None:
    for persona in BOTS:
        for topic in TOPICS:
            daily = []
            for day in range(120):
                views = {
                    baseline(persona, topic, now)
                    for now in moments(MONDAY + timedelta(days=day), 1, timedelta(hours=1))
                }
                assert len(views) == 1, (persona.name, topic, day)
                daily.extend(views)
            changes = sum(1 for before, after in pairwise(daily) if before != after)
            if topic not in persona.persona.stances:
                assert 0 < changes <= 120 // 3, (persona.name, topic, changes)


# --- the market's part ----------------------------------------------------------------------


def test_a_stance_never_flips_within_a_simulated_day_without_a_big_move() -> None:
    market = Market(random.Random(11))
    stances = Stances(market)
    steps = moments(MONDAY, 40, timedelta(minutes=15))
    flips_with_reason = 0
    for persona in BOTS:
        for topic in TOPICS:
            before = None
            for now in steps:
                view = stances.of(persona, topic, now)
                same_day = before is not None and istanbul(before[0]).date() == istanbul(now).date()
                if same_day and before is not None and view != before[1]:
                    move = big_move(market, topic, now)
                    assert move == ("up" if view == "bullish" else "down"), (persona.name, topic, now, before)
                    flips_with_reason += 1
                before = (now, view)
    assert flips_with_reason > 0  # forty days of the simulated market have a few big days


def test_a_big_move_against_a_stance_turns_it_for_the_rest_of_the_day() -> None:
    market = Scripted()
    stances = Stances(market)
    morning = MONDAY + timedelta(hours=10)
    assert stances.of(BULL, "bist", morning) == "bullish"
    market.moves["XU100"] = -2.0  # under twice XU100's typical day (1,2%)
    assert stances.of(BULL, "bist", morning + timedelta(hours=2)) == "bullish"
    market.moves["XU100"] = -3.0
    assert stances.of(BULL, "bist", morning + timedelta(hours=4)) == "bearish"
    market.moves["XU100"] = -0.5  # the move fades; the view stays for the day
    assert stances.of(BULL, "bist", morning + timedelta(hours=6)) == "bearish"
    assert stances.of(BULL, "bist", morning + timedelta(hours=12)) == "bearish"  # 22:00
    assert stances.of(BULL, "bist", morning + timedelta(days=1)) == "bullish"  # a new day: the baseline


def test_a_big_move_is_measured_against_the_subjects_own_volatility() -> None:
    market = Scripted()
    stances = Stances(market)
    now = MONDAY + timedelta(hours=12)
    market.moves["BTC"] = -5.0  # a busy day for bitcoin, not a big one (typical 3%)
    assert stances.of(BULL, "crypto", now) == "bullish"
    market.moves["BTC"] = -7.0
    assert stances.of(BULL, "crypto", now + timedelta(minutes=5)) == "bearish"


def test_a_big_move_with_the_stance_keeps_it_and_a_neutral_view_follows_one() -> None:
    market = Scripted()
    stances = Stances(market)
    now = MONDAY + timedelta(hours=12)
    market.moves["XU100"] = 3.5
    market.moves["GRAM"] = -2.5
    assert stances.of(BULL, "bist", now) == "bullish"
    assert stances.of(BEAR, "bist", now) == "bullish"
    assert stances.of(BEAR, "gold", now) == "bearish"


def test_macro_views_change_only_slowly() -> None:
    market = Scripted()
    stances = Stances(market)
    market.moves.update({code: -10.0 for code in SYMBOLS})
    assert {stances.of(FREE, "macro", now) for now in moments(MONDAY, 1, timedelta(hours=1))} == {
        baseline(FREE, "macro", MONDAY)
    }


# --- what was said ---------------------------------------------------------------------------


def test_a_bot_may_not_take_the_opposite_side_within_two_hours() -> None:
    memory = StanceMemory()
    memory.note("boga", "XU100", "bullish", "up", MONDAY)
    assert memory.allowed("boga", "XU100", "bullish", MONDAY + timedelta(minutes=30))
    assert memory.allowed("boga", "XU100", "neutral", MONDAY + timedelta(minutes=30))
    assert not memory.allowed("boga", "XU100", "bearish", MONDAY + timedelta(minutes=119))
    assert memory.allowed("boga", "XU100", "bearish", MONDAY + timedelta(hours=2))
    assert memory.allowed("boga", "THYAO", "bearish", MONDAY)  # another subject
    assert memory.allowed("ayi", "XU100", "bearish", MONDAY)  # another bot
    memory.note("boga", "XU100", "neutral", "down", MONDAY + timedelta(hours=1))
    assert not memory.allowed("boga", "XU100", "bearish", MONDAY + timedelta(minutes=90))  # a neutral word is no U-turn
    said = memory.last("boga", "XU100", MONDAY + timedelta(minutes=90))
    assert said is not None and (said.stance, said.direction) == ("neutral", "down")
    assert memory.last("boga", "XU100", MONDAY + timedelta(hours=4)) is None


def outlook_patterns(stance: str) -> list[re.Pattern[str]]:
    templates = OUTLOOK[stance] + tuple(
        t for (side, _), family in OUTLOOK_VS_DAY.items() if side == stance for t in family
    )
    return [re.compile(".+?".join(re.escape(fold(part)) for part in re.split(r"\{\w+\}", t))) for t in templates]


BULLISH, BEARISH = outlook_patterns("bullish"), outlook_patterns("bearish")


def side_of(text: str) -> str | None:
    folded = fold(text)
    bullish, bearish = any(p.search(folded) for p in BULLISH), any(p.search(folded) for p in BEARISH)
    return "bullish" if bullish and not bearish else "bearish" if bearish and not bullish else None


def test_after_a_crash_a_bull_neither_contradicts_itself_at_once_nor_stays_a_bull() -> None:
    chat = ChatConfig(id=-1001, topics=["crypto"])
    analyst = bot(
        "analist", tone="analytical", watchlist=["BTC"], length="long", emoji_rate=0, stances={"crypto": "bullish"}
    )
    market = Scripted()
    composer = Composer(market, random.Random(4))
    said: list[tuple[datetime, str, str | None]] = []
    start = MONDAY + timedelta(hours=10)
    for now in moments(start, 1, timedelta(minutes=5))[: 12 * 8]:  # 10:00 to 18:00
        if now >= start + timedelta(hours=2):
            market.moves["BTC"] = -8.0
        draft = composer.chatter(analyst, chat, [], now, reply_to=None)
        assert draft is not None and draft.symbol is not None
        said.append((now, draft.symbol, side_of(draft.text)))
    crash = start + timedelta(hours=2)
    assert any(side == "bullish" for at, _, side in said if at < crash)
    assert not any(side == "bearish" for at, _, side in said if at < crash)
    assert not any(side == "bullish" for at, _, side in said if at >= crash)
    assert any(side == "bearish" for at, _, side in said if at >= crash + timedelta(hours=2))
    for at, symbol, side in said:
        if side is None:
            continue
        opposite = "bearish" if side == "bullish" else "bullish"
        recent = [s for t, sym, s in said if sym == symbol and at - timedelta(hours=2) < t < at]
        assert opposite not in recent, (at, symbol, side)
