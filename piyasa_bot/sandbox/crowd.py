"""Simulated people: normal chatter, people who mention a bot, people who reply to one.

One task walks a heap of (due time, person) so a hundred people cost one
timer, and a seed makes the sequence of posts reproducible.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.market_state import MarketState

from . import texts
from .state import SandboxState

Kind = Literal["normal", "mention", "reply"]


@dataclass(frozen=True, kw_only=True)
class CrowdSpec:
    chat_id: int
    normal: int = 60
    mention: int = 20
    reply: int = 20
    duration: float = 300.0
    normal_per_minute: tuple[float, float] = (1, 2)
    addressed_per_minute: tuple[float, float] = (2, 3)
    rate_multiplier: float = 1.0  # >1 compresses the same crowd into less time
    seed: int = 0
    mention_share: float = 0.85  # a mention person's posts that address a bot
    # The bots' simulated market (MarketState.to_json()), so people quote the levels the bots do.
    market_state: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrowdSpec:
        data = dict(data)
        for key in ("normal_per_minute", "addressed_per_minute"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str
    kind: Kind
    per_second: float  # mean posting rate, multiplier applied


@dataclass(frozen=True)
class CrowdPost:
    kind: Kind
    user_id: int
    chat_id: int
    message_id: int  # people's numbering
    text: str
    available_at: float
    addressed: str | None = None  # bot name, for mention and reply posts
    via: Literal["mention", "reply"] | None = None
    bot_message_id: int | None = None  # the id the addressed bot sees
    reply_to_message_id: int | None = None  # people's numbering


@dataclass
class CrowdResult:
    posts: list[CrowdPost] = field(default_factory=list)

    @property
    def addressed(self) -> list[CrowdPost]:
        return [post for post in self.posts if post.addressed is not None]

    def by_kind(self) -> dict[str, int]:
        counts = {"normal": 0, "mention": 0, "reply": 0}
        for post in self.posts:
            counts[post.kind] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"by_kind": self.by_kind(), "addressed": len(self.addressed), "posts": [asdict(p) for p in self.posts]}


class Crowd:
    def __init__(self, emu: SandboxState, spec: CrowdSpec, prices: texts.Prices | None = None):
        """`prices`: what the bots' market says a symbol is now; by default read from `spec.market_state`."""
        self.emu = emu
        self.spec = spec
        self.prices = prices or (_prices_of(spec.market_state) if spec.market_state is not None else None)
        self.result = CrowdResult()
        self.running = False
        self._rng = random.Random(spec.seed)
        self._people = tuple(self._make_people())
        self._stop_requested = False
        self._stop_event: asyncio.Event | None = None
        self._started_at: float | None = None
        self._finished_at: float | None = None

    def _make_people(self) -> list[Person]:
        spec, rng = self.spec, self._rng
        people: list[Person] = []
        groups: list[tuple[Kind, int, tuple[float, float]]] = [
            ("normal", spec.normal, spec.normal_per_minute),
            ("mention", spec.mention, spec.addressed_per_minute),
            ("reply", spec.reply, spec.addressed_per_minute),
        ]
        for kind, count, (low, high) in groups:
            for _ in range(count):
                per_minute = rng.uniform(low, high)
                people.append(
                    Person(100_001 + len(people), rng.choice(texts.FIRST_NAMES), kind,
                           per_minute * spec.rate_multiplier / 60)
                )  # fmt: skip
        return people

    @property
    def people(self) -> tuple[Person, ...]:
        """Who posts: user id, first name, kind and rate of each simulated person."""
        return self._people

    def stop(self) -> None:
        self._stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    async def run(self) -> CrowdResult:
        """Post until `duration` has passed (or stop()); jittered, exponential gaps."""
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        self.running = True
        start = self._started_at = loop.time()
        end = start + self.spec.duration
        due = [
            (start + self._rng.expovariate(p.per_second), i, p) for i, p in enumerate(self._people) if p.per_second > 0
        ]
        heapq.heapify(due)
        try:
            while due and not self._stop_event.is_set():
                at, i, person = due[0]
                if at >= end:
                    break
                wait = at - loop.time()
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._stop_event.wait(), wait)
                        break
                    except TimeoutError:
                        pass
                self._speak(person)
                heapq.heapreplace(due, (at + self._rng.expovariate(person.per_second), i, person))
        finally:
            self.running = False
            self._finished_at = loop.time()
        return self.result

    def _speak(self, person: Person) -> None:
        chat_id, rng = self.spec.chat_id, self._rng
        if person.kind == "reply":
            recent = self.emu.recent_sent(chat_id)
            if recent:
                target = rng.choice(recent[-10:])
                self._post(person, texts.reply_text(rng, self.prices), target.bot_name, "reply", target.chat_message_id)
                return
        if person.kind != "normal" and (person.kind == "reply" or rng.random() < self.spec.mention_share):
            members = self.emu.members(chat_id)
            if members:
                bot = rng.choice(members)
                self._post(person, texts.question_to(rng, bot.username, self.prices), bot.name, "mention")
                return
        self._post(person, texts.chatter(rng, self.prices), None, None)

    def _post(self, person: Person, text: str, addressed: str | None, via, reply_to: int | None = None) -> None:
        posted = self.emu.post(self.spec.chat_id, person.user_id, text, person.first_name, reply_to_message_id=reply_to)
        self.result.posts.append(
            CrowdPost(
                person.kind, person.user_id, posted.chat_id, posted.message_id, text, posted.available_at,
                addressed, via, posted.copies.get(addressed) if addressed else None, reply_to,
            )
        )  # fmt: skip

    def progress(self) -> dict[str, Any]:
        elapsed = None
        if self._started_at is not None:
            until = self._finished_at if self._finished_at is not None else asyncio.get_running_loop().time()
            elapsed = until - self._started_at
        return {
            "running": self.running,
            "elapsed": elapsed,
            "duration": self.spec.duration,
            "people": len(self._people),
            "posted": len(self.result.posts),
            "by_kind": self.result.by_kind(),
            "addressed": len(self.result.addressed),
        }


def _prices_of(state: dict[str, Any]) -> texts.Prices:
    """Prices from the bots' stored simulated market: the same seed and levels quote the same figures."""
    market = Market.from_state(MarketState.from_json(state))

    def price(code: str) -> float | None:
        quote = market.quote(code, datetime.now(UTC))
        return quote.price if quote is not None else None

    return price
