"""bots.yaml's `market:` section: sensible defaults, and every mistake named with its place."""

from __future__ import annotations

import pytest

from piyasa_bot.market_config import DEFAULT_URLS
from piyasa_bot.roster_loader import parse_roster
from tests.test_roster import ENV, MINIMAL, only_problem


def test_without_a_market_section_the_bots_use_the_simulated_market() -> None:
    market = parse_roster(MINIMAL, "bots.yaml", ENV, None).roster.market
    assert market.mode == "simulated" and market.sources == [] and market.news.feeds == []


def test_a_live_market_with_bare_sources_takes_each_kinds_defaults() -> None:
    text = MINIMAL + "market:\n  mode: live\n  sources: [{name: tcmb, kind: tcmb}, {name: y, kind: yahoo}]\n"
    tcmb, yahoo = parse_roster(text, "bots.yaml", ENV, None).roster.market.sources
    assert tcmb.base_url == DEFAULT_URLS["tcmb"] and tcmb.source_symbols() == {"USDTRY": "USD", "EURTRY": "EUR"}
    symbols = yahoo.source_symbols()
    assert symbols["XU100"] == "XU100.IS" and symbols["ONS"] == "GC=F" and symbols["THYAO"] == "THYAO.IS"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("  mode: live\n", "market: mode: live needs at least one source (or mode: simulated)"),
        ("  mode: real\n", "market.mode: "),
        (
            "  mode: live\n  sources: [{name: b, kind: binance, symbols: {DOGE: DOGEUSDT}}]\n",
            "market.sources[0].symbols: unknown symbol DOGE",
        ),
        ("  sources: [{name: b, kind: binance, url: 'ftp://x'}]\n", "market.sources[0].url: "),
        (
            "  sources: [{name: b, kind: binance, url: 'https://user:pw@proxy.local'}]\n",
            "market.sources[0].url: ",
        ),
        ("  sources: [{name: b, kind: bloomberg}]\n", "market.sources[0].kind: "),
        ("  sources: [{name: b, kind: binance}, {name: b, kind: yahoo}]\n", "market: source names must differ: b"),
        ("  sources: [{name: b, kind: binance, every_seconds: 1}]\n", "market.sources[0].every_seconds: "),
        ("  macro: {policy_rate: fifty}\n", "market.macro.policy_rate: "),
        ("  macro: {inflation_month: 2026-13}\n", "market.macro.inflation_month: "),
        ("  news: {feeds: [{name: aa, url: 'not a url'}]}\n", "market.news.feeds[0].url: "),
        ("  colour: blue\n", "market.colour: unknown key"),
    ],
)
def test_a_mistake_in_the_market_section_is_named_with_its_place(section: str, expected: str) -> None:
    problem = only_problem(MINIMAL + "market:\n" + section)
    assert expected in problem
    assert "pw" not in problem  # a password in a URL is never echoed
