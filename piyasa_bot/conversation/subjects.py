"""What a bot says about a subject it does not follow, so an answer never changes the subject.

Asked "DOGE alınır mı?", a bot that follows BTC used to answer about BTC.
People notice that at once. The honest answer says it does not follow
DOGE, now and then what it follows instead, in the same family (BTC and ETH
for coins), and asks back when the code looks like a typo of a name we
know ("EURUS derken EUR/USD mi demek istedin?"). A persona that lists the
subject in its watchlist but has no quote says it has no fresh data.
The answer carries no number and states no direction.
"""

from __future__ import annotations

import difflib
import random

from piyasa_bot.conversation import phrases_answer as answers
from piyasa_bot.conversation.facts import Facts
from piyasa_bot.conversation.foreign import FAMILY_TOPIC, FOREIGN, Foreign
from piyasa_bot.conversation.harmony import particle
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, find_unfollowed
from piyasa_bot.conversation.turkish import fold
from piyasa_bot.roster import Persona

POINTER_SHARE = 0.5  # how often "I don't follow it" goes on to what the bot does follow
TAIL_SHARE = 0.3  # else, how often it ends with a word to the group ("bilen biri varsa yazsın")
LEAD_SHARE = 0.3  # how often it starts with a word of its own ("valla", "hocam")
# Compact forms to compare a typed code with: our codes, and outsiders by name ("EURUSD" for EUR/USD).
_NAMES: dict[str, str] = {code: code for code in SYMBOLS} | {
    "".join(ch for ch in f.name.upper() if ch.isalnum()): f.name for f in FOREIGN
}


def outsider(text: str) -> Foreign | None:
    """The subject `text` names that we do not follow, when it names none that we do."""
    if find_symbols(text):
        return None
    named = find_unfollowed(text)
    return named[0] if named else None


def unfollowed_facts(subject: Foreign) -> Facts:
    """Facts with no quote, naming the subject: the draft is about it, and says no number."""
    return Facts(subject.name, FAMILY_TOPIC[subject.family], None, {"name": subject.name})


def unfollowed_answer(subject: Foreign, persona: Persona, rng: random.Random) -> list[str]:
    """The clauses of an honest answer about `subject`."""
    name = subject.name
    guess = near_miss(subject)
    if watches(persona, subject):
        parts = [_lead(rng, answers.WATCHED_NO_DATA, name)]
    elif guess is not None:
        return [rng.choice(answers.NEAR_MISS).format(name=name, guess=particle(guess))]
    else:
        parts = [_lead(rng, answers.UNFOLLOWED, name)]
        if rng.random() < POINTER_SHARE:
            return parts + [rng.choice(answers.UNFOLLOWED_POINTERS[subject.family])]
    if rng.random() < TAIL_SHARE:
        parts.append(rng.choice(answers.UNFOLLOWED_TAILS))
    return parts


def _lead(rng: random.Random, templates: tuple[str, ...], name: str) -> str:
    text = rng.choice(templates).format(name=name)
    if rng.random() < LEAD_SHARE and not text.startswith(("açıkçası", "dürüst")):
        text = f"{rng.choice(answers.UNFOLLOWED_LEADS)} {text}"
    return text


def plain_ack(rng: random.Random) -> str:
    """A nod to a statement that neither asks nor takes a side."""
    return rng.choice(answers.PLAIN_ACKS)


def watches(persona: Persona, subject: Foreign) -> bool:
    """Whether the persona's watchlist names `subject` ("EURUSD", "TR10Y", "SASA")."""
    forms = {fold(subject.name), *subject.aliases, *(fold(t) for t in subject.tickers)}
    return any(fold(entry.strip()) in forms for entry in persona.watchlist)


def near_miss(subject: Foreign) -> str | None:
    """For an unknown code, the name it is most likely a typo of ("EURUS" -> "EUR/USD"), if any is close."""
    if subject.family != "unknown":
        return None
    close = difflib.get_close_matches(subject.name.upper(), list(_NAMES), n=1, cutoff=0.8)
    return _NAMES[close[0]] if close else None
