"""What each bot has said, message by message and sentence by sentence.

A reader spots a bot that repeats a sentence long before one that repeats a
whole message: "Kripto mu? Dijital lale soğanı." five times in an hour gives
it away even when the messages around it differ. So every sentence a bot
sends is kept (its last `sentences`, 600 by default) in a normalized form:
Turkish-folded, punctuation and emoji gone, numbers masked, so the same
sentence with a new price is still the same sentence. The composer asks
before it sends and regenerates a draft that would repeat one.

The memory is fed with what the bot really sent, including what the runner
loads from PostgreSQL at start (db/said_store.py), so it holds across
restarts. A persona's signature phrases are left out on purpose: they are
meant to recur, and the styler spaces them out (style.py).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from piyasa_bot.conversation.turkish import compare_key

MESSAGES_KEPT = 50
SIGNATURES_SPACED = 30  # messages within which the styler avoids a signature phrase used already
# The goal is no repeat of the last 500; a margin keeps signatures and pleasantries, which also take
# places here, from letting a sentence back just as it leaves.
SENTENCES_KEPT = 600
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, as a reader sees them: split after . ! ? or … and a space."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


@lru_cache(maxsize=4096)  # the same clauses are asked about again and again while drafts are written
def sentence_keys(text: str) -> tuple[str, ...]:
    """Each sentence's comparison key (see turkish.compare_key); sentences of emoji alone have none."""
    return tuple(key for key in map(compare_key, split_sentences(text)) if key)


class _Said:
    """One bot's recent messages and sentences, with counts so a lookup is one dict access."""

    def __init__(self, messages: int, sentences: int) -> None:
        self.messages: deque[str] = deque(maxlen=messages)
        self.sentences: deque[str] = deque(maxlen=sentences)
        self.counts: Counter[str] = Counter()

    def add(self, text: str, sentences: Sequence[str]) -> None:
        self.messages.append(compare_key(text))
        for key in sentences:
            if len(self.sentences) == self.sentences.maxlen:
                oldest = self.sentences[0]
                self.counts[oldest] -= 1
                if not self.counts[oldest]:
                    del self.counts[oldest]
            self.sentences.append(key)
            self.counts[key] += 1


class SentenceMemory:
    """Per bot: the comparison keys of its last messages and of its last sentences."""

    def __init__(self, *, messages: int = MESSAGES_KEPT, sentences: int = SENTENCES_KEPT) -> None:
        self._messages = messages
        self._sentences = sentences
        self._by_bot: dict[str, _Said] = {}

    def add(self, bot_name: str, text: str, *, leave_out: Iterable[str] = ()) -> None:
        """Count `text` as said by the bot; sentences equal to one of `leave_out` (its signatures) are not kept."""
        skipped = {key for phrase in leave_out for key in sentence_keys(phrase)}
        self._said(bot_name).add(text, [key for key in sentence_keys(text) if key not in skipped])

    def said_message(self, bot_name: str, text: str) -> bool:
        """The bot sent this very message (numbers aside) among its last `messages`."""
        return compare_key(text) in self.recent_messages(bot_name, self._messages)

    def repeated_sentences(self, bot_name: str, text: str) -> list[str]:
        """The sentences of `text` (as keys) the bot already said, or that `text` says twice."""
        said = self._by_bot.get(bot_name)
        known = said.counts if said else Counter[str]()
        seen: set[str] = set()
        repeated = []
        for key in sentence_keys(text):
            if key in known or key in seen:
                repeated.append(key)
            seen.add(key)
        return repeated

    def recent_messages(self, bot_name: str, count: int) -> list[str]:
        """The keys of the bot's last `count` messages, newest first."""
        said = self._by_bot.get(bot_name)
        return list(_newest(said.messages, count)) if said else []

    def _said(self, bot_name: str) -> _Said:
        said = self._by_bot.get(bot_name)
        if said is None:
            # Enough messages for the styler's and the rotation's look back, whatever `messages` is.
            said = self._by_bot[bot_name] = _Said(max(self._messages, SIGNATURES_SPACED), self._sentences)
        return said


def _newest(items: deque[str], count: int) -> Iterator[str]:
    for index, item in enumerate(reversed(items)):
        if index >= count:
            return
        yield item
