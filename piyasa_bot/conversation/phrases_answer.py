"""Phrase bank, part 3: answering a person who asked or spoke to a bot.

Advice-shaped questions ("alınır mı?") get a frame that says this is a
personal view, never advice, and never a promise. A subject the bots do not
follow (EUR/USD, DOGE, an unknown code) gets an honest short answer that
says so: {name} is the subject as a bot writes it, {guess} a close name with
its question particle already attached ("EUR/USD mi"). No suffix on {name}.
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

UNFOLLOWED = (
    "{name} tarafını takip etmiyorum açıkçası, yorum yapmayayım",
    "açıkçası {name} benim baktığım şeylerden değil",
    "{name} için bir şey diyemem, hiç izlemiyorum",
    "{name} konusunda bilgim yok, bilmeden konuşmayayım",
    "{name} benim ekranımda yok, o yüzden yorum yapamam",
    "dürüst olayım, {name} hakkında bir fikrim yok",
    "{name} ile hiç ilgilenmedim, sallamayayım şimdi",
    "{name} benim alanım değil, yanlış bir şey söylemek istemem",
    "{name} konusunu hiç takip etmedim, fikir beyan etmeyeyim",
    "{name} için yorum yapacak kadar bakmadım",
)
# A word before, now and then: "valla DOGE benim alanım değil".
UNFOLLOWED_LEADS = ("valla", "hocam", "kusura bakma,", "yok ya,", "şöyle söyleyeyim,")
# A word after, now and then, instead of what the bot follows.
UNFOLLOWED_TAILS = (
    "bilen biri varsa yazsın",
    "onu takip eden birine sormak lazım",
    "kusura bakma",
    "grupta bakan vardır mutlaka",
)

# After "I don't follow it", now and then what the bot does follow, in the same family.
UNFOLLOWED_POINTERS = {
    "parity": (
        "ben pariteden çok dolar/TL ile euro/TL tarafına bakıyorum",
        "benim baktığım kur tarafı, yani dolar/TL ve euro/TL",
        "kurda ben sadece TL tarafını izliyorum",
    ),
    "coin": (
        "kriptoda ben BTC ile ETH dışına pek çıkmıyorum",
        "altcoinlere hiç girmiyorum, kriptoda baktığım BTC ve ETH",
        "ben kriptoda büyük coinlerde kalıyorum",
    ),
    "index": (
        "ben yurt dışı endekslerine değil, Borsa İstanbul tarafına bakıyorum",
        "dış piyasaları haberlerden takip ediyorum sadece, asıl baktığım BIST",
    ),
    "commodity": (
        "emtiada benim baktığım altın ile petrol",
        "ben emtiada altın ve brent dışına bakmıyorum",
        "emtiada benim işim altınla",
    ),
    "bond": (
        "tahvil tarafını işin uzmanlarına bırakıyorum",
        "ben faiz tarafında politika faizini izliyorum sadece",
    ),
    "stock": ("o hisse benim listemde yok", "benim takip ettiğim hisseler belli"),
    "unknown": ("bildiğim bir kod değil açıkçası", "o kod bana bir şey çağrıştırmadı", "ilk defa duyuyorum"),
}

# A subject the persona lists in its watchlist but has no quotes for.
WATCHED_NO_DATA = (
    "{name} listemde ama şu an elimde taze veri yok, rakamsız yorum yapmayayım",
    "{name} tarafına bakıyorum ama güncel rakamı göremiyorum, görünce yazarım",
    "{name} için ekranıma veri gelmiyor şu an, bakınca söylerim",
    "{name} takibimde ama bugün verisine ulaşamadım",
    "{name} için elimde güncel rakam yok, tahminle konuşmayayım",
    "{name} benim baktığım şeylerden ama şu an veri akışı yok bende",
)

# An unknown code close to a name we know: ask back rather than guess.
NEAR_MISS = (
    "{name} derken {guess} demek istedin?",
    "yazım hatası var galiba, {guess} demek istedin?",
    "{name} diye bir şey bilmiyorum, {guess} demek istedin?",
    "{name} diye bir kod görmedim, {guess} demek istedin herhalde?",
    "{guess} demek istedin sanırım?",
    "yanlış yazılmış gibi, {guess} demek istedin?",
    "{name} bana bir şey ifade etmedi, {guess} demek istedin galiba?",
)

STATEMENT_ACKS = ("anlıyorum", "mantıklı", "ilginç bir nokta", "not aldım", "olabilir", "doğru söze ne denir")
# For a statement that neither asks nor takes a side ("ben de bakıyordum"): nothing to agree with.
PLAIN_ACKS = ("anlıyorum", "not aldım", "tamamdır", "anladım", "takipteyim ben de", "evet, ben de bakıyorum")
