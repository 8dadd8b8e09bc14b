"""Guard: what may never be sent."""

from __future__ import annotations

import pytest

from piyasa_bot.conversation.guard import guard


@pytest.mark.parametrize(
    "text,reason",
    [
        ("Bu hissede kesin kazanç var", "promises profit"),
        ("Garanti kâr, kaçırmayın", "promises profit"),
        ("GARANTİ KAR!!", "promises profit"),
        ("bu coin %100 kazandırır", "promises profit"),
        ("BTC kesin yükselecek", "promises profit"),
        ("kesinlikle yükselir bence", "promises profit"),
        ("yüzde yüz kazanırsın", "promises profit"),
        ("kazanç garantili sistem", "promises profit"),
        ("risksiz kazanç fırsatı", "promises profit"),
        ("guaranteed profit every week", "promises profit"),
        ("Bu bir yatırım tavsiyesidir.", "claims to be investment advice"),
        ("bu bir yatırım tavsiyesi, alın", "claims to be investment advice"),
        ("Yatırım tavsiyesi: THYAO al", "claims to be investment advice"),
        ("this is investment advice", "claims to be investment advice"),
        ("detaylar https://example.com adresinde", "link"),
        ("www.kazanc.net", "link"),
        ("kanal: t.me/piyasa", "link"),
        ("bistsinyal.com.tr üzerinden", "link"),
        ("sinyaller SinyalGrup.IO da", "link"),
        ("bana yaz 0532 123 45 67", "phone number"),
        ("+90 532 123 45 67", "phone number"),
        ("+905321234567", "phone number"),
        ("05321234567 arayın", "phone number"),
        ("0 (532) 123-45-67", "phone number"),
        ("532 123 45 67", "phone number"),
        ("", "empty"),
        ("   \n ", "empty"),
        ("a" * 4097, "too long"),
        ("🚀" * 2049, "too long"),  # 4098 UTF-16 units
    ],
)
def test_rejected(text: str, reason: str) -> None:
    verdict = guard(text)
    assert not verdict.ok and verdict.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "BIST100 bugün %1,35 artıda, 9.845,20 seviyesinde.",
        "Yatırım tavsiyesi değildir.",
        "YTD",
        "yatırım tavsiyesi değil, kendi görüşüm",
        "Bu mesaj yatırım tavsiyesi niteliği taşımaz.",
        "not investment advice",
        "kesin bir şey yok, bakalım",
        "Kesin değil ama yukarı bakıyorum",
        "Gram altın 3.845,60 TL, ons 2.945,30 $.",
        "BTC 97.450 $ civarında, 95.000 desteği önemli.",
        "Politika faizi %46 seviyesinde.",
        "10.100 üstü kalıcı olursa 10.300 konuşulur",
        "Tamam. Bence sabır.",
        "9.800 altına sarkarsa 9.600 gündeme gelir.",
        "kâr satışı gelebilir",
        "a" * 4096,
        "🚀" * 2048,
    ],
)
def test_allowed(text: str) -> None:
    assert guard(text).ok, guard(text)
