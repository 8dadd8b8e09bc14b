"""From what the model wrote to a chat message: one speaker, plain text, a sane length.

Models like to sign their turn ("ayse: ..."), wrap it in quotes, add
markdown, think out loud (<think>...</think>) or go on writing the next
speakers' lines. `clean` keeps the bot's own message only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from piyasa_bot.conversation.turkish import casual_lower

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_THINK_OPEN, _THINK_CLOSE = re.compile(r"<think>", re.I), re.compile(r"</think>", re.I)
_MARKDOWN = re.compile(r"\*\*|__|`+|^\s*#+\s+|^\s*[-*•]\s+", re.M)
_SPACES = re.compile(r"\s+")
_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}
_STRAY_QUOTES = '"“”«»„'
_OPENING = "\"'“«„"
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_ROLES = ("assistant", "asistan", "bot", "yanıt", "yanit", "cevap", "mesaj", "ben")


def speaker_prefix(names: Iterable[str]) -> re.Pattern[str]:
    """`[11:02] ayse (sen):`, `mert:`, `katılımcı#7 (yanıt: ayse):`, `assistant:` at a line's start."""
    words = sorted({*(re.escape(n) for n in names if n), *_ROLES}, key=len, reverse=True)
    speaker = rf"(?:{'|'.join(words)}|katılımcı\s*#\s*\d+|bir katılımcı)"
    stamp = r"(?:\[\d{1,2}[:.]\d{2}\]\s*)?"
    aside = r"(?:\s*\([^)]{0,40}\))?"  # "(sen)", "(yanıt: mert)"
    return re.compile(rf"^\s*[{_OPENING}]?\s*{stamp}(?:\*\*)?{speaker}{aside}(?:\*\*)?\s*[:：]\s*", re.I)


def clean(raw: str, names: Iterable[str], limit: int, *, lowercase: bool = False) -> str:
    text = _THINK.sub(" ", raw)
    text = _THINK_CLOSE.split(text)[-1]  # a block whose <think> was left out: only what follows is the answer
    text = _THINK_OPEN.split(text)[0]  # a block cut off by max_tokens: nothing after it is the answer
    prefix = speaker_prefix(names)
    kept: list[str] = []
    for index, line in enumerate(line for line in text.splitlines() if line.strip()):
        line = _unquote(line.strip())
        bare = prefix.sub("", line, count=1)
        if index and bare != line:
            break  # the model went on writing the next speaker's turn
        kept.append(_unquote(bare.strip()))
    text = _SPACES.sub(" ", _MARKDOWN.sub("", " ".join(kept))).strip()
    text = _unquote(text)
    if sum(text.count(c) for c in _STRAY_QUOTES) == 1:  # a quote the model opened or closed but not both
        text = text.strip(_STRAY_QUOTES).strip()
    text = cut(text, limit)
    return casual_lower(text) if lowercase else text


def cut(text: str, limit: int) -> str:
    """At most `limit` characters: at the last sentence end that fits, else the last whole word."""
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit]
    if ends and ends[-1] >= limit * 0.4:
        return text[: ends[-1]].strip()
    head = text[:limit]
    if " " in head:
        head = head[: head.rindex(" ")]
    return head.rstrip(" ,;:-–—") + "…"


def _unquote(text: str) -> str:
    while len(text) >= 2 and _PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text
