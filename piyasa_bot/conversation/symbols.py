"""The instruments the bots talk about: names, topics, ranges, and how to spot them.

A symbol has one code (what watchlists and Draft.symbol use), the names a
person might type for it (matched on folded text, Turkish suffixes allowed:
"dolara", "BTC'de", "GOLD'u"), the names a bot uses when writing, and the
band its simulated price stays in. In a question the asked symbol comes
first ("faiz kararı BTC'yi nasıl etkiler?" is about BTC), and what we do not
follow (foreign.py: EUR/USD, DOGE; or an unknown code such as "EURUS") is
found as well, so that an answer can say so instead of changing the subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from piyasa_bot.conversation.foreign import FOREIGN, NOT_TICKERS, Foreign
from piyasa_bot.conversation.intent import question_at
from piyasa_bot.conversation.turkish import fold
from piyasa_bot.roster import Topic

Session = Literal["bist", "fx", "crypto", "static"]


@dataclass(frozen=True)
class Symbol:
    code: str
    topic: Topic
    spoken: tuple[str, ...]  # how bots write it
    aliases: tuple[str, ...]  # folded words people type, beyond the code
    low: float
    high: float
    daily_vol: float  # typical daily move, as a fraction
    decimals: int
    unit: str  # "", " TL" or " $", appended to a price
    session: Session
    step: float  # round-number spacing for support/resistance levels
    beta: float = 0.0  # how much a BIST stock follows XU100


def _stock(code: str, low: float, high: float, step: float, beta: float = 1.0, names: tuple[str, ...] = ()) -> Symbol:
    return Symbol(code, "bist", (code,), names, low, high, 0.02, 2, " TL", "bist", step, beta)


# fmt: off
SYMBOLS: dict[str, Symbol] = {
    s.code: s
    for s in (
        Symbol("XU100", "bist", ("BIST100", "BIST", "endeks", "borsa", "BIST 100"),
               ("bist", "bist100", "xu100", "borsa", "endeks", "bist 100"), 9000, 11000, 0.012, 2, "", "bist", 100),
        Symbol("XU030", "bist", ("BIST30", "BIST 30"), ("bist30", "bist 30", "xu030", "xu30"),
               9800, 12200, 0.013, 2, "", "bist", 100),
        Symbol("USDTRY", "usdtry", ("dolar/TL", "dolar", "kur", "USDTRY"),
               ("dolar", "usd", "usdtry", "usd/try", "doviz", "kur"), 35, 41, 0.003, 2, "", "fx", 0.5),
        Symbol("EURTRY", "usdtry", ("euro/TL", "euro", "EURTRY"), ("euro", "avro", "eur", "eurtry", "eur/try"),
               38, 48, 0.005, 2, "", "fx", 0.5),
        Symbol("GRAM", "gold", ("gram altın", "gram", "altın"), ("gram altin", "gram", "altin", "gramaltin"),
               3000, 4500, 0.009, 2, " TL", "fx", 50),
        Symbol("ONS", "gold", ("ons altın", "ons", "XAUUSD"), ("ons", "ons altin", "xauusd", "xau/usd", "xau", "gold"),
               2750, 3350, 0.009, 2, " $", "fx", 25),
        Symbol("BTC", "crypto", ("BTC", "bitcoin"), ("btc", "bitcoin", "bitkoin"), 80000, 120000, 0.03, 0, " $",
               "crypto", 1000),
        Symbol("ETH", "crypto", ("ETH", "ethereum"), ("eth", "ethereum", "ether"), 2500, 4500, 0.04, 0, " $",
               "crypto", 50),
        Symbol("SOL", "crypto", ("SOL", "solana"), ("solana",), 120, 260, 0.05, 2, " $", "crypto", 5),
        Symbol("BRENT", "macro", ("brent", "brent petrol", "petrol"), ("brent", "petrol"), 60, 85, 0.015, 2, " $",
               "fx", 1),
        Symbol("POLICY", "macro", ("politika faizi", "TCMB faizi", "faiz"),
               ("faiz", "politika faizi", "tcmb", "merkez bankasi", "ppk"), 40, 50, 0.0, 2, "", "static", 0.5),
        _stock("THYAO", 270, 340, 5, names=("thy", "turk hava yollari")),
        _stock("GARAN", 105, 140, 2, 1.2, ("garanti bankasi", "garanti bbva")),
        _stock("AKBNK", 52, 72, 1, 1.2, ("akbank",)),
        _stock("ASELS", 100, 160, 5, 0.8, ("aselsan",)),
        _stock("EREGL", 24, 32, 0.5, names=("eregli", "erdemir")),
        _stock("BIMAS", 450, 560, 10, 0.7, ("bim",)),
        _stock("KCHOL", 160, 210, 5, names=("koc holding",)),
        _stock("SISE", 36, 48, 1, names=("sisecam",)),
        _stock("TUPRS", 140, 180, 5, 0.9, ("tupras",)),
        _stock("FROTO", 900, 1150, 25, 0.9, ("ford otosan",)),
    )
}
# fmt: on

# EURTRY and GRAM are quoted from these hidden legs so that cross rates agree.
EURUSD = Symbol("EURUSD", "usdtry", ("EURUSD",), (), 1.06, 1.17, 0.004, 4, "", "fx", 0.01)
TROY_OUNCE_GRAMS = 31.1035

# Words that name a topic without naming a symbol (symbols imply their topic anyway).
TOPIC_WORDS: dict[Topic, tuple[str, ...]] = {
    "bist": ("hisse", "bilanco", "temettu", "halka arz"),
    "usdtry": ("doviz",),
    "gold": ("kulce", "ceyrek altin", "yarim altin"),
    "crypto": ("kripto", "coin", "altcoin"),
    "macro": ("enflasyon", "tufe", "fed", "makro", "resesyon", "issizlik", "buyume verisi"),
}

_SUFFIX = r"(?:['’][a-z]*|[a-z]{0,6})"
# "altında" is also "below" (9.800 altında): gold only with suffixes that cannot mean that.
# "ons" is short, but "onsu", "onsa", "onsta" can only be the ounce ("onsuz", without him, cannot).
_NARROW_SUFFIX = {"altin": r"(?:['’][a-z]*|in|i|lar|lari|ci|cilar)?", "ons": r"(?:['’][a-z]*|u|un|a|ta|tan)?"}


def _suffix(word: str) -> str:
    if word in _NARROW_SUFFIX:
        return _NARROW_SUFFIX[word]
    return "" if len(word) <= 3 and word != "btc" else _SUFFIX


def _pattern(words: set[str]) -> re.Pattern[str]:
    # Short ambiguous words ("sol" is "left", "kur" is "set up") only count as the bare word or ticker.
    body = "|".join(re.escape(w) + _suffix(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


_PATTERNS = {code: _pattern({fold(code), *s.aliases}) for code, s in SYMBOLS.items()}
_FOREIGN = [(f, _pattern(set(f.aliases))) for f in FOREIGN if f.aliases]
# Case matters for these: "SOL" and "ADA" as tickers, "sol" (left) and "ada" (island) as words.
_CASED: list[tuple[str | Foreign, re.Pattern[str]]] = [("SOL", re.compile(r"(?<![A-Za-z0-9])SOL(?![a-z0-9])"))]
_CASED += [(f, re.compile(rf"(?<![A-Za-z0-9]){t}(?:['’]\w*)?(?!\w)")) for f in FOREIGN for t in f.tickers]
# "$" as a word is the dollar ("$ ne olur"); next to a number it is a unit ("97.000 $").
_DOLLAR = re.compile(r"(?<![\w$])(?<![0-9] )\$(?!\s?[0-9])")
# "altında", "altına", "altından": gold, unless what comes before makes them "below" (_means_below).
_GOLD_CASES = re.compile(r"(?<![a-z0-9])altin(?:da|a|dan)(?![a-z0-9])")
_BELOW = re.compile(
    r"(?:\d[\d.,]*\s*(?:bin|milyon|k|tl|\$)?|\w*(?:nin|nun|[^aeiou\s'’][iu]n)|\w*['’]n?[iu]n|seviye\w*|destek\w*|"
    r"baski|kontrol|etki|tehdit|gozetim|risk)\s*$"
)
_AFTER_NUMBER = re.compile(r"\d[\d.,]*\s*(?:bin|milyon|k)?\s*$")
_TICKER = re.compile(r"(?<![\w$])[A-Z][A-Z0-9]{3,7}(?=['’]|[^\w]|$)")
_ANY_NAME = re.compile("|".join(p.pattern for p in (*_PATTERNS.values(), *(p for _, p in _FOREIGN))))


def find_symbols(text: str) -> list[str]:
    """Symbol codes named in `text`, without duplicates: in a question the asked one first, then in order.

    The asked one is the last named before the first question word ("faiz kararı BTC'yi nasıl etkiler?"
    asks about BTC), else the first named after it.
    """
    return list(_scan(text)[0])


def find_unfollowed(text: str) -> list[Foreign]:
    """What `text` names that we do not follow: known outsiders (EUR/USD, DOGE) and unknown tickers ("EURUS")."""
    return list(_scan(text)[1])


@lru_cache(maxsize=4096)  # context lines are scanned again at every turn
def _scan(text: str) -> tuple[tuple[str, ...], tuple[Foreign, ...]]:
    folded = fold(text)
    spans: list[tuple[int, int, str | Foreign]] = []
    for code, pattern in _PATTERNS.items():
        spans.extend((m.start(), m.end(), code) for m in pattern.finditer(folded) if not _is_unit(code, folded, m))
    for foreign, pattern in _FOREIGN:
        spans.extend((match.start(), match.end(), foreign) for match in pattern.finditer(folded))
    for name, pattern in _CASED:
        spans.extend((match.start(), match.end(), name) for match in pattern.finditer(text))
    spans.extend((match.start(), match.end(), "USDTRY") for match in _DOLLAR.finditer(text))
    spans.extend((m.start(), m.end(), "GRAM") for m in _GOLD_CASES.finditer(folded) if not _means_below(folded, m))
    spans.extend((match.start(), match.end(), Foreign(match.group(), "unknown")) for match in _unknown_tickers(text))
    # A name inside a longer one is not a name of its own: "altın" in "ons altın", "bist" in "bist 30".
    spans.sort(key=lambda span: (span[0], span[0] - span[1]))
    kept: list[tuple[int, str]] = []
    outsiders: list[Foreign] = []
    covered_to = -1
    for start, end, named in spans:
        if end <= covered_to:
            continue
        covered_to = max(covered_to, end)
        if isinstance(named, str):
            kept.append((start, named))
        elif named not in outsiders:
            outsiders.append(named)
    codes = list(dict.fromkeys(code for _, code in kept))
    asked = _asked(kept, question_at(text))
    if asked is not None:
        codes.remove(asked)
        codes.insert(0, asked)
    return tuple(codes), tuple(outsiders)


def _is_unit(code: str, folded: str, match: re.Match[str]) -> bool:
    """ "3.000 doları görür mü": a currency after a number is the unit of a price, not the subject."""
    return code in ("USDTRY", "EURTRY") and bool(_AFTER_NUMBER.search(folded, 0, match.start()))


def _means_below(folded: str, match: re.Match[str]) -> bool:
    """ "9.800 altında", "desteğin altına", "baskı altında" mean below; "altında durum ne?" is gold."""
    return bool(_BELOW.search(folded, 0, match.start()))


def _asked(named: list[tuple[int, str]], question: int | None) -> str | None:
    if question is None or not named:
        return None
    before = [code for start, code in named if start < question]
    return before[-1] if before else named[0][1]


def _unknown_tickers(text: str) -> list[re.Match[str]]:
    """Capitalised codes that are none of ours nor a known outsider; none when the whole message shouts."""
    letters = [char for char in text if char.isalpha()]
    if not letters or sum(char.isupper() for char in letters) > 0.6 * len(letters):
        return []
    return [
        match
        for match in _TICKER.finditer(text)
        if sum(char.isalpha() for char in match.group()) >= 3
        and fold(match.group()).upper() not in NOT_TICKERS
        and not _ANY_NAME.fullmatch(fold(match.group()))
    ]


def find_topics(text: str) -> list[Topic]:
    folded = fold(text)
    found = [s.topic for s in (SYMBOLS[c] for c in find_symbols(text))]
    for topic, words in TOPIC_WORDS.items():
        if any(re.search(rf"(?<![a-z]){re.escape(word)}", folded) for word in words):
            found.append(topic)
    return list(dict.fromkeys(found))


def canonical(name: str) -> str | None:
    """A watchlist entry ("BIST100", "gold", "btc") to its symbol code, or None if unknown."""
    key = fold(name.strip())
    if key.upper() in SYMBOLS:
        return key.upper()
    if key in ("gold", "xau"):
        return "GRAM"
    found = find_symbols(name)
    return found[0] if found else None


def watchlist_codes(watchlist: list[str]) -> list[str]:
    """Known symbol codes of a persona's watchlist, in its order; unknown entries are skipped."""
    codes = (canonical(entry) for entry in watchlist)
    return list(dict.fromkeys(code for code in codes if code))


def symbols_for_topic(topic: Topic) -> list[str]:
    return [code for code, s in SYMBOLS.items() if s.topic == topic]
