"""Single clauses, each filled from a persona and market facts.

These are the bricks; composer.py decides which ones a message gets. Every
function takes the rng explicitly so the whole message is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from string import Formatter

from piyasa_bot.conversation import phrases_answer as answers
from piyasa_bot.conversation import phrases_market as market_words
from piyasa_bot.conversation import phrases_news as news
from piyasa_bot.conversation import phrases_numberless as numberless
from piyasa_bot.conversation import phrases_talk as talk
from piyasa_bot.conversation.facts import Facts, Stance
from piyasa_bot.conversation.hours import istanbul
from piyasa_bot.conversation.turkish import capitalize_first
from piyasa_bot.roster import Persona


def fill(template: str, facts: Facts | None, **extra: str) -> str:
    slots = dict(facts.slots) if facts else {}
    slots.update(extra)
    return template.format_map(slots)


def _pick(rng: random.Random, templates: Sequence[str], facts: Facts | None, **extra: str) -> str:
    """A template whose every slot is known (facts and `extra`), filled; a numberless fact when none is."""
    known = set(facts.slots if facts else ()) | set(extra)
    usable = [t for t in templates if _slots(t) <= known]
    if not usable:
        usable = [t for t in numberless.NUMBERLESS_FACTS if _slots(t) <= known]
    return fill(rng.choice(usable), facts, **extra)


@lru_cache(maxsize=4096)
def _slots(template: str) -> frozenset[str]:
    return frozenset(field for _, field, _, _ in Formatter().parse(template) if field)


def fact(facts: Facts, rng: random.Random, *, plain: bool = False) -> str:
    """The day's fact for the symbol; `plain` keeps to ones that start with its name (after a lead-in)."""
    family = _fact_family(facts)
    if plain:
        family = tuple(t for t in family if t.startswith("{sym}")) or family
    return _pick(rng, family, facts)


def _fact_family(facts: Facts) -> tuple[str, ...]:
    key = facts.fact_key
    if key == "numberless":
        return numberless.NUMBERLESS_FACTS
    if key == "level":
        return numberless.LEVEL_ONLY
    if key == "closed_level":
        return numberless.CLOSED_LAST + (numberless.CLOSED_LAST_BIST if facts.topic == "bist" else ())
    return market_words.FACTS[key] + (market_words.FACTS["move"] if key in ("up", "down") else ())


def outlook(facts: Facts, stance: Stance, rng: random.Random) -> str:
    if facts.symbol == "POLICY":
        return _pick(rng, market_words.POLICY_OUTLOOK[stance], facts)
    family = market_words.OUTLOOK[stance]
    versus = market_words.OUTLOOK_VS_DAY.get((stance, facts.direction or "unknown"), ())
    return _pick(rng, family + versus, facts)


def driver(facts: Facts, rng: random.Random, frames: tuple[str, ...] = market_words.DRIVER_FRAMES) -> str:
    return _pick(rng, frames, facts, driver=rng.choice(market_words.DRIVERS[facts.topic]))


def risk(persona: Persona, facts: Facts, rng: random.Random) -> str:
    return _pick(rng, market_words.RISK_NOTES[persona.risk], facts)


def question(facts: Facts, rng: random.Random) -> str:
    return _pick(rng, talk.QUESTIONS, facts)


def opener(persona: Persona, rng: random.Random) -> str:
    return rng.choice(talk.OPENERS[persona.tone])


def greeting(now: datetime, rng: random.Random) -> str:
    hour = istanbul(now).hour
    part = "morning" if 5 <= hour < 11 else "evening" if hour >= 18 else "day"
    return rng.choice(talk.GREETINGS[part])


def reaction(persona: Persona, mood: str, rng: random.Random) -> str:
    if persona.tone == "sarcastic" and mood in talk.SARCASM and rng.random() < 0.5:
        return rng.choice(talk.SARCASM[mood])
    return rng.choice(talk.REACTIONS.get(mood, talk.REACTIONS["flat"]))


def closer(rng: random.Random) -> str:
    return rng.choice(talk.CLOSERS)


def linked(clause: str, rng: random.Random) -> str:
    """A second symbol's fact, introduced as an aside."""
    return f"{rng.choice(talk.LINKERS)} {clause}"


def stance_reply(mine: Stance, theirs: str | None, rng: random.Random) -> str:
    """Agree, disagree or half-agree with a message, by comparing its lean with our stance."""
    family: tuple[str, ...]
    if theirs is None or mine == "neutral":
        family = talk.PARTIAL if theirs else talk.PARTIAL + answers.STATEMENT_ACKS
    elif theirs == mine:
        family = talk.AGREE
    else:
        family = talk.DISAGREE
    text = rng.choice(family)
    if rng.random() < 0.35:
        text = f"{text} {rng.choice(talk.VOCATIVES)}"
    return text


def answer_opener(kind: str, rng: random.Random) -> str:
    text = rng.choice(answers.ANSWER_OPENERS[kind])
    if rng.random() < 0.35:
        text = f"{rng.choice(talk.VOCATIVES)}, {text}"
    return text


def why(facts: Facts, rng: random.Random) -> str:
    return driver(facts, rng, answers.WHY_FRAMES)


def advice_note(rng: random.Random) -> str:
    return rng.choice(answers.ADVICE_NOTES)


def greeting_reply(now: datetime, rng: random.Random) -> str:
    return greeting(now, rng) if rng.random() < 0.4 else rng.choice(answers.GREETING_REPLIES)


def thanks_reply(rng: random.Random) -> str:
    return rng.choice(answers.THANKS_REPLIES)


def news_opener(headline: str, facts: Facts | None, rng: random.Random) -> str:
    """A headline retold; with `facts`, tied to the symbol it concerns."""
    if facts is not None and rng.random() < 0.5:
        return _pick(rng, news.NEWS_OPENERS_WITH_SYM, facts, headline=headline)
    return _pick(rng, news.NEWS_OPENERS, None, headline=headline)


def news_reaction(persona: Persona, rng: random.Random) -> str:
    return rng.choice(news.NEWS_REACTIONS[persona.tone])


def sibling_address(name: str, rng: random.Random) -> str:
    """Another bot addressed by its name, as members do ("Kemal,", "Kemal hocam,")."""
    title = rng.choice(talk.SIBLING_TITLES)
    return f"{capitalize_first(name)}{title},"
