"""What the model is told: who it is (the persona), the rules, the market, the chat.

The system message is the persona and the rules, in Turkish. The user
message carries the day's numbers from the shared Market (so the model
quotes the same levels the template bots do), the chat's last messages
with who said what, and the task. Pure: no I/O, no clock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from piyasa_bot.conversation.facts import gather
from piyasa_bot.conversation.holdings import describe
from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.lines import ChatLine
from piyasa_bot.conversation.quote import MarketView
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, symbols_for_topic, watchlist_codes
from piyasa_bot.conversation.turkish import format_number, format_percent
from piyasa_bot.roster import DEFAULT_TOPICS, BotConfig, ChatConfig, Persona

CONTEXT_LINES = 12
MAX_FACTS = 6
_LINE_CHARS = 300

TOPIC_NAMES = {
    "bist": "Borsa İstanbul (BIST 100 ve hisseler)",
    "usdtry": "dolar/TL ve döviz",
    "gold": "altın (gram ve ons)",
    "crypto": "kripto paralar",
    "macro": "makro ekonomi (faiz, enflasyon, petrol)",
}
_TONES = {
    "cautious": "temkinlisin; önce riskleri görürsün",
    "calm": "sakin ve ölçülüsün",
    "energetic": "enerjik ve hızlısın",
    "analytical": "analitiksin; seviyeler ve verilerle konuşursun",
    "sarcastic": "hafif iğneleyici ve esprilisin ama kaba değilsin",
    "enthusiastic": "coşkulu ve heyecanlısın",
}
_RISKS = {
    "low": "Risk iştahın düşük: korumayı ve kademeli hareketi önemsersin.",
    "medium": "Risk iştahın orta.",
    "high": "Risk iştahın yüksek, oynaklıktan çekinmezsin; yine de kimseye kazanç vaat etmezsin.",
}
_STANCES = {"bullish": "yükseliş bekliyorsun", "bearish": "düşüş bekliyorsun", "neutral": "tarafsızsın"}
# What a message should look like, and the most characters that are kept of a reply.
LENGTHS = {
    "short": ("tek kısa cümle, en fazla 15 kelime", 200),
    "medium": ("bir iki cümle, en fazla 35 kelime", 320),
    "long": ("iki üç cümle, en fazla 60 kelime", 480),
}
RULES = """Kurallar:
- Yalnızca Türkçe yaz: bir sohbet grubuna yazılmış kısa bir mesaj, düz metin (başlık, liste, markdown yok).
- Kesin kazanç, garantili getiri ya da "kaybetmezsin" gibi vaatlerde bulunma.
- Yatırım tavsiyesi verdiğini söyleme; görüşünü kişisel yorum olarak söyle, kimseye al/sat talimatı verme.
- Link, web adresi, kullanıcı adı ya da telefon numarası yazma.
- Rakam verirken yalnızca verilen piyasa verilerini kullan; verisi olmayan bir şey için rakam uydurma.
- Karakterinden çıkma, ama bot olup olmadığın içtenlikle sorulursa inkâr etme.
- Başına isim, saat ya da tırnak koyma; yalnızca mesajın kendisini yaz."""


def system_prompt(bot: BotConfig, chat: ChatConfig) -> str:
    persona = bot.persona
    where = f"«{chat.title}» adlı" if chat.title else "bir"
    topics = ", ".join(TOPIC_NAMES[t] for t in (chat.topics or DEFAULT_TOPICS))
    lines = [
        f"Sen {bot.name}: {where} Telegram piyasa sohbet grubunda yazan bir piyasa takipçisisin.",
        f"Üslubun: {_TONES[persona.tone]}. {_RISKS[persona.risk]}",
        f"Grubun konuları: {topics}.",
    ]
    watched = watchlist_codes(persona.watchlist)
    if watched:
        lines.append("Takip ettiğin semboller: " + ", ".join(watched) + ".")
    if persona.stances:
        views = "; ".join(f"{TOPIC_NAMES[topic]} için {_STANCES[view]}" for topic, view in persona.stances.items())
        lines.append(f"Görüşlerin: {views}.")
    if persona.holdings:
        lines.append(f"Elindeki pozisyonlar: {describe(persona.holdings)}. Bunlarla çelişen bir şey söyleme.")
    lines.append(_style(persona))
    if persona.signature_phrases:
        phrases = ", ".join(f"«{phrase.strip()}»" for phrase in persona.signature_phrases)
        lines.append(f"Çok seyrek (on mesajda bir bile değil) kendi ifadelerini kullanırsın: {phrases}.")
    return "\n".join(lines) + "\n\n" + RULES


def _style(persona: Persona) -> str:
    parts = [f"Mesajların: {LENGTHS[persona.length][0]}."]
    if persona.emoji_rate == 0:
        parts.append("Emoji kullanmazsın.")
    elif persona.emoji_rate < 0.25:
        parts.append("Emojiyi çok nadir kullanırsın.")
    elif persona.emoji_rate < 0.5:
        parts.append("Arada bir emoji kullanırsın.")
    else:
        parts.append("Emojiyi seversin, bir iki tane kullanabilirsin.")
    if persona.lowercase:
        parts.append("Hep küçük harfle, hızlı yazan biri gibi yazarsın.")
    if persona.typo_rate > 0:
        parts.append("Aceleyle yazarsın, noktalamaya pek dikkat etmezsin.")
    return " ".join(parts)


def market_facts(
    market: MarketView, bot: BotConfig, chat: ChatConfig, now: datetime, asked: Sequence[str] = ()
) -> list[str]:
    """One line per symbol: the watchlist (within the chat's topics), plus any named in `asked` texts."""
    allowed = set(chat.topics or DEFAULT_TOPICS)
    codes = [c for c in watchlist_codes(bot.persona.watchlist) if SYMBOLS[c].topic in allowed]
    for text in asked:
        codes = [c for c in find_symbols(text) if market.knows(c)] + codes
    if not codes:
        headline = (next(c for c in symbols_for_topic(t) if not SYMBOLS[c].beta) for t in chat.topics or DEFAULT_TOPICS)
        codes = list(headline)
    return [_fact_line(market, code, now) for code in list(dict.fromkeys(codes))[:MAX_FACTS] if market.knows(code)]


def _fact_line(market: MarketView, code: str, now: datetime) -> str:
    spec = SYMBOLS[code]
    # gather() computes the support/resistance levels the template bots quote; its rng only picks words.
    facts = gather(market, code, now, random.Random(0))
    quote = facts.quote
    name = f"{spec.spoken[0]} ({code})"
    if quote is None:
        return f"- {name}: güncel veri yok; rakam verme, yön söyleme"
    if code == "POLICY":
        extra = ""
        if "inflation" in facts.slots:
            month = facts.slots.get("inflation_month")
            extra += f"; son yıllık enflasyon{f' ({month})' if month else ''} {facts.slots['inflation']}"
        if "mpc" in facts.slots:
            extra += f"; bir sonraki PPK toplantısı {facts.slots['mpc']}"
        return f"- {name}: {facts.slots['rate']}{extra}"
    price = format_number(quote.price, spec.decimals) + spec.unit
    session = "bugün" if quote.is_open else "seans kapalı, son kapanışta"
    direction = quote.direction
    if direction is None:
        move = "günlük değişim bilinmiyor"
    else:
        change = format_percent(quote.change_percent)
        move = {"up": f"{change} yükselişte", "down": f"{change} düşüşte", "flat": f"yatay ({change})"}[direction]
    return f"- {name}: {price}; {session} {move}; destek {facts.slots['support']}, direnç {facts.slots['resistance']}"


def who(line: ChatLine, me: str) -> str:
    if line.author_bot == me:
        return f"{me} (sen)"
    if line.author_bot:
        return line.author_bot
    return f"katılımcı#{line.user_id}" if line.user_id is not None else "bir katılımcı"


def transcript(context: Sequence[ChatLine], me: str) -> list[str]:
    lines = list(context)[-CONTEXT_LINES:]
    by_id = {line.message_id: line for line in context}
    out = []
    for line in lines:
        parent = by_id.get(line.reply_to_message_id) if line.reply_to_message_id is not None else None
        target = who(parent, me) if parent else line.reply_to_bot
        to = f" (yanıt: {target})" if target else ""
        out.append(f"[{istanbul(line.at):%H:%M}] {who(line, me)}{to}: {_short(line.text)}")
    return out


def messages(
    bot: BotConfig,
    chat: ChatConfig,
    context: Sequence[ChatLine],
    now: datetime,
    market: MarketView,
    task: str,
    asked: Sequence[str] = (),
) -> list[dict[str, str]]:
    facts = market_facts(market, bot, chat, now, asked)
    chat_lines = transcript(context, bot.name) or ["(henüz mesaj yok)"]
    user = "\n".join(
        [
            f"Piyasa verileri (İstanbul saatiyle {istanbul(now):%d.%m.%Y %H:%M}):",
            *facts,
            "",
            "Sohbetin son mesajları (eskiden yeniye):",
            *chat_lines,
            "",
            task,
            "Yalnızca göndereceğin mesajın metnini yaz.",
        ]
    )
    return [{"role": "system", "content": system_prompt(bot, chat)}, {"role": "user", "content": user}]


def chatter_task(bot: BotConfig, reply_to: ChatLine | None) -> str:
    if reply_to is None:
        return (
            "Görev: sohbete kendiliğinden yeni bir mesaj yaz; verilerden birini ya da konuşulan konuyu kendi "
            "bakışınla yorumla. Yukarıdaki mesajları, kendi eski mesajların dahil, tekrar etme."
        )
    return (
        f"Görev: şu mesaja yanıt yaz ({who(reply_to, bot.name)}): «{_short(reply_to.text)}». "
        "Yeni bir şey söyle, yukarıdaki mesajları tekrar etme."
    )


def answer_task(bot: BotConfig, to: ChatLine) -> str:
    return (
        f"Görev: {who(to, bot.name)} sana şunu yazdı: «{_short(to.text)}». Ona doğrudan, kendi üslubunla yanıt "
        "ver; bir şey soruyorsa verilerle cevapla."
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LINE_CHARS else text[: _LINE_CHARS - 1] + "…"


def news_task(headline: str) -> str:
    return (
        f"Görev: şu haberi sohbete kendi cümlelerinle getir: «{_short(headline)}». Başlığı aynen kopyalama, "
        "bağlantı verme, haberin fiyata ne yapacağını kesin bir dille söyleme; kısa bir yorum ekleyebilirsin."
    )
