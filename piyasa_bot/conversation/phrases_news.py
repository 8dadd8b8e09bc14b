"""Phrase bank, part 5: bringing up a headline in a bot's own words.

A bot mentions the news the way a member does: it retells the title, never
pastes a link (the guard would refuse one anyway) and never claims what the
news will do to a price. Slots: {headline} (a cleaned title, see news/feed.py)
and, in NEWS_OPENERS_WITH_SYM only, {sym} (a spoken name, no suffix).

{headline} is always the last thing in a template or closed by a quote
mark, so a title that ends in "?" or "." never meets a second mark.
Templates start in lowercase and end without a full stop; the styler adds
both. NEWS_REACTIONS follow an opener, keyed by Persona.tone.
"""

from __future__ import annotations

NEWS_OPENERS = (
    "haberlere düştü: {headline}",
    "şunu gördünüz mü: {headline}",
    '"{headline}" diye bir haber geçti',
    "gündemde bu var: {headline}",
    "ekranıma düştü: {headline}",
    "haber akışında dikkatimi çeken: {headline}",
    "okuyan oldu mu bilmiyorum: {headline}",
    "bugünün başlıklarından biri: {headline}",
    "ajanslar geçti: {headline}",
    "kısa bir haber notu: {headline}",
    '"{headline}" haberini okudunuz mu?',
    "bu haber gözden kaçmasın: {headline}",
    "şöyle bir haber var arkadaşlar: {headline}",
    '"{headline}", bugünün konusu bu sanırım',
)

NEWS_OPENERS_WITH_SYM = (
    '"{headline}" haberi {sym} için ne anlama geliyor sizce?',
    '"{headline}" - bu {sym} için ne demek sizce?',
    '"{headline}", bu {sym} tarafını nasıl etkiler dersiniz?',
    "{sym} tarafını takip edenler için not: {headline}",
    "{sym} ile ilgilenenler bu haberi kaçırmasın: {headline}",
    "{sym} açısından önemli olabilir: {headline}",
    "{sym} cephesinde gündem bu: {headline}",
    '"{headline}" haberinden sonra gözler {sym} tarafında',
    "{sym} demişken şu haber de geldi: {headline}",
)

NEWS_REACTIONS = {
    "cautious": (
        "böyle haberlerde acele etmemek lazım",
        "başlığa bakıp pozisyon alınmaz, önce detaylar",
        "ilk tepkiye güvenmem, bir gün bekleyip öyle bakarım",
        "haber akışı yoğun, ben temkinli kalıyorum",
        "bakalım piyasa nasıl okuyacak, ben kenardan izliyorum",
    ),
    "calm": (
        "panik yapacak bir şey yok, sakin sakin okuyalım",
        "not aldım, akşam detaylarına bakarım",
        "bir haberle büyük resim değişmez bence",
        "sakin olalım, piyasanın nasıl fiyatlayacağını zaman gösterir",
    ),
    "energetic": (
        "gündem hareketli arkadaşlar!",
        "işte bu, bugün konuşacak çok şey var",
        "ekranlar ısınır bununla",
        "hadi bakalım, günün konusu belli oldu",
    ),
    "analytical": (
        "asıl mesele bunun ne kadarının zaten fiyatlarda olduğu",
        "beklentiyle karşılaştırmak lazım, başlık tek başına bir şey söylemiyor",
        "başlıktan çok metnin içindeki rakamlar önemli",
        "geçmişte benzer haberlere tepki hep aynı olmadı, veriye bakalım",
    ),
    "sarcastic": (
        "vay, kimse bunu beklemiyordu herhalde",
        "bu filmi daha önce izlemiştik sanki",
        "birazdan herkes bunu önceden bildiğini söyler",
        "şaşırdım desem yalan olur",
    ),
    "enthusiastic": (
        "gündem çok canlı, bayılıyorum",
        "ne güzel, konuşacak konu çıktı",
        "heyecanlı günler bizi bekliyor",
        "tam da merak ettiğim konu, süper",
    ),
}
