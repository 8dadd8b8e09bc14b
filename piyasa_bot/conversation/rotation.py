"""Stock clauses rotate: a bot does not lean on the same opener, lead-in or aside.

The phrase banks hold clauses with no number and no symbol in them ("şöyle
bakıyorum:", "ben kademeli ilerliyorum", "bakalım"). People have such stock
phrases too, but a reader notices one that comes back every few messages.
Before a draft is styled, each of its stock clauses that the bot used in its
last RECENT messages, or already said as a sentence (SentenceMemory), is
swapped for an unused one of the same family (same meaning: an agreement
stays an agreement, a bearish outlook stays bearish), or dropped when the
family is used up. The clause that carries the subject (the first naming the
symbol) is never dropped: if it repeats, the composer regenerates the draft.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from piyasa_bot.conversation import phrases_answer as answers
from piyasa_bot.conversation import phrases_market as market_words
from piyasa_bot.conversation import phrases_news as news
from piyasa_bot.conversation import phrases_talk as talk
from piyasa_bot.conversation.sentence_memory import SentenceMemory
from piyasa_bot.conversation.style import is_lead_in
from piyasa_bot.conversation.turkish import compare_key, fold

RECENT = 20  # messages within which a bot does not reuse a stock clause
_Family = tuple[str, ...]


def _families() -> Iterator[_Family]:
    banks: Sequence[Mapping[Any, _Family] | _Family] = (
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
    for bank in banks:
        for family in bank.values() if isinstance(bank, Mapping) else (bank,):
            stock = tuple(clause for clause in family if "{" not in clause)  # a filled slot is no stock clause
            if len(stock) > 1:
                yield stock


def _index() -> dict[str, _Family]:
    index: dict[str, _Family] = {}
    for family in _families():
        for clause in family:
            index.setdefault(clause, family)  # a clause in two families keeps its first
    return index


_FAMILY = _index()
_VOCATIVES = tuple(talk.VOCATIVES)
# Said again and again by everyone ("rica ederim", "günaydın"): a repeat of one is no tic.
_PLEASANTRIES = frozenset(
    compare_key(clause)
    for family in (answers.THANKS_REPLIES, answers.GREETING_REPLIES, *talk.GREETINGS.values())
    for clause in family
)


def repeats(memory: SentenceMemory, bot_name: str, text: str) -> bool:
    """`text` has a sentence the bot already said (pleasantries aside): the draft should be written again."""
    return any(key not in _PLEASANTRIES for key in memory.repeated_sentences(bot_name, text))


def freshen(
    parts: list[str], memory: SentenceMemory, bot_name: str, subject: str | None, rng: random.Random
) -> list[str]:
    """`parts` with the bot's worn stock clauses swapped or dropped; `subject` is the symbol's spoken name."""
    recent = [f" {key} " for key in memory.recent_messages(bot_name, RECENT)]

    def worn(clause: str) -> bool:
        key = compare_key(clause)
        return bool(memory.repeated_sentences(bot_name, clause)) or any(f" {key} " in said for said in recent)

    core = _core(parts, subject)
    fresh: list[str] = []
    for index, part in enumerate(parts):
        opens_on_a_number = not fresh and index + 1 < len(parts) and not parts[index + 1][:1].isalpha()
        if index == core or opens_on_a_number or not worn(part):
            fresh.append(part)  # kept even if worn: the composer writes the draft again if it repeats
            continue
        prefix, clause, suffix = _split_vocative(part)
        family = _FAMILY.get(clause, ())
        unused = [c for c in family if is_lead_in(c) == is_lead_in(clause) and c != clause and not worn(c)]
        if unused:
            fresh.append(prefix + rng.choice(unused) + suffix)
        elif fresh and is_lead_in(fresh[-1]):
            fresh.pop()  # the lead-in ran into the clause that goes; the next one was not written for it
    if len(fresh) > 1 and is_lead_in(fresh[-1]):
        fresh.pop()
    return fresh


def _core(parts: list[str], subject: str | None) -> int:
    """The index of the clause that carries the subject: the first naming it, else the first full clause."""
    if subject:
        name = fold(subject)
        for index, part in enumerate(parts):
            if name in fold(part):
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
