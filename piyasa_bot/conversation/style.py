"""How a persona writes: capitals and full stops, or fast lowercase with typos and emoji.

The composer decides what to say as a list of plain clauses; this module
decides how it looks. Typos never touch numbers or symbol names, so a
casual bot still quotes the right level.

Signature phrases are seasoning, not a tic: one is added only when none of
the bot's last SIGNATURE_GAP messages had one (so at most one message in
ten, never two in a row), then by chance, and the phrase picked is one the
bot has not used in the messages it remembers. The caller passes those
messages (`recent`, newest first), so the rule holds across chats and, with
what the runner reloads at start, across restarts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import NamedTuple

from piyasa_bot.conversation.phrases_talk import EMOJI
from piyasa_bot.conversation.symbols import find_symbols
from piyasa_bot.conversation.turkish import capitalize_first, casual_lower, compare_key, deaccent
from piyasa_bot.roster import Persona

SIGNATURE_GAP = 9  # messages without a signature between two that have one
SIGNATURE_RATE = 0.2  # chance of one once the gap is over: about one message in 14
_ACCENTED = re.compile(r"[çğıöşüÇĞİÖŞÜ]")
_SPACES = re.compile(r"\s+")
_LOOSE_PUNCT = re.compile(r"\s+([,.;:!?])")


def tidy(clause: str) -> str:
    """Collapse the gaps an empty slot leaves ("%1,35  artıda", "bugün , 9.800")."""
    return _LOOSE_PUNCT.sub(r"\1", _SPACES.sub(" ", clause)).strip().rstrip("; ")


def is_lead_in(clause: str) -> bool:
    """A clause ending in ":" or "," runs into the next one ("grafiğe bakınca, BIST ...")."""
    return clause.endswith((":", ","))


class Styled(NamedTuple):
    body: str  # what the bot says this time
    signature: str | None  # the persona's phrase appended to it, if any

    @property
    def text(self) -> str:
        return f"{self.body} {self.signature}" if self.signature else self.body


class Styler:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def render(self, clauses: list[str], persona: Persona, mood: str, *, recent: Sequence[str] = ()) -> str:
        return self.style(clauses, persona, mood, recent=recent).text

    def style(self, clauses: list[str], persona: Persona, mood: str, *, recent: Sequence[str] = ()) -> Styled:
        """The clauses in the persona's hand; `recent` are the keys (turkish.compare_key) of the bot's
        last messages, newest first, which decide whether a signature phrase may season this one."""
        clauses = [c for c in (tidy(c) for c in clauses) if c]
        body = self._casual(clauses, persona) if persona.lowercase else self._formal(clauses, persona)
        if persona.typo_rate > 0:
            body = self._typos(body, persona.typo_rate)
        rng = self._rng
        if rng.random() < persona.emoji_rate:
            body += " " + rng.choice(EMOJI.get(mood, EMOJI["social"]))
            if rng.random() < persona.emoji_rate / 2:
                body += rng.choice(EMOJI.get(mood, EMOJI["social"]))
        signature = self._signature(persona, recent)
        if signature and persona.lowercase:
            signature = casual_lower(signature)
        return Styled(body, signature)

    def _signature(self, persona: Persona, recent: Sequence[str]) -> str | None:
        phrases = [phrase.strip() for phrase in persona.signature_phrases if compare_key(phrase)]
        if not phrases:
            return None
        keys = {phrase: f" {compare_key(phrase)} " for phrase in phrases}
        said = [f" {key} " for key in recent]
        if any(key in message for message in said[:SIGNATURE_GAP] for key in keys.values()):
            return None
        if self._rng.random() >= SIGNATURE_RATE:
            return None
        last_used = {
            phrase: next((i for i, m in enumerate(said) if keys[phrase] in m), len(said)) for phrase in phrases
        }
        unused = [phrase for phrase in phrases if last_used[phrase] == len(said)]
        return self._rng.choice(unused) if unused else max(phrases, key=last_used.__getitem__)  # the longest ago

    def _formal(self, clauses: list[str], persona: Persona) -> str:
        rng = self._rng
        text, starts_sentence = "", True
        for index, clause in enumerate(clauses):
            last = index == len(clauses) - 1
            if last and is_lead_in(clause):
                clause = clause[:-1]
            piece = capitalize_first(clause) if starts_sentence else clause
            if not is_lead_in(piece) and piece[-1] not in ".!?":
                if last and persona.tone in ("energetic", "enthusiastic") and rng.random() < 0.5:
                    piece += "!"
                elif last and persona.tone == "sarcastic" and rng.random() < 0.4:
                    piece += "..."
                else:
                    piece += "."
            text += (" " if text else "") + piece
            starts_sentence = not is_lead_in(piece)
        return text

    def _casual(self, clauses: list[str], persona: Persona) -> str:
        rng = self._rng
        text = ""
        for index, clause in enumerate(clauses):
            if index == len(clauses) - 1 and is_lead_in(clause):
                clause = clause[:-1]
            if text:
                text += " " if text.endswith(("?", ":", ",")) else rng.choice((", ", ", ", ". "))
            text += casual_lower(clause)
        if persona.tone == "sarcastic" and not text.endswith("?") and rng.random() < 0.3:
            text += "..."
        elif persona.tone in ("energetic", "enthusiastic") and not text.endswith("?") and rng.random() < 0.3:
            text += "!!"
        return text

    def _typos(self, text: str, rate: float) -> str:
        rng = self._rng
        words = text.split(" ")
        for index, word in enumerate(words):
            core = word.strip(".,;:!?")
            if len(core) < 4 or not core.isalpha() or find_symbols(core) or rng.random() >= rate:
                continue
            words[index] = word.replace(core, self._misspell(core), 1)
        return " ".join(words)

    def _misspell(self, word: str) -> str:
        rng = self._rng
        kind = rng.random()
        if kind < 0.45 and _ACCENTED.search(word):
            return deaccent(word)  # the most common Turkish "typo": no diacritics
        position = rng.randrange(1, len(word) - 1)
        if kind < 0.7:
            return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        if kind < 0.85:
            return word[:position] + word[position + 1 :]
        return word[:position] + word[position] + word[position:]
