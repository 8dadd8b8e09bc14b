"""The roster: what bots.yaml says, as validated pydantic models.

The roster is data, not environment (that is `settings.py`). Every model
forbids unknown keys so that a typo is reported with its path instead of
being silently ignored. Loading, token resolution and error reporting live in
`roster_loader.py` (the YAML in `yaml_bounded.py`, problems in `problems.py`); this
module only says what a valid roster is.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from datetime import time
from typing import Annotated, Literal, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from piyasa_bot.market_config import MarketConfig

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_BOT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HourRange(_Strict):
    """A daily window in Istanbul time, written "09:30-12:00"; may wrap midnight.

    "00:00-24:00" (or any range whose start equals its end) is the whole day.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> HourRange:
        match = _HOURS.match(text.strip())
        if not match:
            raise ValueError(f"expected a range like '09:30-12:00', got {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        # 24:00 is the end of the day; 24:30 is not a time of day (it must not wrap to 00:30).
        if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 24 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise ValueError(f"not a time of day: {text!r}")
        return cls(start=time(h1 % 24, m1), end=time(h2 % 24, m2))

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            # "00:00-24:00" parses to 00:00-00:00; an empty window is never what was meant.
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_ranges(value: object) -> object:
    if isinstance(value, list):
        return [HourRange.parse(v) if isinstance(v, str) else v for v in value]
    return value


HourRanges = Annotated[list[HourRange], Field(default_factory=list)]


class Limits(_Strict):
    """Send limits. Telegram counts per bot token: about 30 messages a second
    overall and 20 a minute into one group. The global limit here applies to
    the whole roster together; the per-chat one to each bot in each chat."""

    global_per_second: Annotated[float, Field(gt=0, le=30)] = 30
    per_chat_per_minute: Annotated[int, Field(gt=0, le=20)] = 20
    # Share of each bot's per-chat budget kept for answers to people.
    answer_share: Annotated[float, Field(ge=0, lt=1)] = 0.3
    # Chatter older than this when its turn to send comes is expired, not sent.
    chatter_ttl_seconds: Annotated[float, Field(gt=0)] = 120
    # An answer still queued after this long (a bot addressed far beyond its
    # limits) is expired with the reason rather than arriving as a non sequitur.
    answer_ttl_seconds: Annotated[float, Field(gt=0)] = 600


DEFAULT_PRIME_HOURS = ("09:30-12:00", "14:00-18:00")
Topic = Literal["bist", "usdtry", "gold", "crypto", "macro"]
DEFAULT_TOPICS: tuple[Topic, ...] = get_args(Topic)


def _hour_ranges(*texts: str) -> list[HourRange]:
    return [HourRange.parse(text) for text in texts]


class ChatConfig(_Strict):
    id: int
    title: str = ""
    topics: list[Topic] = Field(default_factory=lambda: list(DEFAULT_TOPICS))
    # Bot messages per hour in this chat, outside prime hours.
    pace: Annotated[float, Field(ge=0, le=1200)] = 30
    prime_hours: HourRanges = Field(default_factory=lambda: _hour_ranges(*DEFAULT_PRIME_HOURS))
    prime_boost: Annotated[float, Field(ge=1, le=10)] = 1.8
    admins: list[int] = Field(default_factory=list)

    _ranges = field_validator("prime_hours", mode="before")(_parse_ranges)

    @field_validator("id")
    @classmethod
    def _group_id(cls, value: int) -> int:
        # Groups and supergroups have negative ids; a positive id is a person.
        if value >= 0:
            raise ValueError("a group chat id is negative (supergroups start with -100)")
        return value

    @property
    def is_supergroup(self) -> bool:
        return str(self.id).startswith("-100")


class Holding(_Strict):
    """A position a persona speaks from ("290'dan aldığım THYAO'lar..."): what, at what average cost, how much."""

    symbol: str
    average_cost: Annotated[float, Field(gt=0)]  # in the symbol's quote currency: TL a share, $ a coin
    size: Annotated[float, Field(gt=0)] | None = None  # shares (lots), grams, coins; optional

    @field_validator("symbol")
    @classmethod
    def _known(cls, value: str) -> str:
        # Imported here: the conversation package imports this module (Topic, Persona).
        from piyasa_bot.conversation.symbols import canonical

        code = canonical(value)
        if code is None:
            raise ValueError(f"unknown symbol {value!r}")
        if code == "POLICY":
            raise ValueError("the policy rate is not something one holds")
        return code


class Persona(_Strict):
    """Who a bot is. Everything has a default so a bare bot is a plausible voice."""

    tone: Literal["cautious", "calm", "energetic", "analytical", "sarcastic", "enthusiastic"] = "calm"
    risk: Literal["low", "medium", "high"] = "medium"
    watchlist: list[str] = Field(default_factory=lambda: ["XU100", "USDTRY"])
    # Writing style: 0..1 rates and a preferred length.
    length: Literal["short", "medium", "long"] = "medium"
    emoji_rate: Annotated[float, Field(ge=0, le=1)] = 0.15
    lowercase: bool = False
    typo_rate: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    # Topic -> stance, e.g. {"crypto": "bearish"}.
    stances: dict[Topic, Literal["bullish", "bearish", "neutral"]] = Field(default_factory=dict)
    signature_phrases: list[str] = Field(default_factory=list)
    holdings: list[Holding] = Field(default_factory=list)
    active_hours: HourRanges = Field(default_factory=lambda: _hour_ranges("08:00-23:30"))
    # Chatter this bot may start per hour across all its chats (answers to people are not capped).
    hourly_cap: Annotated[int, Field(ge=0, le=600)] = 20

    _ranges = field_validator("active_hours", mode="before")(_parse_ranges)

    @field_validator("watchlist")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [symbol.strip().upper() for symbol in value]

    @field_validator("holdings")
    @classmethod
    def _one_position_each(cls, value: list[Holding]) -> list[Holding]:
        codes = [holding.symbol for holding in value]
        doubled = sorted({code for code in codes if codes.count(code) > 1})
        if doubled:
            raise ValueError(f"held twice: {', '.join(doubled)} (one entry, with its average cost, per symbol)")
        return value


class BotConfig(_Strict):
    name: str
    # "${ENV_NAME}", "enc:<fernet token>", or (with a warning) a plain token.
    token: str = Field(repr=False)  # may be a plain token: keep it out of reprs and logs
    chats: Annotated[list[int], Field(min_length=1)]
    persona: Persona = Field(default_factory=Persona)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _BOT_NAME.match(value):
            raise ValueError("use 2-32 lowercase letters, digits or '_', starting with a letter")
        return value

    @field_validator("token")
    @classmethod
    def _token_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        return value.strip()


class Roster(_Strict):
    limits: Limits = Field(default_factory=Limits)
    market: MarketConfig = Field(default_factory=MarketConfig)
    chats: Annotated[list[ChatConfig], Field(min_length=1)]
    bots: Annotated[list[BotConfig], Field(min_length=1)]

    def chat(self, chat_id: int) -> ChatConfig:
        return next(chat for chat in self.chats if chat.id == chat_id)

    def bot(self, name: str) -> BotConfig:
        return next(bot for bot in self.bots if bot.name == name)


class BotKeys(NamedTuple):
    """What `consistency_problems` compares of one bot."""

    name: Hashable
    token: Hashable
    chats: Sequence[Hashable]


class RosterKeys(NamedTuple):
    """What `consistency_problems` compares: from a valid roster (`of`), or from the raw values of one
    that failed validation (roster_loader), where an unusable value is a fresh `object()`, equal only to
    itself: it neither clashes with another value nor is found."""

    chat_ids: Sequence[Hashable]
    bots: Sequence[BotKeys]

    @classmethod
    def of(cls, roster: Roster) -> RosterKeys:
        return cls([chat.id for chat in roster.chats], [BotKeys(bot.name, bot.token, bot.chats) for bot in roster.bots])


def consistency_problems(keys: RosterKeys) -> list[tuple[str, str]]:
    """Problems no single field can see: duplicates and dangling chat ids, as (path, message)."""
    problems: list[tuple[str, str]] = []
    first_chat: dict[Hashable, int] = {}
    for index, chat_id in enumerate(keys.chat_ids):
        if chat_id in first_chat:
            problems.append((f"chats[{index}].id", f"chat {chat_id} is already chats[{first_chat[chat_id]}]"))
        first_chat.setdefault(chat_id, index)
    first_name: dict[Hashable, int] = {}
    first_token: dict[Hashable, int] = {}
    for index, bot in enumerate(keys.bots):
        if bot.name in first_name:
            problems.append(
                (f"bots[{index}].name", f"'{bot.name}' is already the name of bots[{first_name[bot.name]}]")
            )
        first_name.setdefault(bot.name, index)
        if bot.token in first_token:
            problems.append((f"bots[{index}].token", f"the same token as bots[{first_token[bot.token]}]"))
        first_token.setdefault(bot.token, index)
        listed: dict[Hashable, int] = {}
        for position, chat_id in enumerate(bot.chats):
            if chat_id not in first_chat:
                problems.append((f"bots[{index}].chats[{position}]", f"chat {chat_id} is not in chats"))
            elif chat_id in listed:
                # A chat listed twice is a copy-paste slip; report it instead of guessing what was meant.
                first = f"bots[{index}].chats[{listed[chat_id]}]"
                problems.append((f"bots[{index}].chats[{position}]", f"chat {chat_id} is already {first}"))
            listed.setdefault(chat_id, position)
    return problems
