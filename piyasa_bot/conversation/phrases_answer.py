"""Phrase bank, part 3: answering a person who asked or spoke to a bot.

Advice-shaped questions ("alınır mı?") get a frame that says this is a
personal view, never advice, and never a promise.
"""

from __future__ import annotations

ANSWER_OPENERS = {
    "forecast": (
        "benim görüşüm şöyle:",
        "kısaca özetleyeyim:",
        "şöyle bakıyorum:",
        "bana sorarsan,",
        "kendi yorumumu söyleyeyim:",
        "tahmin zor, yine de deneyeyim",
        "güzel soru",
    ),
    "advice": (
        "kimseye al sat demem, kendi planımı söyleyeyim:",
        "karar senin tabii, ben şöyle düşünüyorum:",
        "bu biraz risk iştahına bağlı",
        "tavsiye değil, sadece kendi bakışım",
        "herkesin vadesi farklı, ben kendi açımdan söyleyeyim:",
        "kendi stratejini bozma derim",
    ),
    "level": ("son baktığımda şöyle:", "hemen bakayım:", "güncel tablo şöyle:", "anlık durum şu:", "rakamlar şöyle:"),
    "why": ("birkaç sebep var bence", "benim okumam şu:", "tek sebep yok tabii", "bence iş şurada düğümleniyor"),
    "general": ("şöyle söyleyeyim:", "kısaca söyleyeyim:", "benim açımdan durum şu:", "güzel konu", "özetle şöyle:"),
}

WHY_FRAMES = (
    "bence sebep {driver}",
    "{driver} etkili oluyor",
    "en büyük etken bence {driver}",
    "{driver} tarafı fiyatlamayı sürüklüyor",
    "{driver} konusu öne çıktı",
)

ADVICE_NOTES = (
    "herkes kendi risk profiline göre karar vermeli",
    "stop seviyesini önceden belirlemek şart",
    "tek seferde değil parça parça düşünmek lazım",
    "kaybetmeyi göze alamayacağın parayla girme",
    "vadeni netleştirmeden karar verme derim",
)

GREETING_REPLIES = ("selam, hoş geldin", "merhaba, hoş geldin", "selamlar", "aleyküm selam", "selam, nasılsın")

THANKS_REPLIES = (
    "rica ederim",
    "ne demek, her zaman",
    "estağfurullah",
    "rica ederim, kolay gelsin",
    "ne demek, bol şans",
    "ne demek, sorun olmaz",
)

UNKNOWN_SYMBOL = (
    "onu yakından takip etmiyorum açıkçası, ben daha çok {sym} tarafındayım",
    "o konuda fikir yürütecek kadar bakmadım, {sym} için söyleyebilirim",
    "onu bilmiyorum, ama {sym} tarafında durum şöyle:",
    "oraya hiç bakmadım, benim alanım {sym}",
)

STATEMENT_ACKS = ("anlıyorum", "mantıklı", "ilginç bir nokta", "not aldım", "olabilir", "doğru söze ne denir")
