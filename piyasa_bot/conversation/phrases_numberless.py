"""Phrase bank, part 4: talking about a symbol when the numbers are missing or partial.

With real quotes a feed can be late, down, or give a price without the
day's change (the CBRT bulletin has no previous close). A bot then must
not invent a move: these templates never carry a direction word, and
NUMBERLESS_FACTS carry no number at all.

Slots: {sym} (a spoken name, no suffix attached: see phrases_market) and
{price} (formatted, with unit). Like the other banks, templates start in
lowercase and end without a full stop; the styler adds both.

- NUMBERLESS_FACTS: {sym} only, for when no fresh quote exists.
- LEVEL_ONLY: {sym} and {price}, a fresh price whose change is unknown.
- CLOSED_LAST: {sym} and {price}, the last close of any market that is shut
  (BIST after hours, FX at the weekend).
- CLOSED_LAST_BIST: the same, naming the stock exchange; only for BIST symbols.
"""

from __future__ import annotations

NUMBERLESS_FACTS = (
    "{sym} tarafına bugün bakamadım, ekranda ne var?",
    "{sym} için sakin kalmak lazım, rakamlara takılmayalım",
    "{sym} tarafında son durumu bilen var mı?",
    "bugün {sym} ekranını açmaya fırsatım olmadı",
    "{sym} gündemde ama rakamı görmeden yorum yapmayayım",
    "{sym} tarafını bugün pek takip edemedim açıkçası",
    "benim ekranda {sym} verisi gelmiyor, sizde durum ne?",
    "{sym} listemde ama bugün açıp bakamadım",
    "{sym} konusunda fikri olan var mı?",
    "{sym} tarafını akşam detaylı inceleyeceğim",
    "{sym} için acele etmeyelim, veriyi görünce konuşuruz",
    "{sym} tarafında güncel fiyatı gören yazsın",
    "{sym} için bugün yorum yapmak zor, elimde taze veri yok",
    "{sym} hakkında konuşalım ama önce güncel rakamı bir görelim",
    "{sym} tarafında ne olup bittiğini merak ediyorum",
    "ben {sym} için büyük resme bakıyorum, anlık fiyatla pek ilgilenmiyorum",
)

LEVEL_ONLY = (
    "{sym} {price} seviyesinde",
    "{sym} şu sıralar {price} civarında",
    "ekranda {sym} {price} görünüyor",
    "{sym} tarafında fiyat {price}",
    "son baktığımda {sym} {price} idi",
    "{sym} için güncel seviye {price}",
    "kısa not: {sym} {price}",
    "{sym} için rakam {price}, yorumu size bırakıyorum",
    "{sym} fiyatı {price} olarak görünüyor",
    "bilgi olsun: {sym} {price}",
    "{sym} {price} civarında, günlük değişimi göremedim",
    "{sym} için elimdeki son fiyat {price}",
    "{sym} {price} seviyesinden fiyatlanıyor",
    "{sym} için ekrandaki fiyat {price}, gün içine bakmadım",
)

CLOSED_LAST = (
    "{sym} son kapanışta {price}",
    "{sym} son seansı {price} ile bitirdi",
    "piyasa kapalı, {sym} için son fiyat {price}",
    "{sym} kapanışı {price} olarak gerçekleşti",
    "son kapanış verisi: {sym} {price}",
    "{sym} en son {price} seviyesinden kapandı",
    "{sym} tarafında kapanış {price}",
    "yeni seansı bekliyoruz, {sym} en son {price} görmüştü",
    "{sym} için yeni seansa kadar referans {price}",
    "kapanış fiyatına göre {sym} {price}",
    "{sym} son işlem gününü {price} seviyesinde tamamladı",
    "seans kapalıyken {sym} için elimizdeki rakam {price}",
    "{sym} {price} ile kapandı, açılışı bekleyelim",
)

CLOSED_LAST_BIST = (
    "borsa kapalı, {sym} son seansı {price} ile bitirdi",
    "borsa açılana kadar {sym} için son fiyat {price}",
    "şu an seans yok, {sym} son kapanışta {price}",
    "{sym} kapanışta {price}, borsa açılınca yeniden bakarız",
    "borsada işlem yok şimdi, {sym} kapanışı {price}",
    "seans kapandı, {sym} {price} seviyesinde kaldı",
)
