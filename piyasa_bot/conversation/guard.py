"""The last check before anything is sent: no promises, no advice, no contacts.

A market chat full of bots must never promise profit, present itself as
investment advice, or carry a link or phone number (the classic shapes of
a pump-and-dump or a scam). Matching runs on folded text (lowercase, no
diacritics), so "Kesin KÂR" and "kesin kar" are the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from piyasa_bot.conversation.turkish import fold

MAX_UTF16_LENGTH = 4096  # Telegram's limit for a message text


@dataclass(frozen=True)
class GuardVerdict:
    ok: bool
    reason: str | None = None


_CERTAINTY = r"(?:kesin|kesinlikle|garanti|garantili|mutlaka|%\s*100|yuzde\s*yuz)"
_GAIN = (
    r"(?:kazanc|kazan\w*|kar|kari|karli|getiri\w*|yukselecek|yukselir|artacak|cikacak|ucacak|"
    r"uc(?:ar|uyor)|katlar|katlayacak|zengin\w*)"
)
_PROMISES = [
    re.compile(rf"(?<!\w){_CERTAINTY}\s+(?:\w+\s+)?{_GAIN}\b"),
    re.compile(r"\b(?:kazanc|kar|getiri)\w*\s+(?:garanti|kesin)"),
    re.compile(r"\b(?:risksiz|kayipsiz|zararsiz)\s+(?:kazanc|kar|getiri|yatirim)"),
    re.compile(r"\bkaybetme\w*\s+(?:imkan|ihtimal|sansi)\w*\s+yok"),
    re.compile(r"\bguaranteed\s+(?:profit|return|gain)s?\b|\brisk[- ]free\s+(?:profit|return)s?\b|\bcan'?t\s+lose\b"),
]
_ADVICE = re.compile(r"\byatirim\s+tavsiye(?:si|sidir|dir|m|mdir)?\b|\binvestment\s+advice\b")
_NOT_ADVICE = re.compile(
    r"^\W*(?:degil|degildir|sayilmaz|icermez|olarak\s+(?:algilanmamal|yorumlanmamal)|niteligi\s+tasimaz)"
)
_NOT_ADVICE_EN = re.compile(r"\b(?:not|no|nfa)\W+(?:\w+\W+)?$")
_CLAIMS_ADVICE = re.compile(r"\b(?:tavsiyemdir|tavsiye\s+ediyorum\s+al|al\s+tavsiyesi\s+veriyorum)\b")

_TLDS = (
    "com|net|org|io|me|tr|co|xyz|info|biz|app|dev|ru|gg|ly|to|ai|cc|site|online|club|live|pro|vip|"
    "top|link|shop|store|news|tv|us|uk|de|eu|finance|exchange|money|cash|trade|click"
)
_LINKS = [
    re.compile(r"https?://|\bwww\.|\bt\.me\b|\btelegram\.(?:me|dog)\b|\bwa\.me\b|\bbit\.ly\b"),
    # "site.com", "site . com", "site .com"; not "site. Com": a sentence ends there ("civarında. Net bir...").
    re.compile(rf"\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.|\s\.\s?)(?:{_TLDS})(?:\.[a-z]{{2}})?\b(?![.,]?\d)"),
]
_SEP = r"[\s.\-/]*"
_PHONES = [
    re.compile(rf"(?:\+|\b00)\s*90{_SEP}\(?\d{{3}}\)?{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}\b"),
    re.compile(rf"(?<![\d.,])0{_SEP}\(?[2-5]\d{{2}}\)?{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}\b"),
    re.compile(r"(?<![\d.,%])5\d{2}[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?![\d,])"),
]


def guard(text: str) -> GuardVerdict:
    if not text or not text.strip():
        return GuardVerdict(False, "empty")
    if len(text.encode("utf-16-le")) // 2 > MAX_UTF16_LENGTH:
        return GuardVerdict(False, "too long")
    folded = fold(text)
    if any(pattern.search(folded) for pattern in _PROMISES):
        return GuardVerdict(False, "promises profit")
    if _claims_advice(folded):
        return GuardVerdict(False, "claims to be investment advice")
    if any(pattern.search(folded) for pattern in _LINKS):
        return GuardVerdict(False, "link")
    if any(pattern.search(text) for pattern in _PHONES):
        return GuardVerdict(False, "phone number")
    return GuardVerdict(True)


def _claims_advice(folded: str) -> bool:
    if _CLAIMS_ADVICE.search(folded):
        return True
    for match in _ADVICE.finditer(folded):
        after, before = folded[match.end() :], folded[: match.start()]
        # "yatırım tavsiyesi değildir" and "not investment advice" are disclaimers, not claims.
        if _NOT_ADVICE.match(after) or _NOT_ADVICE_EN.search(before):
            continue
        return True
    return False
