"""Phrase bank, part 2b: answering another message in the chat (agree, disagree, half agree).

clauses.stance_reply picks the family by comparing the message's lean with
the bot's stance; a vocative ("hocam") may follow. phrases_talk re-exports
these names, so older imports keep working.
"""

from __future__ import annotations

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
    "aynen",
    "tam olarak öyle",
    "yerinde tespit",
    "haklısın, aynı şeyi gördüm",
    "buna katılırım",
    "sonuna kadar katılıyorum",
    "doğru söylüyorsun",
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
    "orada ayrışıyoruz",
    "bana öyle gelmiyor",
    "ben aynı yerden bakmıyorum",
    "bence öyle değil",
    "ben biraz şüpheliyim",
    "pek sanmıyorum",
    "tam tersini düşünüyorum",
)
PARTIAL = (
    "kısmen katılıyorum",
    "bir noktaya kadar haklısın",
    "mantıklı ama eksik bir taraf var",
    "olabilir, yine de emin değilim",
    "anlıyorum ne demek istediğini",
    "haklı olduğun yerler var",
    "yarı yarıya katılıyorum",
    "olabilir ama acele etmeyelim",
    "bir yere kadar doğru",
    "mantıklı, ama başka senaryolar da var",
)
# Said to whoever is answered, whose gender the bot does not know: no "abi", no "abla".
VOCATIVES = ("hocam", "dostum", "üstat", "kardeşim", "arkadaşım")
