"""Turkish market chat for simulated people, assembled from parts so runs vary.

The levels people name come from `prices` (what the bots' market says a
symbol is now), so the demo does not contradict itself; without it (the
emulator alone) from a plausible band.
"""

from __future__ import annotations

import random
from collections.abc import Callable

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

# symbol as written in chat -> plausible price range and decimals
INSTRUMENTS: dict[str, tuple[float, float, int]] = {
    "BIST100": (9_000, 11_500, 0),
    "XU100": (9_000, 11_500, 0),
    "USDTRY": (34.0, 42.0, 2),
    "EURTRY": (37.0, 48.0, 2),
    "BTC": (60_000, 110_000, 0),
    "ETH": (2_200, 4_500, 0),
    "SOL": (120, 260, 0),
    "GOLD": (2_300, 3_600, 0),
    "altın": (2_300, 3_600, 0),
    "gram altın": (2_900, 4_400, 0),
}
SYMBOLS = tuple(INSTRUMENTS)
# As written in chat -> the market's code for it.
CODES = {
    "BIST100": "XU100", "XU100": "XU100", "USDTRY": "USDTRY", "EURTRY": "EURTRY", "BTC": "BTC", "ETH": "ETH",
    "SOL": "SOL", "GOLD": "ONS", "altın": "GRAM", "gram altın": "GRAM",
}  # fmt: skip
LEVEL_SPREAD = 0.03  # a level people talk about lies within 3% of the price

GREETINGS = ("", "", "", "Selam,", "Merhaba arkadaşlar,", "Günaydın,", "Hayırlı işler,", "Arkadaşlar,", "Selamlar,")
ADDRESS_GREETINGS = ("", "", "Selam,", "Merhaba,", "Hocam,", "Kusura bakma,")

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
    "{sym} hakkında ne düşünüyorsun?",
    "{sym} için hedefin ne?",
    "sence {sym} almak için geç mi kaldık?",
    "{sym} nereye gider sence?",
    "{sym} tutulur mu, satılır mı?",
    "faiz kararı {sym} fiyatlamasını nasıl etkiler?",
    "enflasyon verisi sonrası {sym} için ne bekliyorsun?",
    "{sym} {level} altına sarkar mı?",
    "bu hafta {sym} mi, altın mı?",
    "{sym} için stop seviyen nerede?",
)

REPLIES = (
    "katılıyorum, {sym} için ben de aynı fikirdeyim",
    "peki neden öyle düşünüyorsun?",
    "bu görüşe katılmıyorum, bence {sym} düşer",
    "hedef fiyat ne o zaman?",
    "mantıklı ama faiz riski var",
    "{sym} için de aynısını söyler misin?",
    "geçen hafta da böyle demiştin, tutmadı",
    "teşekkürler, bunu hiç düşünmemiştim",
    "enflasyon verisini hesaba kattın mı?",
    "vade ne kadar, kısa mı uzun mu?",
)

CLOSERS = (
    "",
    "",
    "",
    "Yatırım tavsiyesi değildir.",
    "Dikkatli olmak lazım.",
    "Bakalım görelim.",
    "🙂",
    "📈",
    "📉",
    "Stop koymayı unutmayın.",
)


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


def _fill(rng: random.Random, template: str, prices: Prices | None) -> str:
    symbol = rng.choice(SYMBOLS)
    return template.format(sym=symbol, level=_level(rng, symbol, prices))


def _sentence(*parts: str) -> str:
    text = " ".join(part for part in parts if part)
    first = "İ" if text[:1] == "i" else text[:1].upper()  # Turkish dotted capital
    return first + text[1:]


def chatter(rng: random.Random, prices: Prices | None = None) -> str:
    """A take, a macro remark, or now and then a question to the group, with no addressee."""
    if rng.random() < 0.15:
        return _sentence(rng.choice(GREETINGS), _fill(rng, rng.choice(QUESTIONS), prices), "")
    body = _fill(rng, rng.choice(TAKES if rng.random() < 0.7 else MACRO), prices)
    return _sentence(rng.choice(GREETINGS), body + rng.choice((".", ".", "!", "...")), rng.choice(CLOSERS))


def question_to(rng: random.Random, username: str, prices: Prices | None = None) -> str:
    """A question that mentions a bot, the mention first or last."""
    question = _fill(rng, rng.choice(QUESTIONS), prices)
    if rng.random() < 0.6:
        return f"@{username} {question}"
    return _sentence(rng.choice(ADDRESS_GREETINGS), question, f"@{username}")


def reply_text(rng: random.Random, prices: Prices | None = None) -> str:
    """A person's answer to a bot's message."""
    body = _fill(rng, rng.choice(REPLIES), prices)
    if not body.endswith("?"):
        body += rng.choice((".", "!", ""))
    return _sentence(body, rng.choice(CLOSERS))
