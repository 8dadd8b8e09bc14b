"""Turkish suffixes by vowel harmony: "altın mı", "BTC'yi", "THYAO'ya", "ASELS'te", "XU100'ü".

The suffix follows how a word is said, not how it is spelled: "BTC" is read
letter by letter ("be-te-ce"), "XU100" ends in "yüz", "petrol" takes front
vowels ("petrolü"). `reading` gives the spoken form when the spelling misleads;
without it one is guessed (numbers by their last word, vowel-less codes by
letter names). Written forms with a capital or a digit (tickers, names) take
an apostrophe; lowercase words do not ("doları", "BTC'yi"). Consonant
softening (kitap -> kitabı) is not handled: keep such words out of templates.
"""

from __future__ import annotations

import re

from piyasa_bot.conversation.turkish import lower

_BACK, _FRONT = "aıou", "eiöü"
_VOWELS = _BACK + _FRONT
_VOICELESS = "fstkçşhp"
# Four-way harmony of the I-type suffixes (-(y)I, mI): the last vowel decides.
_HIGH = {"a": "ı", "ı": "ı", "o": "u", "u": "u", "e": "i", "i": "i", "ö": "ü", "ü": "ü"}
_LETTER_NAMES = {
    "a": "a", "b": "be", "c": "ce", "ç": "çe", "d": "de", "e": "e", "f": "fe", "g": "ge", "ğ": "ge", "h": "he",
    "ı": "ı", "i": "i", "j": "je", "k": "ke", "l": "le", "m": "me", "n": "ne", "o": "o", "ö": "ö", "p": "pe",
    "q": "kü", "r": "re", "s": "se", "ş": "şe", "t": "te", "u": "u", "ü": "ü", "v": "ve", "w": "ve", "x": "iks",
    "y": "ye", "z": "ze",
}  # fmt: skip
_UNITS = ("", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz")
_TENS = ("", "on", "yirmi", "otuz", "kırk", "elli", "altmış", "yetmiş", "seksen", "doksan")


def particle(word: str, reading: str | None = None) -> str:
    """The question particle, written apart: "altın mı", "BTC mi", "THYAO mu", "XU100 mü"."""
    return f"{word} m{_high(_spoken(word, reading))}"


def accusative(word: str, reading: str | None = None) -> str:
    """-(y)I: "doları", "BTC'yi", "THYAO'yu", "ASELS'i"."""
    spoken = _spoken(word, reading)
    return _attach(word, ("y" if _ends_in_vowel(spoken) else "") + _high(spoken))


def dative(word: str, reading: str | None = None) -> str:
    """-(y)A: "dolara", "BTC'ye", "THYAO'ya", "ASELS'e"."""
    spoken = _spoken(word, reading)
    return _attach(word, ("y" if _ends_in_vowel(spoken) else "") + _low(spoken))


def locative(word: str, reading: str | None = None) -> str:
    """-DA: "dolarda", "BTC'de", "ASELS'te", "brentte"."""
    spoken = _spoken(word, reading)
    return _attach(word, ("t" if spoken[-1:] in _VOICELESS else "d") + _low(spoken))


def _attach(word: str, suffix: str) -> str:
    proper = any(char.isupper() or char.isdigit() for char in word)
    return f"{word}'{suffix}" if proper else word + suffix


def _high(spoken: str) -> str:
    return _HIGH[_last_vowel(spoken)]


def _low(spoken: str) -> str:
    return "a" if _last_vowel(spoken) in _BACK else "e"


def _last_vowel(spoken: str) -> str:
    return next((char for char in reversed(spoken) if char in _VOWELS), "e")


def _ends_in_vowel(spoken: str) -> bool:
    return spoken[-1:] in _VOWELS


def _spoken(word: str, reading: str | None) -> str:
    if reading:
        return lower(reading)
    text = word.strip().rstrip("?!.,")
    digits = len(text) - len(text.rstrip("0123456789"))
    if digits:
        return number_word(int(text[-digits:]))
    token = re.split(r"[\s/]+", text)[-1] or text
    letters = [char for char in lower(token) if char.isalpha()]
    # A short code or one with no vowel at its end ("BTC", "TL", "USDTRY") is read letter by letter.
    if token.isupper() and letters and (len(letters) <= 3 or not any(char in _VOWELS for char in letters[-3:])):
        return _LETTER_NAMES.get(letters[-1], "e")
    return "".join(letters) or "e"


def number_word(value: int) -> str:
    """The word a number ends with when said: 100 -> "yüz", 30 -> "otuz", 2500 -> "yüz"."""
    if value == 0:
        return "sıfır"
    if value % 10:
        return _UNITS[value % 10]
    if value % 100:
        return _TENS[value % 100 // 10]
    if value % 1000:
        return "yüz"
    if value % 1_000_000:
        return "bin"
    return "milyon"
