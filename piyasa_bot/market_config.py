"""The `market:` section of bots.yaml: where the bots' prices, macro facts and news come from.

    market:
      mode: live                    # or simulated (the default): a seeded market, no network
      sources:
        - {name: tcmb, kind: tcmb}                  # CBRT's today.xml: USDTRY, EURTRY
        - {name: binance, kind: binance}            # 24-hour ticker: BTC, ETH, SOL
        - {name: yahoo, kind: yahoo}                # v8 chart: XU100, BIST30, stocks, ons gold, brent
      macro: {policy_rate: 39.5, inflation: 32.87, inflation_month: "2026-10", next_mpc: 2026-12-11}
      news:
        feeds: [{name: aa-ekonomi, url: "https://www.aa.com.tr/tr/rss/default?cat=ekonomi"}]

Every source has a default base URL, fetch interval, staleness bound and
symbol map (`DEFAULT_*` below); each can be set, so tests and users behind a
proxy point a source elsewhere. A source's `symbols` maps our codes
(conversation/symbols.py) to the source's own names. Gram gold is derived
from ons gold and USD/TRY when no source quotes it directly.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SourceKind = Literal["tcmb", "binance", "yahoo"]

DEFAULT_URLS: dict[str, str] = {
    "tcmb": "https://www.tcmb.gov.tr/kurlar/today.xml",  # the whole file: CBRT publishes no API base
    "binance": "https://api.binance.com",
    "yahoo": "https://query1.finance.yahoo.com",
}
# Seconds between fetches: the CBRT publishes once a working day (15:30); the others move by the minute.
DEFAULT_EVERY: dict[str, float] = {"tcmb": 900, "binance": 30, "yahoo": 120}
# Seconds after which a quote is no longer presented as "now". The CBRT's rate is also dropped once a
# newer bulletin is due (see live_market.py); Yahoo's BIST quotes come 15 minutes late to begin with.
DEFAULT_STALE_AFTER: dict[str, float] = {"tcmb": 4 * 86400, "binance": 300, "yahoo": 1800}
DEFAULT_SYMBOLS: dict[str, dict[str, str]] = {
    "tcmb": {"USDTRY": "USD", "EURTRY": "EUR"},
    "binance": {"BTC": "BTCUSDT", "ETH": "ETHUSDT", "SOL": "SOLUSDT"},
    "yahoo": {
        "XU100": "XU100.IS",
        "XU030": "XU030.IS",
        "ONS": "GC=F",
        "BRENT": "BZ=F",
    },
}
# Stocks: Yahoo's ticker is the BIST code with ".IS" (see `source_symbols`).
YAHOO_STOCK_SUFFIX = ".IS"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("no user or password in the URL (it would reach logs and pages)")
    return value


class QuoteSource(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    kind: SourceKind
    url: str | None = None  # None: DEFAULT_URLS[kind]
    every_seconds: Annotated[float | None, Field(ge=5, le=86400)] = None
    stale_after_seconds: Annotated[float | None, Field(ge=30, le=7 * 86400)] = None
    symbols: dict[str, str] | None = None  # our code -> the source's name; None: the defaults

    _url = field_validator("url")(lambda value: None if value is None else _http_url(value))

    @field_validator("symbols")
    @classmethod
    def _known_symbols(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        from piyasa_bot.conversation.symbols import SYMBOLS  # symbols.py imports the roster's Topic

        unknown = sorted(code for code in value if code.upper() not in SYMBOLS)
        if unknown:
            raise ValueError(f"unknown symbol {', '.join(unknown)}; known: {', '.join(SYMBOLS)}")
        if any(not str(name).strip() for name in value.values()):
            raise ValueError("every symbol needs the source's name for it")
        return {code.upper(): str(name).strip() for code, name in value.items()}

    @property
    def base_url(self) -> str:
        return self.url or DEFAULT_URLS[self.kind]

    @property
    def every(self) -> float:
        return self.every_seconds or DEFAULT_EVERY[self.kind]

    @property
    def stale_after(self) -> float:
        return self.stale_after_seconds or DEFAULT_STALE_AFTER[self.kind]

    def source_symbols(self) -> dict[str, str]:
        """Our code -> the source's name: as configured, else the kind's defaults (Yahoo: every BIST stock too)."""
        if self.symbols is not None:
            return dict(self.symbols)
        symbols = dict(DEFAULT_SYMBOLS[self.kind])
        if self.kind == "yahoo":
            from piyasa_bot.conversation.symbols import SYMBOLS

            symbols |= {code: code + YAHOO_STOCK_SUFFIX for code, spec in SYMBOLS.items() if spec.beta}
        return symbols


class Macro(_Strict):
    """Facts no quote source gives: written here by the operator, never taken from code."""

    policy_rate: Annotated[float | None, Field(ge=0, le=200)] = None  # percent
    inflation: Annotated[float | None, Field(ge=-50, le=1000)] = None  # annual CPI, percent
    inflation_month: Annotated[str | None, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None  # "2026-10"
    next_mpc: date | None = None  # the next monetary policy committee (PPK) meeting


class NewsFeed(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    url: str

    _url = field_validator("url")(_http_url)


class News(_Strict):
    feeds: list[NewsFeed] = Field(default_factory=list)
    every_seconds: Annotated[float, Field(ge=60, le=86400)] = 600
    max_age_hours: Annotated[float, Field(gt=0, le=48)] = 6  # an older headline is not news
    share: Annotated[float, Field(ge=0, le=1)] = 0.15  # of chatter turns that may bring up a fresh headline


class MarketConfig(_Strict):
    mode: Literal["simulated", "live"] = "simulated"
    sources: list[QuoteSource] = Field(default_factory=list)
    macro: Macro = Field(default_factory=Macro)
    news: News = Field(default_factory=News)

    @model_validator(mode="after")
    def _consistent(self) -> MarketConfig:
        names = [source.name for source in self.sources]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"source names must differ: {', '.join(repeated)} given twice")
        feeds = [feed.name for feed in self.news.feeds]
        if len(set(feeds)) != len(feeds):
            raise ValueError("news feed names must differ")
        if self.mode == "live" and not self.sources:
            raise ValueError("mode: live needs at least one source (or mode: simulated)")
        return self
