"""Instruments people name that the bots do not follow: parities, other coins, foreign indices.

Knowing them matters twice. "EUR/USD" must not read as euro/TL plus
dollar/TL, and a question about DOGE deserves an honest "I don't follow it"
rather than an answer about something else. Each entry has how a bot writes
it, the folded words people type (Turkish suffixes allowed, as for our own
symbols), uppercase-only tickers that are everyday words in lowercase
("ADA" is an island, "PEPE" a stammerer), and its family, which decides how
a bot says it does not follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from piyasa_bot.roster import Topic

Family = Literal["parity", "coin", "index", "commodity", "bond", "stock", "unknown"]


@dataclass(frozen=True)
class Foreign:
    name: str  # as a bot writes it, never with a suffix attached
    family: Family
    aliases: tuple[str, ...] = ()  # folded
    tickers: tuple[str, ...] = ()  # matched as written, uppercase only


FOREIGN: tuple[Foreign, ...] = (
    Foreign("EUR/USD", "parity", ("eurusd", "eur/usd", "eur usd", "eur-usd", "euro dolar", "euro/dolar")),
    Foreign("GBP/USD", "parity", ("gbpusd", "gbp/usd", "sterlin", "gbptry", "pound")),
    Foreign("USD/JPY", "parity", ("usdjpy", "usd/jpy", "japon yeni")),
    Foreign("DOGE", "coin", ("doge", "dogecoin")),
    Foreign("XRP", "coin", ("xrp", "ripple")),
    Foreign("Cardano", "coin", ("cardano",), ("ADA",)),
    Foreign("AVAX", "coin", ("avax", "avalanche")),
    Foreign("SHIB", "coin", ("shib", "shiba")),
    Foreign("PEPE", "coin", (), ("PEPE",)),
    Foreign("BNB", "coin", ("bnb",)),
    Foreign("USDT", "coin", ("usdt", "tether")),
    Foreign("Litecoin", "coin", ("litecoin", "ltc")),
    Foreign("Nasdaq", "index", ("nasdaq",)),
    Foreign("S&P 500", "index", ("s&p", "s&p 500", "s&p500", "sp500", "spx")),
    Foreign("Dow Jones", "index", ("dow jones",)),
    Foreign("DAX", "index", ("dax",)),
    Foreign("Nikkei", "index", ("nikkei",)),
    Foreign("gümüş", "commodity", ("gumus", "silver", "xag", "xagusd")),
    Foreign("bakır", "commodity", ("bakir", "copper")),
    Foreign("doğalgaz", "commodity", ("dogalgaz", "dogal gaz")),
    Foreign("tahvil faizleri", "bond", ("tahvil", "tr10y", "tr2y", "eurobond", "gosterge tahvil")),
    Foreign("CDS", "bond", ("cds", "cds5y", "risk primi")),
)

FAMILY_TOPIC: dict[Family, Topic] = {
    "parity": "usdtry",
    "coin": "crypto",
    "index": "bist",
    "commodity": "gold",
    "bond": "macro",
    "stock": "bist",
    "unknown": "bist",
}

# Capitalised words that are not tickers, even though they look like one.
# fmt: off
NOT_TICKERS = frozenset((
    "ACIL", "HABER", "BUGUN", "YARIN", "SELAM", "HOCAM", "ABLA", "KANKA", "NEDEN", "NASIL", "PIYASA", "SATIS", "ALIM",
    "HEDEF", "DESTEK", "DIRENC", "STOP", "ZARAR", "YTD", "ABD", "FED", "ECB", "NFP", "CPI", "TUFE", "GDP", "KAP",
    "SPK", "BDDK", "TUIK", "IMF", "OPEC", "NATO", "CEO", "ETF", "IPO", "ATH", "FOMO", "HODL", "LONG", "SHORT", "PUMP",
    "DUMP", "RSI", "MACD", "EMA", "SMA", "FIBO", "LOL", "OMG", "HELP", "NOT", "YOK", "VAR", "EVET", "HAYIR", "TAMAM",
    "AMA", "ANCAK", "BENCE", "SENCE", "BORSA", "DOLAR", "ALTIN", "EURO", "GRAM", "FAIZ", "KUR", "COIN", "KRIPTO",
    "TEMETTU", "BILANCO", "HALKA", "ARZ", "VIOP", "TCMB", "PPK", "BIST", "MERHABA", "SAGOL", "TSK", "ASIRI", "COK",
    "DAHA", "HALA", "HEP", "HIC", "ZAMAN",
))
# fmt: on
