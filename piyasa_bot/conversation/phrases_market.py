"""Phrase bank, part 1: what the market did and what a bot thinks of it.

Templates are filled with str.format_map. Slots: {sym} (a spoken name),
{price} (with unit), {pct} ("%1,35"), {move}/{moved} (the day's direction,
only in FACTS), {adv} (how strongly, may be empty), {support}, {resistance},
{support2}, {resistance2} (round levels), {driver}, {rate}; for the policy rate
{inflation}, {inflation_month} and {mpc} when bots.yaml gives them. A template
is used only when every slot it names is known (clauses._pick).

Rule that keeps bots honest about the day: only FACTS use direction words
(MOVE/MOVED); opinions never do, so a bearish bot can say an up day is a
trap without saying the day is down. Templates never put a Turkish suffix
on {sym}: vowel harmony differs between "dolar" and "BIST".
"""

from __future__ import annotations

MOVE = {
    "up": ("artıda", "yükselişte", "yeşilde", "primli"),
    "down": ("ekside", "düşüşte", "kırmızıda", "satıcılı"),
}
MOVED = {
    "up": ("artıyla", "yükselişle", "primle"),
    "down": ("düşüşle", "kayıpla"),
}
ADVERBS = {
    ("up", "small"): ("hafif", "az da olsa", "sınırlı da olsa"),
    ("up", "mid"): ("", "", "net şekilde", "gayet"),
    ("up", "big"): ("sert", "kuvvetli şekilde", "bayağı"),
    ("down", "small"): ("hafif", "az da olsa", "sınırlı da olsa"),
    ("down", "mid"): ("", "", "net şekilde", "epey"),
    ("down", "big"): ("sert", "ciddi şekilde", "bayağı"),
}

FACTS = {
    # Shared by up and down days: the direction comes from {move}/{moved}.
    "move": (
        "{sym} bugün {pct} {adv} {move}, {price} seviyesinde",
        "{sym} şu an {price}, günü {pct} {adv} {move} götürüyor",
        "{sym} {price} civarında, günlük bazda {pct} {move}",
        "{sym} tarafında tablo net: {pct} {move}, fiyat {price}",
        "{sym} {pct} {adv} {move} işlem görüyor, son fiyat {price}",
        "güncel durum: {sym} {price}, {pct} {move}",
        "{sym} için gün içi tablo {pct} {move}, {price} görülüyor",
        "ekrana bakınca {sym} {price}, {pct} {adv} {move}",
        "{sym} şu sıralar {price} bandında ve günü {pct} {move} geçiriyor",
        "{sym} bugün {adv} {move}: {pct}, {price}",
        "{sym} {price} seviyesine geldi, gün içinde {pct} {move}",
        "son durumda {sym} {pct} {move}, fiyat {price} civarı",
        "{sym} tarafında {pct} {adv} {move} bir gün, {price} görüyoruz",
        "kısa not: {sym} {price}, {pct} {move}",
        "{sym} günü {pct} {move} sürdürüyor, seviye {price}",
        "{sym} {pct} {move}; {price} üzerinden işlem var",
        "{sym} için ekrandaki rakam {price}, {pct} {move}",  # not "rakamlar şöyle:", an answer opener
        "{sym} bugün {pct} ile {move}, {price} seviyesi ekranda",
    ),
    "up": (
        "{sym} bugün alıcılı, {pct} {move} ve {price} seviyesinde",
        "{sym} güne iyi başladı, şu an {pct} {move}, {price}",
        "{sym} tarafında alıcılar istekli: {pct} {move}, {price}",
        "{sym} {price} ile günü {pct} {adv} {move} geçiriyor, fena değil",
        "{sym} toparlanıyor, {pct} {move}, fiyat {price}",
        "{sym} bugün gülümsetiyor: {pct} {move}, {price}",
        "{sym} yukarı yönlü ilerliyor, {pct} {move} ve {price}",
    ),
    "down": (
        "{sym} bugün baskı altında, {pct} {move} ve {price} seviyesinde",
        "{sym} güne zayıf başladı, şu an {pct} {move}, {price}",
        "{sym} tarafında satış baskısı var: {pct} {move}, {price}",
        "{sym} {price} seviyesine geriledi, günlük {pct} {move}",
        "{sym} bugün sıkıntılı: {pct} {adv} {move}, {price}",
        "{sym} aşağı yönlü seyrediyor, {pct} {move} ve {price}",
        "{sym} moralleri bozuyor, {pct} {move}, fiyat {price}",
    ),
    "flat": (
        "{sym} yerinde sayıyor, {price} civarında",
        "{sym} tarafında pek hareket yok, {price}",
        "{sym} {price} seviyesinde yatay seyrediyor",
        "{sym} bugün yatay, {price} civarında dengelenmiş",
        "{sym} için sakin bir gün, fiyat {price}",
        "{sym} {price} seviyesinde bekliyor, yön yok",
        "{sym} dar bantta, {price} çevresinde",
        "{sym} bugün pek kıpırdamadı, {price}",
        "{sym} tarafında durgunluk var, {price} seviyesi korunuyor",
        "{sym} {price} civarında nefesleniyor",
    ),
    "closed_move": (
        "{sym} son seansı {pct} {moved} {price} seviyesinden kapattı",
        "{sym} günü {pct} {moved} {price} seviyesinde tamamladı",
        "seans kapandı, {sym} {price} ile günü {pct} {moved} bitirdi",
        "son kapanışta {sym} {price}, gün {pct} {moved} kapandı",
        "{sym} kapanışı {price}, günü {pct} {moved} geçti",
        "{sym} tarafında son seans {pct} {moved} kapandı, {price}",
    ),
    "closed_flat": (
        "{sym} son seansı yatay kapattı, {price}",
        "{sym} günü {price} seviyesinde yatay tamamladı",
        "seans kapandı, {sym} {price} ile yerinde saydı",
        "{sym} kapanışı {price}, gün neredeyse değişimsiz geçti",
    ),
    "policy": (
        "TCMB politika faizi {rate} seviyesinde",
        "politika faizi hâlâ {rate}",
        "faiz {rate}, piyasa PPK'nın bir sonraki adımını bekliyor",
        "TCMB faizi {rate} seviyesinde tutuyor",
        "politika faizi {rate}, reel faiz tartışması sürüyor",
        "politika faizi {rate}, para politikası sıkı kalmaya devam ediyor",
        # Used only when bots.yaml gives the facts (a template is used only when its slots are known).
        "politika faizi {rate}, son enflasyon {inflation}",
        "{inflation_month} enflasyonu {inflation} geldi, faiz {rate}",
        "yıllık enflasyon {inflation}, politika faizi {rate}: reel faiz bu aralıkta",
        "PPK {mpc} günü toplanıyor, faiz şu an {rate}",
        "gözler {mpc} tarihindeki PPK toplantısında, faiz {rate}",
    ),
}

OUTLOOK = {
    "bullish": (
        "{resistance} üstünde kalıcılık gelirse {resistance2} konuşulur",
        "{support} üstünde kaldıkça pozitif bakıyorum",
        "trend hâlâ yukarı yönlü bence",
        "geri çekilmeleri alım fırsatı olarak görüyorum",
        "orta vadede yukarı yönlü beklentim sürüyor",
        "benim hedefim {resistance2} civarı, stop {support} altı",
        "bence alıcıların elinde",
        "momentum yukarıyı gösteriyor",
        "{resistance} aşılırsa önü açılır diye düşünüyorum",
        "{support} bölgesi sağlam bir taban gibi duruyor",
        "bence daha gidecek yolu var",
        "iyimserliğimi koruyorum",
    ),
    "bearish": (
        "{support} kırılırsa {support2} gündeme gelir",
        "{resistance} üstü kalıcı olmadıkça temkinliyim",
        "bence düzeltme daha bitmedi",
        "yukarıda satış baskısı görüyorum",
        "{resistance} civarında kâr satışı gelebilir",
        "aşağı yönlü riskler bence ağır basıyor",
        "{support} altı kapanış gelirse işler karışır",
        "bu seviyeler bana pahalı geliyor",
        "{resistance} direncini geçemezse tekrar {support} test edilir",
        "ben kötümser tarafta kalmaya devam ediyorum",
        "bence tepkiler satış fırsatı",
        "yorgunluk belirtileri var bence",
    ),
    "neutral": (
        "{support}-{resistance} bandında bir seyir bekliyorum",
        "{support} ile {resistance} arası bence denge bölgesi",
        "yön için biraz daha veri lazım",
        "net bir sinyal yok henüz, beklemedeyim",
        "{resistance} aşılmadan heveslenmem, {support} kırılmadan da korkmam",
        "iki yöne de açık bir tablo var",
        "kırılım hangi yöne olursa onu takip ederim",
        "şimdilik kenarda izlemek daha mantıklı",
        "ne yükselişe ne düşüşe fazla anlam yüklemiyorum",
        "bence piyasa kararsız, acele etmeye gerek yok",
        "{support} ve {resistance} seviyelerini not alın",
        "bant içi hareket sürüyor gibi",
    ),
}

# Opinion against or with the day's move; still no direction words.
OUTLOOK_VS_DAY = {
    ("bullish", "down"): (
        "bu geri çekilmeyi fırsat olarak görüyorum",
        "bu seviyelerden toplamak mantıklı geliyor bana",
        "panik yok, ana trend bozulmadı",
        "{support} korunduğu sürece dert etmiyorum",
    ),
    ("bearish", "up"): (
        "bu yükselişe pek güvenmiyorum",
        "bence tepki alımı, kalıcı değil",
        "{resistance} civarında yorulur diye düşünüyorum",
        "bu çıkışı satış fırsatı olarak görenler olacaktır",
    ),
    ("bullish", "up"): (
        "beklediğim hareket geliyor",
        "trend dostumuzdur",
        "devamı gelebilir bence",
        "{resistance} de zorlanır gibi",
    ),
    ("bearish", "down"): (
        "beklediğim senaryo işliyor",
        "zayıflık sürüyor, şaşırmadım",
        "daha aşağısı da görülebilir",
        "{support2} bile konuşulabilir",
    ),
}

DRIVERS = {
    "bist": (
        "yabancı takası",
        "bankacılık endeksi",
        "bilanço dönemi",
        "temettü takvimi",
        "CDS primleri",
        "tahvil faizleri",
        "yabancı girişi",
    ),
    "usdtry": (
        "TCMB rezervleri",
        "carry trade iştahı",
        "kur politikası",
        "dış ticaret verileri",
        "enflasyon farkı",
        "swap piyasası",
    ),
    "gold": (
        "Fed'in faiz patikası",
        "dolar endeksi",
        "merkez bankalarının altın alımları",
        "jeopolitik riskler",
        "reel faizler",
        "ETF akışları",
    ),
    "crypto": (
        "ETF giriş çıkışları",
        "fonlama oranları",
        "balina hareketleri",
        "regülasyon haberleri",
        "likidasyon seviyeleri",
        "Nasdaq korelasyonu",
        "stablecoin arzı",
    ),
    "macro": (
        "enflasyon verisi",
        "PPK kararı",
        "Fed tutanakları",
        "istihdam verileri",
        "petrol fiyatları",
        "cari açık",
        "OPEC kararları",
    ),
}

DRIVER_FRAMES = (
    "bence asıl belirleyici {driver}",
    "gözüm {driver} tarafında",
    "{driver} tarafını yakından izlemek lazım",
    "bugün {driver} öne çıkıyor",
    "{driver} netleşmeden büyük pozisyon almam",
    "{driver} konusu fiyatlamayı etkiliyor",
    "arka planda {driver} var, unutmayalım",
    "{driver} tarafındaki gelişmeler önemli",
    "bu hafta {driver} belirleyici olur",
)

RISK_NOTES = {
    "low": (
        "ben kademeli ilerliyorum",
        "nakit oranımı yüksek tutuyorum",
        "stopsuz işlem yapmıyorum",
        "pozisyonlarımı küçük tutuyorum",
        "acele etmeden, parça parça",
        "sermayeyi korumak önce gelir",
        "riskimi sınırlı tutuyorum",
    ),
    "medium": (
        "portföyün bir kısmıyla takipteyim",
        "pozisyonun yarısını tuttum",
        "dengeli gidiyorum, biraz nakit biraz pozisyon",
        "stop seviyemi {support} altına çektim",
        "sepeti çeşitlendirmek lazım",
        "ölçülü bir pozisyonla içerideyim",
    ),
    "high": (
        "biraz agresif girdim",
        "küçük bir kaldıraçlı pozisyon açtım",
        "fırsatları kaçırmak istemiyorum",
        "dalgalanmayı seviyorum açıkçası",
        "pozisyonu büyüttüm",
        "stop {support} altında, gerisi sabır",
        "risk almadan bu piyasada iş olmuyor",
    ),
}

# The policy rate does not move intraday: opinions about the next decision instead.
POLICY_OUTLOOK = {
    "bullish": (
        "bence faiz indirimi gündeme gelecek",
        "gevşeme adımları yaklaşıyor gibi",
        "indirim gelirse borsa için iyi olur",
        "piyasa indirimi fiyatlamaya başladı bence",
    ),
    "bearish": (
        "sıkı duruş uzun sürer bence",
        "indirim beklentisi bana erken geliyor",
        "enflasyon inmeden gevşeme zor",
        "faizin bir süre daha yüksek kalacağını düşünüyorum",
    ),
    "neutral": (
        "PPK metnindeki ifadelere bakmak lazım",
        "veri akışına göre karar verecekler gibi",
        "bir sonraki toplantıya kadar yorum yapmak zor",
        "beklentiler karışık",
    ),
}
