"""Turkish market chat for simulated people, written the way members write it.

Members name things in many ways ("GOLD", "XU100", "dolar/TL", "BTC'yi",
"THYAO'ya") and now and then something the bots do not follow ("EURUSD",
a mistyped "EURUS", "DOGE"), so the crowd does too. Suffixes come from
conversation/harmony.py, never glued onto a slot by hand: "altın mı",
"BTC mi", "THYAO'yu", "XU100'ü". People type in a hurry: a lowercase start,
no question mark, a "hocam" in front.

The levels people name come from `prices` (what the bots' market says a
symbol is now), so the demo does not contradict itself; without it (the
emulator alone) from a plausible band.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from piyasa_bot.conversation.harmony import accusative, dative, locative, particle
from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.symbols import SYMBOLS as MARKET_SYMBOLS

Prices = Callable[[str], float | None]  # our symbol code -> its price now, None when unknown

FIRST_NAMES = (
    "Mehmet", "Ahmet", "Mustafa", "Ali", "Hüseyin", "Hasan", "İbrahim", "Murat", "Ömer", "Emre",
    "Burak", "Serkan", "Volkan", "Kemal", "Okan", "Cem", "Barış", "Tolga", "Uğur", "Onur",
    "Can", "Deniz", "Kaan", "Selim", "Levent", "Erdem", "Gökhan", "Sinan", "Yusuf", "Tarık",
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Merve", "Büşra", "Esra", "Selin",
    "Derya", "Gizem", "Ebru", "Seda", "Özlem", "Pınar", "Aslı", "Tuğba", "Şule", "Gül",
    "Nur", "İrem", "Ceren", "Damla", "Sevgi", "Yasemin", "Nazlı", "Dilek", "Burcu", "Melike",
)  # fmt: skip

# Symbols people name levels for, as written in chat -> plausible price range and decimals.
INSTRUMENTS: dict[str, tuple[float, float, int]] = {
    "BIST100": (9_000, 11_500, 0),
    "XU100": (9_000, 11_500, 0),
    "USDTRY": (34.0, 42.0, 2),
    "dolar/TL": (34.0, 42.0, 2),
    "dolar": (34.0, 42.0, 2),
    "EURTRY": (37.0, 48.0, 2),
    "euro": (37.0, 48.0, 2),
    "BTC": (60_000, 110_000, 0),
    "bitcoin": (60_000, 110_000, 0),
    "ETH": (2_200, 4_500, 0),
    "SOL": (120, 260, 0),
    "GOLD": (2_300, 3_600, 0),
    "ons": (2_300, 3_600, 0),
    "XAUUSD": (2_300, 3_600, 0),
    "altın": (2_900, 4_400, 0),
    "gram altın": (2_900, 4_400, 0),
}
SYMBOLS = tuple(INSTRUMENTS)
# As written in chat -> the market's code for it.
CODES = {
    "BIST100": "XU100", "XU100": "XU100", "USDTRY": "USDTRY", "dolar/TL": "USDTRY", "dolar": "USDTRY",
    "EURTRY": "EURTRY", "euro": "EURTRY", "BTC": "BTC", "bitcoin": "BTC", "ETH": "ETH", "SOL": "SOL",
    "GOLD": "ONS", "ons": "ONS", "XAUUSD": "ONS", "altın": "GRAM", "gram altın": "GRAM",
}  # fmt: skip
# Named without a level: stocks and indices people ask about, and what the bots do not follow.
TRADED = ("THYAO", "ASELS", "GARAN", "brent")
INDICES = ("BIST30", "endeks", "borsa")
TRADABLE = tuple(name for name in SYMBOLS if CODES[name] != "XU100") + TRADED
OUTSIDERS = ("EURUSD", "EUR/USD", "EURUS", "DOGE", "gümüş")
# How a name is said, where its spelling would mislead the suffix (harmony.py).
READINGS = {"SOL": "sol", "euro": "yuro", "petrol": "petröl", "XAUUSD": "de", "EURUSD": "de"}
LEVEL_SPREAD = 0.03  # a level people talk about lies within 3% of the price
OUTSIDER_SHARE = 0.07  # questions about something the bots do not follow
FX = ("USDTRY", "dolar/TL", "dolar", "EURTRY", "euro", "altın", "gram altın")

GREETINGS = ("", "", "", "Selam,", "Merhaba arkadaşlar,", "Günaydın,", "Hayırlı işler,", "Arkadaşlar,", "Selamlar,")
ADDRESS_GREETINGS = ("", "", "", "Selam,", "Merhaba,", "Hocam,", "Kusura bakma,", "Hocam bir sorum var,")

TAKES = (
    "{sym} bugün yine sert dalgalanıyor",
    "{sym} tarafında alıcılar güçlü görünüyor",
    "{sym} {level} direncini kıramadı, kâr satışı gelebilir",
    "{sym} için {level} desteği çok önemli",
    "bence {sym} haftayı yukarı yönlü kapatır",
    "{sym} grafiğinde sıkışma var, kırılım yakın",
    "{sym} çok şişti, bir düzeltme şart",
    "{sym} dipten toplanıyor gibi duruyor",
    "{sym} {level} seviyesini test ediyor",
    "{sym} hacimsiz yükseliyor, pek güvenmiyorum",
    "{sym} tarafında yabancı girişi var diyorlar",
    "{sym} için kısa vadede temkinliyim",
    "{sym} {level} üstünde kalırsa yol açık",
    "{sym} sabahtan beri yatay, sıkıcı bir gün",
    "{sym_acc} {level} civarından topladım, bakalım",
    "{sym_dat} bu seviyeden girmem, biraz beklerim",
    "{sym_loc} stop patlatan çok oldu bugün",
)

MACRO = (
    "TCMB faiz kararı öncesi piyasa gergin",
    "enflasyon verisi beklentinin üstünde gelirse {sym} sarsılır",
    "faiz indirimi beklentisi {sym} için olumlu",
    "Fed tutanakları açıklanınca {sym} hareketlenir",
    "enflasyon düşmeden faiz inmez, {sym} baskı altında kalır",
    "TCMB rezervleri artıyor, bu {sym} için iyi haber",
    "mevduat faizi hâlâ cazip, para borsaya zor gelir",
    "gram altın enflasyona karşı hâlâ en sağlam liman",
    "kur tarafı sakin, TCMB kontrol ediyor gibi",
)

QUESTIONS = (
    "{sym} nereye gider?",
    "{sym} nereye gider sence?",
    "{sym} bugün?",
    "{sym} ne olur",
    "{sym} ne olur bu hafta?",
    "{sym_loc} durum ne?",
    "{sym_loc} son durum nedir?",
    "{sym} hakkında ne düşünüyorsun?",
    "{sym} düşer mi sence?",
    "{sym} toparlar mı?",
    "faiz kararı {sym_acc} nasıl etkiler?",
    "enflasyon verisi sonrası {sym} için ne bekliyorsun?",
)
# Buying and selling: only about what one can buy (not "the index" or "the market").
TRADE_QUESTIONS = (
    "{sym_acc} alayım mı?",
    "{sym_acc} alayım mı, ne dersin?",
    "{sym_acc} satsam mı?",
    "{sym_acc} tutayım mı, çıkayım mı?",
    "{sym_dat} girmek için geç mi?",
    "{sym_dat} şimdi girilir mi?",
    "{sym} için hedefin ne?",
    "{sym} için stop seviyen nerede?",
    "sence {sym} almak için geç mi kaldık?",
    "bu hafta {sym_mi}, {other_mi}?",
)
LEVEL_QUESTIONS = (
    "{sym} {level} olur mu?",
    "{sym} {level} altına sarkar mı?",
    "{sym} {level} üstünde kalır mı?",
    "{sym} {level} direncini kırar mı?",
)
FX_QUESTIONS = ("{sym} kaç olur yıl sonu", "{sym} yıl sonu kaç olur sizce?", "{sym} ay sonunda kaç olur?")
RATE_QUESTIONS = (
    "faiz kararı ne olur sizce?",
    "PPK bu ay indirir mi?",
    "TCMB faizi sabit tutar mı?",
    "faiz indirimi gelir mi bu toplantıda?",
)
OUTSIDER_QUESTIONS = (
    "{sym} ne olur",
    "{sym} nereye gider sence?",
    "{sym_acc} alayım mı?",
    "{sym_loc} durum ne?",
    "{sym} hakkında ne düşünüyorsun?",
)

REPLIES = (
    "katılıyorum, {sym} için ben de aynı fikirdeyim",
    "peki neden öyle düşünüyorsun?",
    "bu görüşe katılmıyorum, bence {sym} düşer",
    "hedef fiyat ne o zaman?",
    "mantıklı ama faiz riski var",
    "{sym} için de aynısını söyler misin?",
    "peki {sym_acc} ne yapalım?",
    "geçen hafta da böyle demiştin, tutmadı",
    "teşekkürler, bunu hiç düşünmemiştim",
    "enflasyon verisini hesaba kattın mı?",
    "vade ne kadar, kısa mı uzun mu?",
    "stop nerede peki?",
)

CLOSERS = ("", "", "", "Yatırım tavsiyesi değildir.", "Dikkatli olmak lazım.", "Bakalım görelim.", "🙂", "📈", "📉",
           "Stop koymayı unutmayın.")  # fmt: skip


def _forms(written: str) -> dict[str, str]:
    """A subject as a person writes it, in the forms a template may ask for."""
    reading = READINGS.get(written)
    return {
        "sym": written,
        "sym_acc": accusative(written, reading),
        "sym_dat": dative(written, reading),
        "sym_loc": locative(written, reading),
        "sym_mi": particle(written, reading),
    }


def _level(rng: random.Random, symbol: str, prices: Prices | None) -> str:
    low, high, decimals = INSTRUMENTS[symbol]
    price = prices(CODES[symbol]) if prices is not None else None
    if price is None:
        value = round(rng.uniform(low, high), decimals)
    else:
        # A round level near the price, as people name support and resistance.
        step = MARKET_SYMBOLS[CODES[symbol]].step
        value = round(round(price * (1 + rng.uniform(-LEVEL_SPREAD, LEVEL_SPREAD)) / step) * step, decimals)
    if decimals:
        return f"{value:.{decimals}f}".replace(".", ",")  # Turkish decimal comma
    return f"{int(value):,}".replace(",", ".")  # Turkish thousands dot


def _fill(rng: random.Random, template: str, prices: Prices | None, pool: tuple[str, ...] | None = None) -> str:
    """`template` about a subject: one with a level when it names {level}, else any of `pool`."""
    needs_level = "{level}" in template
    symbol = rng.choice(SYMBOLS if needs_level or pool is None else pool)
    slots = _forms(symbol)
    if "{other_mi}" in template:
        other = rng.choice([name for name in TRADABLE if CODES.get(name, name) != CODES.get(symbol, symbol)])
        slots["other_mi"] = particle(other, READINGS.get(other))
    if needs_level:
        slots["level"] = _level(rng, symbol, prices)
    return template.format_map(slots)


def _question(rng: random.Random, prices: Prices | None) -> str:
    roll = rng.random()
    if roll < OUTSIDER_SHARE:
        return _fill(rng, rng.choice(OUTSIDER_QUESTIONS), prices, OUTSIDERS)
    if roll < OUTSIDER_SHARE + 0.06:
        return rng.choice(RATE_QUESTIONS)
    if roll < OUTSIDER_SHARE + 0.14:
        return _fill(rng, rng.choice(FX_QUESTIONS), prices, FX)
    if roll < OUTSIDER_SHARE + 0.30:
        return _fill(rng, rng.choice(LEVEL_QUESTIONS), prices)
    if roll < OUTSIDER_SHARE + 0.60:
        return _fill(rng, rng.choice(TRADE_QUESTIONS), prices, TRADABLE)
    return _fill(rng, rng.choice(QUESTIONS), prices, SYMBOLS + TRADED + INDICES + ("petrol",))


def _sentence(*parts: str) -> str:
    text = " ".join(part for part in parts if part)
    first = "İ" if text[:1] == "i" else text[:1].upper()  # Turkish dotted capital
    return first + text[1:]


def _typed(rng: random.Random, text: str) -> str:
    """As typed in a hurry, now and then: no capital, no question mark (when a question word still tells)."""
    if rng.random() < 0.3 and is_question(text.rstrip("?")):
        text = text.rstrip("?")
    if rng.random() < 0.35:
        return text
    return _sentence(text)


def chatter(rng: random.Random, prices: Prices | None = None) -> str:
    """A take, a macro remark, or now and then a question to the group, with no addressee."""
    if rng.random() < 0.15:
        return _typed(rng, " ".join(part for part in (rng.choice(GREETINGS), _question(rng, prices)) if part))
    pool = SYMBOLS + TRADED + INDICES
    body = _fill(rng, rng.choice(TAKES if rng.random() < 0.7 else MACRO), prices, pool)
    return _sentence(rng.choice(GREETINGS), body + rng.choice((".", ".", "!", "...")), rng.choice(CLOSERS))


def question_to(rng: random.Random, username: str, prices: Prices | None = None) -> str:
    """A question that mentions a bot, the mention first or last."""
    if rng.random() < 0.6:
        return f"@{username} {_typed(rng, _question(rng, prices))}"
    greeting = rng.choice(ADDRESS_GREETINGS)
    return f"{_typed(rng, ' '.join(part for part in (greeting, _question(rng, prices)) if part))} @{username}"


def reply_text(rng: random.Random, prices: Prices | None = None) -> str:
    """A person's answer to a bot's message."""
    body = _fill(rng, rng.choice(REPLIES), prices, SYMBOLS + TRADED)
    closer = rng.choice(CLOSERS)
    if not body.endswith("?"):
        body += rng.choice((".", "!") if closer else (".", "!", ""))
    return _sentence(body, closer)
