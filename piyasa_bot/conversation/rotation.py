"""Stock clauses and lead-ins rotate: a bot does not lean on the same words message after message.

Two kinds of sameness give a bot away. Stock clauses, with no number and no
symbol in them ("şöyle bakıyorum:", "ben kademeli ilerliyorum", "bakalım"),
and the fixed frame of a filled template ("{sym} için ekrandaki rakam",
"güncel durum: {sym}", "{driver} tarafını yakından izlemek lazım").

Before a draft is styled, each clause that the bot used within its last
RECENT messages, or already said as a sentence (SentenceMemory), is swapped
for an unused clause of the same family (same meaning: an agreement stays an
agreement, a bearish outlook stays bearish) or, when the family is used up
or the clause was filled from a template, dropped. The clause that carries
the subject (the fact: the first naming the symbol or quoting a number) is
never dropped; if it is worn, `wear` says so and the composer writes the
draft again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from piyasa_bot.conversation import phrases_answer as answers
from piyasa_bot.conversation import phrases_market as market_words
from piyasa_bot.conversation import phrases_news as news
from piyasa_bot.conversation import phrases_numberless as numberless
from piyasa_bot.conversation import phrases_talk as talk
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.sentence_memory import SentenceMemory
from piyasa_bot.conversation.style import Styled, is_lead_in
from piyasa_bot.conversation.turkish import capitalize_first, compare_key, fold

RECENT = 20  # messages within which a bot does not reuse a stock clause or a template's frame
_Family = tuple[str, ...]
_Bank = Mapping[Any, _Family] | _Family
_STOCK_BANKS: Sequence[_Bank] = (
    talk.OPENERS,
    talk.GREETINGS,
    talk.REACTIONS,
    talk.SARCASM,
    talk.CLOSERS,
    talk.AGREE,
    talk.DISAGREE,
    talk.PARTIAL,
    answers.ANSWER_OPENERS,
    answers.ADVICE_NOTES,
    answers.GREETING_REPLIES,
    answers.THANKS_REPLIES,
    answers.STATEMENT_ACKS,
    market_words.OUTLOOK,
    market_words.OUTLOOK_VS_DAY,
    market_words.RISK_NOTES,
    market_words.POLICY_OUTLOOK,
    news.NEWS_REACTIONS,
)
_TEMPLATE_BANKS: Sequence[_Bank] = (
    *_STOCK_BANKS,
    market_words.FACTS,
    market_words.DRIVER_FRAMES,
    numberless.NUMBERLESS_FACTS,
    numberless.LEVEL_ONLY,
    numberless.CLOSED_LAST,
    numberless.CLOSED_LAST_BIST,
    talk.QUESTIONS,
    answers.WHY_FRAMES,
    news.NEWS_OPENERS,
    news.NEWS_OPENERS_WITH_SYM,
)
_SLOT = re.compile(r"\{[^}]*\}")


def _families(banks: Sequence[_Bank]) -> Iterator[_Family]:
    for bank in banks:
        yield from bank.values() if isinstance(bank, Mapping) else (bank,)


def _passes(clause: str) -> bool:
    """A clause with no slot (a filled one is no stock clause) that the guard lets through after a full
    stop: it reads "Tamam. Net bir sinyal yok" as a link to "tamam.net", so that one is never swapped in."""
    return "{" not in clause and guard(f"Tamam. {capitalize_first(clause)}").ok


def _stock_index() -> dict[str, _Family]:
    index: dict[str, _Family] = {}
    for family in _families(_STOCK_BANKS):
        stock = tuple(clause for clause in family if _passes(clause))
        for clause in stock if len(stock) > 1 else ():
            index.setdefault(clause, stock)  # a clause in two families keeps its first
    return index


def _frames() -> frozenset[str]:
    """The fixed pieces of every template, of two words or more ("icin rakamlar soyle", "guncel durum")."""
    pieces = (compare_key(piece) for family in _families(_TEMPLATE_BANKS) for t in family for piece in _SLOT.split(t))
    return frozenset(piece for piece in pieces if " " in piece)


def _by_first_word(frames: frozenset[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for frame in frames:
        words = tuple(frame.split())
        index.setdefault(words[0], []).append(words)
    return {word: tuple(found) for word, found in index.items()}


_FAMILY = _stock_index()
# Agreeing or disagreeing with a claim is the point of the reply, not a seasoning.
_SIDES = frozenset((*talk.AGREE, *talk.DISAGREE, *talk.PARTIAL))
_FRAMES = _by_first_word(_frames())
_VOCATIVES = tuple(talk.VOCATIVES)
# Said again and again by everyone ("rica ederim", "günaydın"): a repeat of one is no tic.
_PLEASANTRIES = frozenset(
    compare_key(clause)
    for family in (answers.THANKS_REPLIES, answers.GREETING_REPLIES, *talk.GREETINGS.values())
    for clause in family
)


def _frames_in(key: str) -> list[str]:
    """The template frames `key` (a compare_key) contains, each padded with spaces for a whole-word match."""
    words = key.split()
    found = []
    for start, word in enumerate(words):
        for frame in _FRAMES.get(word, ()):
            if tuple(words[start : start + len(frame)]) == frame:
                found.append(f" {' '.join(frame)} ")
    return found


@lru_cache(maxsize=4096)
def _marks(clause: str) -> tuple[str, ...]:
    """What would make `clause` look reused: itself if it is a stock clause, and the frames it contains."""
    key = compare_key(clause)
    return ((f" {key} ",) if clause in _FAMILY else ()) + tuple(_frames_in(key))


class _Worn:
    """Whether a clause is worn for one bot now: said as a sentence, or marked in its last messages."""

    def __init__(self, memory: SentenceMemory, bot_name: str) -> None:
        self._memory, self._bot = memory, bot_name
        self._recent = [f" {key} " for key in memory.recent_messages(bot_name, RECENT)]

    def __call__(self, clause: str) -> bool:
        if self._memory.repeated_sentences(self._bot, clause):
            return True
        return any(mark in said for mark in _marks(clause) for said in self._recent)

    def framed(self, text: str) -> bool:
        """`text` uses a template frame (or a stock clause) the bot used within its last RECENT messages."""
        return any(frame in said for frame in _frames_in(compare_key(text)) for said in self._recent)


def wear(memory: SentenceMemory, bot_name: str, styled: Styled) -> int:
    """How worn a styled draft is: 2 the bot sent this very message lately; 1 it said one of its sentences
    before (pleasantries and the signature aside) or used one of its frames within RECENT messages; 0 new."""
    if memory.said_message(bot_name, styled.text):
        return 2
    if any(key not in _PLEASANTRIES for key in memory.repeated_sentences(bot_name, styled.body)):
        return 1
    return int(_Worn(memory, bot_name).framed(styled.body))


def freshen(
    parts: list[str], memory: SentenceMemory, bot_name: str, subject: str | None, rng: random.Random
) -> list[str]:
    """`parts` with the bot's worn clauses swapped or dropped; `subject` is the symbol's spoken name."""
    worn = _Worn(memory, bot_name)
    core = _core(parts, subject)
    fresh: list[str] = []
    for index, part in enumerate(parts):
        prefix, clause, suffix = _split_vocative(part)
        opens_on_a_number = not fresh and index + 1 < len(parts) and not parts[index + 1][:1].isalpha()
        if index == core or opens_on_a_number or not worn(clause):
            fresh.append(part)  # kept even if worn: the composer writes the draft again if it repeats
            continue
        family = [c for c in _FAMILY.get(clause, ()) if is_lead_in(c) == is_lead_in(clause) and c != clause]
        unused = next((c for c in rng.sample(family, len(family)) if not worn(c)), None)
        if unused:
            fresh.append(prefix + unused + suffix)
        elif clause in _SIDES:
            fresh.append(part)  # the answer to a claim takes a side, worn words or not: never dropped
        elif fresh and is_lead_in(fresh[-1]):
            fresh.pop()  # the lead-in ran into the clause that goes; the next one was not written for it
    if len(fresh) > 1 and is_lead_in(fresh[-1]):
        fresh.pop()
    return fresh


def _core(parts: list[str], subject: str | None) -> int:
    """The index of the clause that carries the subject: the first naming it or quoting a number (the
    fact: "politika faizi hâlâ %43" for "TCMB faizi"), else the first full clause."""
    name = fold(subject) if subject else None
    for index, part in enumerate(parts):
        if (name and name in fold(part)) or any(char.isdigit() for char in part):
            return index
    return next((index for index, part in enumerate(parts) if not is_lead_in(part)), 0)


def _split_vocative(part: str) -> tuple[str, str, str]:
    """ "hocam, şöyle bakıyorum:" -> ("hocam, ", "şöyle bakıyorum:", ""); "katılıyorum dostum" likewise."""
    for vocative in _VOCATIVES:
        if part.startswith(f"{vocative}, "):
            return f"{vocative}, ", part[len(vocative) + 2 :], ""
        if part.endswith(f" {vocative}"):
            return "", part[: -len(vocative) - 1], f" {vocative}"
    return "", part, ""
