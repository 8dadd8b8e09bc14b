"""What a member would notice, measured on a conversation run's saved messages (issue 10's yardsticks).

All of it is computed from a result's `sent_messages` and `addressed_posts`
(benchmarks/conversation.py --json), so `--reanalyse` applies it to a run
made before these measures existed:

* on subject: of the addressed questions naming exactly one symbol, the share
  whose answer (the addressed bot's reply) names that symbol too;
* signature phrases: per bot, the share of its messages carrying one of its
  bots.yaml signature phrases, and how often two of its messages in a row do;
* sentence repeats: of a bot's sentences (numbers masked), those it had said
  among its last 500, its signature phrases left out (they are measured
  above);
* contradictions: two bots stating opposite directions ("artıda" / "ekside")
  for one symbol, or price levels more than 2% apart, within two minutes. A
  level is the first number after the symbol's name in a sentence naming one
  symbol only, of the symbol's magnitude (so "direnç 10.500" after "BIST 100
  10.412" is not read as a second price); a sentence about the bot's own
  position (its cost) and a number with a suffix ("3.100'den") are not levels.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import yaml

from benchmarks.conversation_measures import normalize, sentences
from piyasa_bot.conversation.phrases_market import MOVE, MOVED
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols
from piyasa_bot.conversation.turkish import fold

WINDOW_S = 120.0
SENTENCE_WINDOW = 500  # the yardstick: a bot's last 500 sentences
LEVEL_TOLERANCE = 0.02
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)(?![\w])")
# A sentence about the bot's own position names its cost, not the price.
_OWN_POSITION = ("maliyet", "aldigim", "girmistim", "topladigim", "pozisyon", "elimdeki")
_DIRECTION_WORDS = {
    direction: tuple(fold(word) for word in (*MOVE[direction], *MOVED[direction])) for direction in ("up", "down")
}


def on_subject(addressed_posts: list[dict[str, Any]], sent: list[dict[str, Any]]) -> dict[str, Any]:
    replies = {(m["reply_to"], m["bot"]): m for m in sent if m["reply_to"] is not None}
    asked = hits = 0
    misses: list[dict[str, str]] = []
    for post in addressed_posts:
        named = find_symbols(post["text"])
        if len(named) != 1 or not post["text"].rstrip().endswith("?"):
            continue
        answer = replies.get((post["message_id"], post["addressed"]))
        if answer is None:
            continue
        asked += 1
        if named[0] in find_symbols(answer["text"]):
            hits += 1
        elif len(misses) < 12:
            misses.append({"asked": post["text"], "answer": answer["text"]})
    return {
        "questions": asked,
        "on_subject": hits,
        "share": round(hits / asked, 4) if asked else None,
        "misses": misses,
    }


def signature_phrases(config: Path) -> dict[str, list[str]]:
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return {
        bot["name"]: [fold(p) for p in ((bot.get("persona") or {}).get("signature_phrases") or []) if p.strip()]
        for bot in data.get("bots") or []
    }


def signature_rate(sent: list[dict[str, Any]], phrases: dict[str, list[str]]) -> dict[str, Any]:
    per_bot: dict[str, dict[str, int]] = defaultdict(lambda: {"messages": 0, "signed": 0, "in_a_row": 0})
    last_signed: dict[str, bool] = {}
    for message in sorted(sent, key=lambda m: m["at_s"]):
        bot = message["bot"]
        signed = any(phrase in fold(message["text"]) for phrase in phrases.get(bot, ()))
        counts = per_bot[bot]
        counts["messages"] += 1
        counts["signed"] += signed
        counts["in_a_row"] += signed and last_signed.get(bot, False)
        last_signed[bot] = signed
    with_phrases = {bot: c for bot, c in per_bot.items() if phrases.get(bot)}
    messages = sum(c["messages"] for c in with_phrases.values())
    signed = sum(c["signed"] for c in with_phrases.values())
    return {
        "rate": round(signed / messages, 4) if messages else None,
        "worst_bot_rate": max((round(c["signed"] / c["messages"], 4) for c in with_phrases.values()), default=None),
        "in_a_row": sum(c["in_a_row"] for c in with_phrases.values()),
        "per_bot": dict(sorted(with_phrases.items())),
    }


def claims(text: str) -> list[tuple[str, str, float | None]]:
    """(symbol, direction or "", level or None) stated by the sentences of `text` that name one symbol."""
    found = []
    for sentence in _SENTENCE.split(text):
        named = find_symbols(sentence)
        if len(named) != 1:
            continue
        symbol, folded = named[0], fold(sentence)
        if any(word in folded for word in _OWN_POSITION):
            continue  # "3.100'den aldığım altınlar": the bot's cost, not the market's level
        up = any(re.search(rf"\b{word}\b", folded) for word in _DIRECTION_WORDS["up"])
        down = any(re.search(rf"\b{word}\b", folded) for word in _DIRECTION_WORDS["down"])
        direction = "up" if up and not down else "down" if down and not up else ""
        found.append((symbol, direction, _level(symbol, sentence)))
    return found


def _level(symbol: str, sentence: str) -> float | None:
    spec = SYMBOLS[symbol]
    for match in _NUMBER.finditer(sentence):
        if sentence[match.end() : match.end() + 1] in ("'", "’"):
            continue  # "3.100'den", "10.000'i": a number with a suffix is a reference, not a quote
        value = float(match.group(1).replace(".", "").replace(",", "."))
        if spec.low / 2 <= value <= spec.high * 2:
            return value
    return None


def contradictions(sent: list[dict[str, Any]], window: float = WINDOW_S) -> dict[str, Any]:
    stated = sorted(
        (
            (m["at_s"], m["bot"], symbol, direction, level, m["text"])
            for m in sent
            for symbol, direction, level in claims(m["text"])
        ),
        key=lambda item: item[0],
    )
    directions = levels = 0
    examples: list[list[str]] = []
    for index, (at, bot, symbol, direction, level, text) in enumerate(stated):
        for other_at, other_bot, other_symbol, other_direction, other_level, other_text in stated[index + 1 :]:
            if other_at - at > window:
                break
            if other_bot == bot or other_symbol != symbol or symbol == "POLICY":
                continue
            clash = False
            if direction and other_direction and direction != other_direction:
                directions += 1
                clash = True
            if level and other_level and abs(level / other_level - 1) > LEVEL_TOLERANCE:
                levels += 1
                clash = True
            if clash and len(examples) < 8:
                examples.append([text, other_text])
    return {"directions": directions, "levels": levels, "examples": examples}


def sentence_repeats_beyond_signatures(
    sent: list[dict[str, Any]], phrases: dict[str, list[str]], window: int = SENTENCE_WINDOW
) -> dict[str, Any]:
    """Sentences (numbers masked) a bot had said among its last `window`, its signature phrases left out:
    those are the seasoning measured above, not a tic."""
    recent: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=window))
    total = repeated = 0
    for message in sorted(sent, key=lambda m: m["at_s"]):
        bot = message["bot"]
        signatures = {normalize(phrase) for phrase in phrases.get(bot, ())}
        for shape in sentences(message["text"]):
            if shape in signatures or any(shape in sig or sig in shape for sig in signatures if len(sig) > 8):
                continue
            total += 1
            repeated += shape in recent[bot]
            recent[bot].append(shape)
    return {"sentences": total, "repeated": repeated, "share": round(repeated / total, 4) if total else None}


def quality(result: dict[str, Any], config: Path) -> dict[str, Any]:
    sent, posts = result["sent_messages"], result["addressed_posts"]
    phrases = signature_phrases(config)
    return {
        "on_subject": on_subject(posts, sent),
        "signature": signature_rate(sent, phrases),
        "sentence_repeats": sentence_repeats_beyond_signatures(sent, phrases),
        "contradictions": contradictions(sent),
    }
