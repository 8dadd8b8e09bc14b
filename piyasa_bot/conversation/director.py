"""Per chat: which bot speaks next, and when.

The caller's loop is:

    turn = director.next_turn(now)          # None: nobody may speak now
    ... wait until turn.at (or a new message arrives) ...
    turn = director.next_turn(now)          # the same turn, revalidated
    if turn and turn.at <= now:
        draft = composer.chatter(bot, chat, director.recent, now, reply_to=turn.reply_to)
        ... send the draft, then director.observe(the sent line) ...
        director.finish(turn)

next_turn is idempotent: it keeps one planned turn and only replans when
that turn is finished or became impossible (its bot was removed, hit its
hourly cap, left its active hours, or spoke last). Every message of the
chat, people's and bots', goes through observe(): that is the context for
replies, the "never twice in a row" rule, and the shared hourly counter.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from piyasa_bot.conversation.addressee import pick_volunteer
from piyasa_bot.conversation.context import pick_reply_target
from piyasa_bot.conversation.hours import istanbul, within
from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.lines import ChatLine, Turn
from piyasa_bot.conversation.pacing import rate_per_hour, sample_gap
from piyasa_bot.conversation.usage import SpeakerUsage
from piyasa_bot.roster import BotConfig, ChatConfig

_TONE_WEIGHT = {
    "energetic": 1.3,
    "enthusiastic": 1.3,
    "sarcastic": 1.0,
    "analytical": 1.0,
    "calm": 0.9,
    "cautious": 0.8,
}
_SEARCH_STEP = timedelta(minutes=1)
_SEARCH_HORIZON = timedelta(hours=36)
_STALE = timedelta(minutes=10)


class Director:
    def __init__(
        self,
        chat: ChatConfig,
        bots: Sequence[BotConfig],
        rng: random.Random,
        usage: SpeakerUsage,
        *,
        scale: float = 1.0,
        history: int = 60,
    ) -> None:
        self.chat = chat
        self._bots = {bot.name: bot for bot in bots if chat.id in bot.chats}
        self._rng = rng
        self._usage = usage
        self._scale = 1.0
        self.scale = scale
        self._inactive: set[str] = set()  # removed from the chat or blocked (403): for good
        self._disabled: set[str] = set()  # by the operator (steering.py): until enabled again
        self._paused = False
        self._lines: deque[ChatLine] = deque(maxlen=history)
        self._seen: deque[tuple[object, ...]] = deque(maxlen=4 * history)
        self._last_speaker: str | None = None
        self._last_at: datetime | None = None
        self._pending: Turn | None = None
        self._pending_version = 0
        self._version = 0

    # -- operator controls ------------------------------------------------------

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        if value < 0:
            raise ValueError("scale must be >= 0")
        self._scale = float(value)
        self._pending = None  # its gap was drawn at the old rate

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        self._pending = None

    def resume(self) -> None:
        self._paused = False

    def deactivate(self, bot_name: str) -> None:
        """The bot can no longer post here (403: removed or blocked): never choose it again."""
        self._inactive.add(bot_name)
        if self._pending and self._pending.bot_name == bot_name:
            self._pending = None

    def disable(self, bot_name: str) -> None:
        """The operator silenced the bot: never choose it, until `enable`."""
        self._disabled.add(bot_name)
        if self._pending and self._pending.bot_name == bot_name:
            self._pending = None

    def enable(self, bot_name: str) -> None:
        """The operator's silence is lifted (a bot deactivated by a 403 stays so)."""
        self._disabled.discard(bot_name)

    def is_active(self, bot_name: str) -> bool:
        return bot_name in self._bots and bot_name not in self._inactive and bot_name not in self._disabled

    @property
    def inactive(self) -> frozenset[str]:
        """Bots deactivated here (403): carried over when the roster is reloaded."""
        return frozenset(self._inactive)

    @property
    def disabled(self) -> frozenset[str]:
        """Bots the operator disabled: carried over when the roster is reloaded."""
        return frozenset(self._disabled)

    @property
    def members(self) -> tuple[str, ...]:
        """Bots that may still post in this chat."""
        return tuple(name for name in self._bots if self.is_active(name))

    @property
    def recent(self) -> tuple[ChatLine, ...]:
        """The chat's latest messages, oldest first: the context to pass to the composer."""
        return tuple(self._lines)

    # -- the conversation ---------------------------------------------------------

    def observe(self, line: ChatLine, *, chatter: bool = True) -> None:
        """Feed every message of the chat, people's and our bots' (from the sendMessage result).

        A bot's answer to a person is context like any line, but `chatter=False`
        keeps it out of the hourly cap: the cap paces chatter, people come first.
        """
        if line.chat_id != self.chat.id:
            raise ValueError(f"line from chat {line.chat_id} given to the director of {self.chat.id}")
        istanbul(line.at)  # rejects a naive datetime early
        # In basic groups each bot numbers messages on its own, so an id alone is not a message.
        identity = (line.message_id, line.author_bot, line.user_id, line.text)
        if identity in self._seen:
            return
        self._seen.append(identity)
        self._lines.append(line)
        self._version += 1
        if line.author_bot and chatter:
            self._usage.record(line.author_bot, line.at, key=(line.chat_id, line.message_id))
        if self._last_at is None or line.at >= self._last_at:
            self._last_at, self._last_speaker = line.at, line.author_bot

    def next_turn(self, now: datetime) -> Turn | None:
        """The planned turn (the same one until finished), or None when no bot may speak.

        `turn.at` may be in the future (wait for it) or just past (send it now).
        """
        istanbul(now)
        if self._paused or self._scale == 0 or self.chat.pace == 0:
            return None
        pending = self._pending
        if pending is not None and now - pending.at > _STALE:
            pending = None  # the caller was away (suspended, stalled): its checks are out of date
        if pending is not None:
            if not self._eligible(pending.bot_name, pending.at):
                # Keep the moment, change the speaker; replan only if nobody fits.
                speaker = self._choose(pending.at)
                pending = Turn(speaker, pending.at) if speaker else None
                self._pending_version = -1
            if pending is not None and self._pending_version != self._version:
                pending = Turn(pending.bot_name, pending.at, self._reply_target(pending.bot_name, pending.at))
                self._pending_version = self._version
            self._pending = pending
            if pending is not None:
                return pending
        self._pending = self._plan(now)
        self._pending_version = self._version
        return self._pending

    def finish(self, turn: Turn) -> None:
        """The turn was used (sent, or skipped because the composer had nothing): plan a new one."""
        if self._pending is not None and self._pending.bot_name == turn.bot_name and self._pending.at == turn.at:
            self._pending = None

    def volunteer(self, line: ChatLine, now: datetime) -> str | None:
        """A bot that may take an unaddressed question now (see addressee.pick_volunteer)."""
        # Most messages are not questions: answer that before looking at every member.
        if self._paused or line.addressed_to or not is_question(line.text):
            return None
        ready = [self._bots[name] for name in self.members if self._eligible(name, now)]
        return pick_volunteer(line, ready, self._rng)

    # -- planning -----------------------------------------------------------------

    def _eligible(self, bot_name: str, at: datetime) -> bool:
        if not self.is_active(bot_name) or bot_name == self._last_speaker:
            return False
        persona = self._bots[bot_name].persona
        return within(persona.active_hours, at) and self._usage.allows(bot_name, persona.hourly_cap, at)

    def _choose(self, at: datetime) -> str | None:
        names = [name for name in self.members if self._eligible(name, at)]
        if not names:
            return None
        recent_bots = [line.author_bot for line in list(self._lines)[-3:] if line.author_bot]
        weights = []
        for name in names:
            persona = self._bots[name].persona
            spare = 1.0 - self._usage.count(name, at) / persona.hourly_cap
            weight = _TONE_WEIGHT.get(persona.tone, 1.0) * max(spare, 0.05) ** 0.5
            weights.append(weight * (0.5 if name in recent_bots else 1.0))
        return self._rng.choices(names, weights=weights)[0]

    def _plan(self, now: datetime) -> Turn | None:
        possible = [n for n in self.members if n != self._last_speaker and self._bots[n].persona.hourly_cap > 0]
        if not possible:
            return None
        at = now + timedelta(seconds=sample_gap(rate_per_hour(self.chat, now, self._scale), self._rng))
        speaker = self._choose(at)
        if speaker is None:
            # Night, or everyone at their cap: start shortly after the first minute someone may speak.
            opening = self._first_opening(at, possible)
            if opening is None:
                return None
            mean_gap = 3600.0 / rate_per_hour(self.chat, opening, self._scale)
            later = opening + timedelta(seconds=self._rng.uniform(0, min(mean_gap, 600.0)))
            at = later if any(self._eligible(name, later) for name in possible) else opening
            speaker = self._choose(at)
            if speaker is None:
                return None
        return Turn(speaker, at, self._reply_target(speaker, at))

    def _first_opening(self, start: datetime, names: list[str]) -> datetime | None:
        probe = start
        while probe < start + _SEARCH_HORIZON:
            probe += _SEARCH_STEP
            if any(self._eligible(name, probe) for name in names):
                return probe
        return None

    def _reply_target(self, bot_name: str, at: datetime) -> ChatLine | None:
        return pick_reply_target(bot_name, self._lines, at, self._rng)
