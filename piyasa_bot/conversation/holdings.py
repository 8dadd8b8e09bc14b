"""A persona's positions as it speaks of them: "290'dan aldığım THYAO'lar şu an %5 kârda".

bots.yaml gives each persona its holdings (roster.Holding: symbol, average
cost, optional size). Here one becomes a clause about the subject at hand,
now and then: the cost is always the configured one, and profit or loss is
said only when a fresh quote exists (Facts.quote), its sign from that price
against the cost. Tickers take an apostrophe suffix ("THYAO'lar", "BTC'ler");
a number takes the ablative its Turkish reading calls for ("290'dan",
"3.100'den", "35'ten"), which is why the suffix is computed, not templated.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import lru_cache
from string import Formatter

from piyasa_bot.conversation import phrases_holdings as phrases
from piyasa_bot.conversation.facts import Facts
from piyasa_bot.conversation.harmony import number_word
from piyasa_bot.conversation.intent import is_greeting, is_question, is_thanks, question_kind
from piyasa_bot.conversation.phrases_holdings import HELD_NAMES, HeldName
from piyasa_bot.conversation.turkish import fold, format_number, format_percent
from piyasa_bot.roster import Holding, Persona

# How often a message on a held symbol mentions the position.
CHATTER_RATE = 0.15
ANSWER_RATE = 0.3
ASKED_RATE = 0.85  # "sende var mı?", "maliyetin ne?", and advice questions
# Profit or loss, in percent, under which a position is "başa baş", "biraz" and over which it is "epey".
EVEN_PERCENT = 0.5
SMALL_PERCENT = 3.0
BIG_PERCENT = 15.0

_ASKS_POSITION = re.compile(
    r"\b(sende|sizde|elinde|elinizde|aldin mi|aldiniz mi|maliyetin|pozisyonun|tutuyor musun|var mi sende)"
)
_ONES = ("", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz")
_TENS = ("", "on", "yirmi", "otuz", "kırk", "elli", "altmış", "yetmiş", "seksen", "doksan")
_VOWELS = "aıoueiöü"
_VOICELESS = "fstkçşhp"


def holding_of(persona: Persona, symbol: str) -> Holding | None:
    return next((holding for holding in persona.holdings if holding.symbol == symbol), None)


def profit_percent(holding: Holding, price: float) -> float:
    """The position's profit (negative: loss) at `price`, in percent of its average cost."""
    return (price / holding.average_cost - 1.0) * 100.0


def with_position(
    persona: Persona, parts: list[str], facts: Facts, rng: random.Random, asked: str | None = None
) -> list[str]:
    """`parts`, now and then with a clause on the persona's position in `facts.symbol`.

    `asked` is the message being answered (None for chatter): asked about the
    bot's position or for advice it says it far more often; after thanks or a
    greeting, never. A closing question stays last.
    """
    holding = holding_of(persona, facts.symbol)
    if holding is None or rng.random() >= _rate(asked):
        return parts
    clause = position_clause(holding, facts, rng)
    at = len(parts) - 1 if parts and parts[-1].endswith("?") else len(parts)
    return [*parts[:at], clause, *parts[at:]]


def position_clause(holding: Holding, facts: Facts, rng: random.Random) -> str:
    """One clause on `holding`, with profit or loss only when `facts` has a quote for its symbol."""
    name = held_name(holding.symbol)
    cost = _number(holding.average_cost)
    slots = {"asset": name.asset, "cost": cost, "cost_from": with_ablative(cost)}
    if name.assets:
        slots["assets"] = name.assets
    if name.amount and holding.size is not None:
        slots["amount"] = name.amount.format(n=_number(holding.size, 4))
    family: tuple[str, ...] = phrases.NO_QUOTE
    if facts.quote is not None and facts.symbol == holding.symbol:
        pnl = profit_percent(holding, facts.quote.price)
        slots["pnl"] = _percent(pnl)
        family = _family(pnl)
    usable = [template for template in family if _slots(template) <= slots.keys()]
    return rng.choice(usable).format_map(slots)


def describe(holdings: Sequence[Holding]) -> str:
    """The positions in one line, for a prompt: "100 lot THYAO (ortalama maliyet 290); gram altın (...)"."""
    described = []
    for holding in holdings:
        name = held_name(holding.symbol)
        what = name.asset
        if holding.size is not None:
            size = _number(holding.size, 4)
            what = name.amount.format(n=size) if name.amount else f"{size} {name.asset}"
        described.append(f"{what} (ortalama maliyet {_number(holding.average_cost)})")
    return "; ".join(described)


def held_name(code: str) -> HeldName:
    """How the held thing is named: a listed one, else a BIST ticker ("THYAO'lar", "100 lot THYAO")."""
    return HELD_NAMES.get(code) or HeldName(code, f"{code}'{plural_suffix(code)}", "{n} lot " + code)


def plural_suffix(code: str) -> str:
    """ "lar" or "ler" for a ticker by its last vowel; a code without one is read letter by letter ("BTC'ler")."""
    vowel = next((char for char in reversed(fold(code)) if char in _VOWELS), "e")
    return "lar" if vowel in "aıou" else "ler"


def with_ablative(number: str) -> str:
    """A written number with "-dan/-den/-tan/-ten", by how it is read: "290'dan", "36,50'den", "35'ten"."""
    whole, _, fraction = number.partition(",")
    digits = fraction.strip()
    word = number_word(int(digits)) if digits.isdigit() and int(digits) else number_word(int(whole.replace(".", "")))
    vowel = next(char for char in reversed(word) if char in _VOWELS)
    consonant = "t" if word[-1] in _VOICELESS else "d"
    return f"{number}'{consonant}{'a' if vowel in 'aıou' else 'e'}n"


def _rate(asked: str | None) -> float:
    if asked is None:
        return CHATTER_RATE
    if not is_question(asked):
        return 0.0 if is_thanks(asked) or is_greeting(asked) else ANSWER_RATE
    if _ASKS_POSITION.search(fold(asked)) or question_kind(asked) == "advice":
        return ASKED_RATE
    return ANSWER_RATE


def _family(pnl: float) -> tuple[str, ...]:
    size = abs(pnl)
    if size < EVEN_PERCENT:
        return phrases.EVEN
    if pnl > 0:
        extra = phrases.PROFIT_SMALL if size < SMALL_PERCENT else phrases.PROFIT_BIG if size > BIG_PERCENT else ()
        return phrases.PROFIT + extra
    extra = phrases.LOSS_SMALL if size < SMALL_PERCENT else phrases.LOSS_BIG if size > BIG_PERCENT else ()
    return phrases.LOSS + extra


def _number(value: float, most_decimals: int = 2) -> str:
    """290.0 -> "290", 36.5 -> "36,50", a size 0.25 -> "0,25": no decimals where there are none."""
    if value == int(value):
        return format_number(value, 0)
    text = format_number(value, most_decimals)
    return text if most_decimals == 2 else text.rstrip("0").rstrip(",")


def _percent(value: float) -> str:
    size = abs(value)
    return format_percent(size, 0 if size >= 10 else 1).removesuffix(",0")


@lru_cache(maxsize=256)
def _slots(template: str) -> frozenset[str]:
    return frozenset(field for _, field, _, _ in Formatter().parse(template) if field)
