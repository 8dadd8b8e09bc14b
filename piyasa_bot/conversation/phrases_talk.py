"""Phrase bank, part 2: the social side of a chat (openers, reactions, replies).

None of these carry direction words for a symbol (see phrases_market); the
ones keyed by "up"/"down"/"flat" are moods and only used on such a day.
"""

from __future__ import annotations

OPENERS = {
    "cautious": (
        "açıkçası temkinliyim",
        "acele etmeyelim derim",
        "dikkatli olmakta fayda var",
        "piyasa biraz gergin",
        "temkini elden bırakmamak lazım",
        "ben biraz kenarda bekliyorum",
        "önce risk, sonra getiri",
    ),
    "calm": (
        "şöyle bir bakalım:",
        "sakin kalmak lazım",
        "bugün de sakin sakin takipteyim",
        "genel tabloya bakınca,",
        "kısa bir not düşeyim:",
        "sakin bir değerlendirme yapayım:",
        "telaşa gerek yok",
    ),
    "energetic": (
        "hareket var arkadaşlar",
        "hadi bakalım",
        "piyasa uyandı",
        "bugün tempo yüksek",
        "gözler ekranda",
        "hız kesmeden devam",
        "takipte kalın",
    ),
    "analytical": (
        "teknik tarafa bakınca,",
        "rakamlara bakalım:",
        "grafiğe bakınca,",
        "veriler ne diyor bakalım:",
        "hacim tarafına dikkat",
        "kısa bir teknik not:",
        "göstergeleri toparlayayım:",
    ),
    "sarcastic": (
        "klasik",
        "ne sürpriz",
        "her zamanki film",
        "tabii ki",
        "kimse şaşırmasın",
        "yine aynı senaryo",
        "alkışlar piyasaya",
    ),
    "enthusiastic": (
        "günün özetini geçeyim:",
        "heyecanlı günler",
        "bayılıyorum bu piyasaya",
        "gözüm ekranda",
        "bugün de keyifle takipteyim",
        "ne güzel bir piyasa",
        "enerjim yerinde",
    ),
}

GREETINGS = {
    "morning": (
        "günaydın",
        "günaydın arkadaşlar",
        "hayırlı sabahlar",
        "herkese günaydın",
        "günaydın, kahveler hazır mı",
    ),
    "day": ("selam herkese", "merhabalar", "selamlar", "tekrar merhaba", "herkese iyi günler"),
    "evening": ("iyi akşamlar", "akşam selamı", "herkese iyi akşamlar", "akşam akşam bir bakalım"),
}

REACTIONS = {
    "up": (
        "alıcılar iştahlı",
        "piyasa nefes aldı",
        "güzel bir toparlanma var",
        "risk iştahı yerinde",
        "yüzler gülüyor",
        "tahta canlı",
        "havada bir iyimserlik var",
    ),
    "down": (
        "satıcılar baskın",
        "biraz sancılı bir gün",
        "kırmızı ekranlar moral bozuyor",
        "risk iştahı zayıf",
        "piyasa tedirgin",
        "baskı sürüyor",
        "moraller biraz bozuk",
    ),
    "flat": (
        "sakin bir gün",
        "piyasa yön arıyor",
        "hacim düşük",
        "ne alıcı ne satıcı istekli",
        "durgun bir gün",
        "herkes bekle gör modunda",
        "sıkıcı bir seans",
    ),
}

SARCASM = {
    "up": (
        "bir gün iyi gidiyor diye herkes dahi oldu",
        "yükselince herkes analist oluyor",
        "dün kötümser olanlar bugün boğa",
        "bakın herkes birden uzman",
    ),
    "down": (
        "düşünce herkes uzun vadeci oluyor",
        "tepeden alanlar yine sessiz",
        "dünün boğaları bugün ortada yok",
        "stop koymayanlar iyi biliyor bu hissi",
    ),
    "flat": (
        "heyecandan ölüyoruz",
        "çayımı demleyeyim bari",
        "muhteşem bir aksiyon, gözlerim yaşardı",
        "bugün grafik değil düz çizgi izliyoruz",
    ),
}

QUESTIONS = (
    "sizce {resistance} aşılır mı?",
    "{sym} için sizin seviyeniz kaç?",
    "{sym} tarafında pozisyonu olan var mı?",
    "siz {sym} için ne düşünüyorsunuz?",
    "{sym} için bu hafta beklentiniz ne?",
    "{support} desteği tutar mı sizce?",
    "{sym} için kim iyimser kim kötümser?",
    "{sym} ile ilgili farklı düşünen var mı?",
    "sizce {sym} tarafında sürpriz olur mu?",
    "{sym} tarafında stop kullanan var mı?",
    "{sym} için vadeniz ne, kısa mı uzun mu?",
    "{sym} tarafında hacmi takip eden var mı?",
)

CLOSERS = (
    "bakalım",
    "takipteyim",
    "göreceğiz",
    "hayırlısı",
    "sabır",
    "gün sonunu bekleyelim",
    "izlemeye devam",
    "kolay gelsin herkese",
    "herkese bol şans",
    "dikkatli olun",
    "not olarak dursun",
    "gelişmeleri paylaşırım",
)

AGREE = (
    "katılıyorum",
    "aynen öyle",
    "bence de",
    "doğru tespit",
    "haklısın",
    "aynı fikirdeyim",
    "ben de öyle görüyorum",
    "çok doğru",
    "katılmamak elde değil",
    "nokta atışı",
    "benzer düşünüyorum",
)
DISAGREE = (
    "pek katılmıyorum",
    "ben o kadar emin değilim",
    "farklı düşünüyorum",
    "bence biraz aceleci bir yorum",
    "o kadar net değil bence",
    "ben tersini düşünüyorum",
    "saygı duyarım ama katılmıyorum",
    "bence resim biraz farklı",
)
PARTIAL = (
    "kısmen katılıyorum",
    "bir noktaya kadar haklısın",
    "mantıklı ama eksik bir taraf var",
    "olabilir, yine de emin değilim",
    "anlıyorum ne demek istediğini",
)
VOCATIVES = ("hocam", "dostum", "üstat", "kardeşim", "abi", "arkadaşım")
LINKERS = ("bu arada", "öte yandan", "diğer tarafta", "bir de", "ayrıca")

EMOJI = {
    "up": ("📈", "🚀", "🟢", "💪", "🔥", "😎"),
    "down": ("📉", "🔻", "😬", "🥶", "😕", "🙈"),
    "flat": ("😐", "🤷", "☕", "😴"),
    "question": ("🤔", "👀", "🧐"),
    "social": ("🙂", "👍", "🙏", "☕", "👋"),
}

# After another member's name when a bot answers it: mostly the bare name, now and then a title.
SIBLING_TITLES = ("", "", "", " hocam")  # "abi", "bey" would need to know who is a woman
