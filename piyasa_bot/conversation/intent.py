"""What a message does: asks, claims, greets, thanks, leans bullish or bearish.

Matching runs on `fold`ed text (lowercase, no diacritics) so that "nasil",
"NASIL" and "nasıl" are the same word, as people type all three.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from piyasa_bot.conversation.turkish import fold

QuestionKind = Literal["advice", "forecast", "level", "why", "general"]

# Turkish writes the question particle as its own word: "yükselir mi"; in a hurry, joined: "olurmu", "varmi".
_PARTICLES = re.compile(
    r"\b(mi|mu|misin|musun|miyiz|misiniz|musunuz|midir|mudur|miydi|muydu|ne|neden|niye|nasil|kac|kaca|kacta|kactan|"
    r"hangi|hangisi|nereye|nerede|nereden|nedir|neler|nolur|noldu|napalim|napayim|napcaz)\b"
    r"|\b(?!yirmi\b)\w+(?:[aeiou]r|var|yok)m[iu]\b"
)
_ADVICE = re.compile(
    r"\b(alinir|alayim|alsam|almali|satayim|satsam|satilir|satmali|girilir|gireyim|girsem|tutayim|tutsam|"
    r"cikayim|ne yapayim|ne yapalim|ne yapmali|eklesem|ekleyeyim)\b"
)
_FORECAST = re.compile(
    r"\b(ne olur|ne olacak|nereye|hedef|yukselir|duser|cikar mi|iner mi|ne bekli|ne dusun|yorum|gorus|"
    r"beklenti|tahmin|gider mi|devam eder|kac olur|yil ?sonu|ay sonu|ne zaman)"
)
_LEVEL = re.compile(r"\b(kac|ne kadar|fiyat|seviye|kacta|kactan)")
# A statement is a claim when it takes a side or predicts: that is what one can agree or disagree with.
_OPINION = re.compile(
    r"\b(bence|bana gore|kanimca|bizce|tahminim|beklentim|hedef\w*|destek\w*|direnc\w*|gider|gelir|kirar|kiramaz|"
    r"yukselir|duser|cikar|iner|olur|olacak|gelecek|gidecek|gorur|sisti|sismis|ucar|cakilir|patlar|toplar|toparlar)\b"
)
_WHY = re.compile(r"\b(neden|niye|sebep|nedeni)\b")
_GREETING = re.compile(r"^\W*(selam|merhaba|gunaydin|iyi aksamlar|iyi gunler|hayirli|sa\b|slm|mrb|hey)")
_THANKS = re.compile(r"\b(tesekkur|sagol|sag ol|eyvallah|tsk|tskler|eline saglik)")
_BULLISH = re.compile(
    r"\b(yuksel|artar|artis|artida|yesil|boga|roket|ucar|ucus|alim|aldim|alirim|toparlan|ralli|pozitif|zirve|guclu)"
)
_BEARISH = re.compile(
    r"\b(dus(tu|er|us|ecek|uyor|mesi|en)|sat(is|ic|tim|arim|ar)?\b|kirmizi|ayi|cakil|cokus|eksi|negatif|kayip|"
    r"dip|zayif|baski)"
)


@lru_cache(maxsize=2048)  # the director asks about the same recent lines at every turn
def is_question(text: str) -> bool:
    """A question mark anywhere, or a Turkish question word/particle."""
    if "?" in text:
        return True
    return bool(_PARTICLES.search(fold(text)))


def question_at(text: str) -> int | None:
    """Where in `fold(text)` the first question word, particle or question mark is; None in a statement."""
    folded = fold(text)
    found = [match.start() for match in (_PARTICLES.search(folded),) if match]
    if "?" in folded:
        found.append(folded.index("?"))
    return min(found) if found else None


def is_claim(text: str) -> bool:
    """A statement that takes a side or predicts ("BTC 120 bini görür"): agreeing or not makes sense."""
    if is_question(text):
        return False
    return sentiment(text) is not None or bool(_OPINION.search(fold(text)))


def question_kind(text: str) -> QuestionKind:
    folded = fold(text)
    if _ADVICE.search(folded):
        return "advice"
    if _WHY.search(folded):
        return "why"
    if _FORECAST.search(folded):
        return "forecast"
    if _LEVEL.search(folded):
        return "level"
    return "general"


def is_greeting(text: str) -> bool:
    return bool(_GREETING.search(fold(text)))


def is_thanks(text: str) -> bool:
    return bool(_THANKS.search(fold(text)))


def sentiment(text: str) -> Literal["bullish", "bearish"] | None:
    """The side a message leans to, by counting bullish and bearish word stems."""
    folded = fold(text) + " "
    ups = len(_BULLISH.findall(folded))
    downs = len(_BEARISH.findall(folded))
    if ups > downs:
        return "bullish"
    if downs > ups:
        return "bearish"
    return None
