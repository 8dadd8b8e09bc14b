"""Turkish text helpers: casing, accents, number formatting, comparison keys.

Python's str.lower() maps "I" to "i" and "İ" to "i̇"; Turkish needs "ı" and
"i". Everything here that compares or restyles text goes through these.
"""

from __future__ import annotations

import re
from datetime import date

_ACCENTS = str.maketrans("çğıöşüâîûÇĞİÖŞÜÂÎÛ", "cgiosuaiuCGIOSUAIU")
_TICKER = re.compile(r"\b[A-Z][A-Z0-9]+\b")
_NOT_LETTER = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")


def lower(text: str) -> str:
    """Turkish lowercase: I -> ı, İ -> i."""
    return text.replace("I", "ı").replace("İ", "i").lower()


def upper(text: str) -> str:
    """Turkish uppercase: i -> İ, ı -> I."""
    return text.replace("i", "İ").replace("ı", "I").upper()


def capitalize_first(text: str) -> str:
    """Uppercase the first letter only (Turkish-aware), leaving the rest alone."""
    for index, char in enumerate(text):
        if char.isalpha():
            return text[:index] + upper(char) + text[index + 1 :]
        if not char.isspace() and char not in "\"'(«":
            return text
    return text


def casual_lower(text: str) -> str:
    """Lowercase like a person typing fast: tickers become "bist", not "bıst"."""
    return lower(_TICKER.sub(lambda match: match.group().lower(), text))


def deaccent(text: str) -> str:
    return text.translate(_ACCENTS)


def fold(text: str) -> str:
    """Lowercase without diacritics: the form that symbol and keyword matching uses."""
    return deaccent(lower(text))


def compare_key(text: str) -> str:
    """What two messages must differ in to count as different: letters and spaces only.

    Digits go too, so the same sentence with a new price is still a repeat.
    """
    return _SPACES.sub(" ", _NOT_LETTER.sub(" ", fold(text))).strip()


def format_number(value: float, decimals: int = 2) -> str:
    """9845.2 -> "9.845,20" (dot for thousands, comma for decimals)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_percent(value: float, decimals: int = 2) -> str:
    """1.3456 -> "%1,35": Turkish writes the sign before the number, sign left to the words."""
    return "%" + format_number(abs(value), decimals)


MONTHS = ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık")


def format_day(day: date) -> str:
    """ "11 Aralık": a date as people say it in the same year."""
    return f"{day.day} {MONTHS[day.month - 1]}"
