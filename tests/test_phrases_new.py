"""The numberless and news phrase banks: honest when numbers are missing, safe with any headline."""

from __future__ import annotations

import re
from string import Formatter
from typing import get_args

import pytest

from piyasa_bot.conversation import phrases_news as news
from piyasa_bot.conversation import phrases_numberless as numberless
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.phrases_market import MOVE, MOVED
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import compare_key, fold, format_number
from piyasa_bot.roster import Persona

FAMILIES: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "NUMBERLESS_FACTS": (numberless.NUMBERLESS_FACTS, {"sym"}),
    "LEVEL_ONLY": (numberless.LEVEL_ONLY, {"sym", "price"}),
    "CLOSED_LAST": (numberless.CLOSED_LAST, {"sym", "price"}),
    "CLOSED_LAST_BIST": (numberless.CLOSED_LAST_BIST, {"sym", "price"}),
    "NEWS_OPENERS": (news.NEWS_OPENERS, {"headline"}),
    "NEWS_OPENERS_WITH_SYM": (news.NEWS_OPENERS_WITH_SYM, {"headline", "sym"}),
    **{f"NEWS_REACTIONS[{tone}]": (lines, set()) for tone, lines in news.NEWS_REACTIONS.items()},
}
NUMBERLESS_FAMILIES = ("NUMBERLESS_FACTS", "LEVEL_ONLY", "CLOSED_LAST", "CLOSED_LAST_BIST")
ALL = [(name, template) for name, (templates, _) in FAMILIES.items() for template in templates]

SPOKEN = sorted({name for symbol in SYMBOLS.values() for name in symbol.spoken})
PRICES = [format_number(s.low, s.decimals) + s.unit for s in SYMBOLS.values()]
HEADLINES = [
    "Merkez Bankası politika faizini sabit tuttu",
    "Enflasyon beklentileri anketi yayımlandı.",
    "Fed faiz indirimine gidecek mi?",
    "Brent petrolde OPEC+ toplantısı öncesi bekleyiş",
    "Borsa İstanbul'da 'BIST 100' endeksine yeni şirketler",
]

# Words that claim which way a price went, beyond the FACTS-only MOVE/MOVED words: folded stems.
DIRECTION = re.compile(
    r"(?<![a-z])(?:yuksel|dus(?!un)|geril|arti|eksi|yukari|asagi|prim|kayip|kayb|kazan|toparlan|"
    r"rekor|zirve|dip|yesil|kirmizi|ralli|cakil|cok[tm]|firla|uct|sicra|alicil|saticil|baski|"
    r"yatay|pozitif|negatif|zayif|guclen|degerlen|ucuzla|pahalan)"
)


# "Haberlere düştü" is how news "falls" onto the wire, not a price falling.
NEWS_IDIOMS = ("haberlere düştü", "ekranıma düştü")


def slots(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


def direction_words(text: str) -> set[str]:
    for idiom in NEWS_IDIOMS:
        text = text.replace(idiom, "")
    folded = fold(text)
    listed = {fold(word) for word in (*MOVE["up"], *MOVE["down"], *MOVED["up"], *MOVED["down"])}
    words = set(re.findall(r"[a-z]+", folded))
    return (words & listed) | {match.group() for match in DIRECTION.finditer(folded)}


def fill(template: str, **values: str) -> str:
    # format_map with exactly the documented slots: an undocumented one raises KeyError.
    return template.format_map(values)


@pytest.mark.parametrize("name,template", ALL)
def test_every_template_uses_exactly_its_documented_slots(name: str, template: str) -> None:
    assert slots(template) == FAMILIES[name][1], template


@pytest.mark.parametrize("name,template", ALL)
def test_every_filled_template_passes_the_guard(name: str, template: str) -> None:
    wanted = FAMILIES[name][1]
    for index, spoken in enumerate(SPOKEN):
        values = {"sym": spoken, "price": PRICES[index % len(PRICES)], "headline": HEADLINES[index % len(HEADLINES)]}
        text = fill(template, **{slot: values[slot] for slot in wanted})
        verdict = guard(text)
        assert verdict.ok, (text, verdict.reason)


@pytest.mark.parametrize("name,template", ALL)
def test_no_template_claims_a_direction(name: str, template: str) -> None:
    assert not direction_words(template.replace("{sym}", "").replace("{headline}", "")), template


@pytest.mark.parametrize("template", numberless.NUMBERLESS_FACTS)
def test_numberless_facts_carry_no_number(template: str) -> None:
    for spoken in ("dolar", "gram altın", "THYAO"):
        text = fill(template, sym=spoken)
        assert not re.search(r"\d", text), text
        assert "%" not in text


@pytest.mark.parametrize("name", NUMBERLESS_FAMILIES)
def test_the_only_number_in_a_level_or_close_is_the_price(name: str) -> None:
    for template in FAMILIES[name][0]:
        assert not re.search(r"\d|%", template), template


@pytest.mark.parametrize("name,template", ALL)
def test_no_suffix_is_glued_to_a_slot(name: str, template: str) -> None:
    # "dolar'da" and "BIST'te" differ by vowel harmony; a template cannot know which one it gets.
    assert not re.search(r"\{(?:sym|price)\}['’\w]", template), template


def test_a_headline_ending_in_punctuation_never_meets_a_second_mark() -> None:
    values = {"headline": "Faiz indirimi gelir mi?", "sym": "BIST"}
    for template in news.NEWS_OPENERS + news.NEWS_OPENERS_WITH_SYM:
        text = fill(template, **{slot: values[slot] for slot in slots(template)})
        assert not re.search(r"\?[.,:;?!]", text), text


def test_generic_closes_do_not_name_the_stock_exchange() -> None:
    # CLOSED_LAST is also said of dolar at the weekend, when "borsa kapalı" would be wrong.
    for template in numberless.CLOSED_LAST:
        assert not re.search(r"borsa|hisse", fold(template)), template


def test_there_is_a_reaction_for_every_persona_tone() -> None:
    tones = set(get_args(Persona.model_fields["tone"].annotation))
    assert set(news.NEWS_REACTIONS) == tones
    assert all(len(lines) >= 3 for lines in news.NEWS_REACTIONS.values())


def test_the_banks_are_large_enough_to_avoid_repeats() -> None:
    assert len(numberless.NUMBERLESS_FACTS) >= 12
    assert len(numberless.LEVEL_ONLY) >= 12
    assert len(numberless.CLOSED_LAST) >= 12
    assert len(news.NEWS_OPENERS) >= 10


@pytest.mark.parametrize("name", list(FAMILIES))
def test_templates_in_a_family_are_all_different(name: str) -> None:
    # compare_key drops digits and punctuation: what a reader sees as "the same sentence".
    keys = [compare_key(t) for t in FAMILIES[name][0]]
    assert len(keys) == len(set(keys)), name
