"""Text sources: the template composer as is, or a language model that falls back to it.

`TemplateSource` wraps the pure `Composer` (the default). `LlmSource` asks
an OpenAI-compatible endpoint and uses the template source for any call
where the model gives nothing usable: a timeout, an HTTP error, bad JSON,
empty content, a reply that fails `guard`, or one the bot already said.
While the endpoint keeps failing a circuit breaker skips it altogether.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import aiohttp
import structlog

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.lines import ChatLine, Draft
from piyasa_bot.conversation.symbols import SYMBOLS, find_symbols, find_topics
from piyasa_bot.conversation.turkish import compare_key
from piyasa_bot.llm import prompt
from piyasa_bot.llm.breaker import Breaker, Ticket
from piyasa_bot.llm.client import ChatClient, LlmConfig, LlmError
from piyasa_bot.llm.reply import clean
from piyasa_bot.logs import register_secrets
from piyasa_bot.roster import BotConfig, ChatConfig

log = structlog.get_logger(__name__)


class TextSource(Protocol):
    async def chatter(
        self, bot: BotConfig, chat: ChatConfig, context: Sequence[ChatLine], now: datetime, reply_to: ChatLine | None
    ) -> Draft | None: ...

    async def answer(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None: ...

    async def news(
        self, bot: BotConfig, chat: ChatConfig, headline: str, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None: ...


class TemplateSource:
    """The pure template composer behind the TextSource shape; it answers at once."""

    def __init__(self, composer: Composer) -> None:
        self.composer = composer

    async def chatter(
        self, bot: BotConfig, chat: ChatConfig, context: Sequence[ChatLine], now: datetime, reply_to: ChatLine | None
    ) -> Draft | None:
        return self.composer.chatter(bot, chat, context, now, reply_to=reply_to)

    async def answer(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None:
        return self.composer.answer(bot, chat, to, context, now)

    async def news(
        self, bot: BotConfig, chat: ChatConfig, headline: str, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None:
        return self.composer.news(bot, chat, headline, now)

    def remember(self, bot_name: str, text: str) -> None:
        self.composer.remember(bot_name, text)

    async def close(self) -> None:
        return None


class LlmSource:
    """A TextSource backed by a chat-completions endpoint, with the templates as its fallback."""

    def __init__(
        self,
        config: LlmConfig,
        fallback: TemplateSource,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        failures_to_open: int = 3,
        cooldown: float = 60.0,
        max_cooldown: float = 600.0,
        memory: int = 50,
    ) -> None:
        self.config = config
        self.fallback = fallback
        self._client = ChatClient(config, session)
        self._clock = clock
        self.breaker = Breaker(clock, threshold=failures_to_open, cooldown=cooldown, max_cooldown=max_cooldown)
        self._memory = memory
        self._said: dict[str, deque[str]] = {}
        if config.api_key:
            register_secrets([config.api_key])  # belt and braces: the log formatter redacts it too

    async def chatter(
        self, bot: BotConfig, chat: ChatConfig, context: Sequence[ChatLine], now: datetime, reply_to: ChatLine | None
    ) -> Draft | None:
        asked = [reply_to.text] if reply_to else []
        task = prompt.chatter_task(bot, reply_to)
        draft = await self._ask(bot, chat, context, now, task, asked, reply_to, "chatter")
        if draft is None:
            draft = self._noted(bot, await self.fallback.chatter(bot, chat, context, now, reply_to))
        return draft

    async def answer(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None:
        draft = await self._ask(bot, chat, context, now, prompt.answer_task(bot, to), [to.text], to, "answer")
        if draft is None:
            draft = self._noted(bot, await self.fallback.answer(bot, chat, to, context, now))
        return draft

    async def news(
        self, bot: BotConfig, chat: ChatConfig, headline: str, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None:
        """The headline paraphrased by the model; the templates retell it when the model cannot."""
        draft = await self._ask(bot, chat, context, now, prompt.news_task(headline), [headline], None, "news")
        if draft is None:
            draft = self._noted(bot, await self.fallback.news(bot, chat, headline, context, now))
        return draft

    def remember(self, bot_name: str, text: str) -> None:
        """Count `text` as said by the bot, for the model and the templates alike."""
        self._said_by(bot_name).append(compare_key(text))
        self.fallback.remember(bot_name, text)

    async def close(self) -> None:
        """Close the HTTP session if this source opened it (an injected one is the caller's)."""
        await self._client.close()

    def __repr__(self) -> str:
        config = self.config
        return f"LlmSource(endpoint={config.endpoint!r}, model={config.model!r}, breaker={self.breaker.state!r})"

    # -- one model call -------------------------------------------------------------------

    async def _ask(
        self,
        bot: BotConfig,
        chat: ChatConfig,
        context: Sequence[ChatLine],
        now: datetime,
        task: str,
        asked: Sequence[str],
        target: ChatLine | None,
        kind: str,
    ) -> Draft | None:
        market = self.fallback.composer.market
        request = prompt.messages(bot, chat, context, now, market, task, asked)  # before admit: a trial must end
        ticket = self.breaker.admit()
        if ticket is None:
            return None  # open: straight to the templates, and nothing to log per call
        started = self._clock()
        raw = await self._call(request, ticket, bot, kind)
        if raw is None:
            return None
        names = {bot.name, *(line.author_bot for line in context if line.author_bot)}
        text = clean(raw, names, prompt.LENGTHS[bot.persona.length][1], lowercase=bot.persona.lowercase)
        reason = self._rejection(bot, text, context)
        if reason:
            log.info("llm.rejected", bot=bot.name, kind=kind, reason=reason)
            return None
        self._said_by(bot.name).append(compare_key(text))
        self.fallback.remember(bot.name, text)  # so the templates do not repeat it either
        log.debug("llm.drafted", bot=bot.name, kind=kind, seconds=round(self._clock() - started, 3), chars=len(text))
        symbols = [code for code in find_symbols(text) if market.knows(code)]
        topics = find_topics(text)
        return Draft(
            text=text,
            reply_to_message_id=target.message_id if target else None,
            topic=SYMBOLS[symbols[0]].topic if symbols else (topics[0] if topics else None),
            symbol=symbols[0] if symbols else None,
            direction=None,  # free text: the direction it states is not known for sure
        )

    async def _call(self, request: list[dict[str, str]], ticket: Ticket, bot: BotConfig, kind: str) -> str | None:
        settled = False
        try:
            raw = await self._client.complete(request)
            settled = True
        except LlmError as error:
            settled = True
            opened = self.breaker.failed(ticket)
            log.warning("llm.failed", bot=bot.name, kind=kind, reason=error.reason, breaker=self.breaker.state)
            if opened:
                log.warning(
                    "llm.breaker_opened",
                    cooldown_s=self.breaker.cooldown,
                    note="using templates until the cool-down ends",
                )
            return None
        finally:
            if not settled:  # cancelled, or an unexpected error: neither a success nor a failure
                self.breaker.abandoned(ticket)
        if self.breaker.succeeded():
            log.info("llm.breaker_closed", bot=bot.name)
        return raw

    def _rejection(self, bot: BotConfig, text: str, context: Sequence[ChatLine]) -> str | None:
        verdict = guard(text)
        if not verdict.ok:
            return f"guard: {verdict.reason}"
        key = compare_key(text)
        if not key:
            return "no words"
        if key in self._said_by(bot.name):
            return "repeats the bot"
        if self.fallback.composer.said.repeated_sentences(bot.name, text):
            return "repeats a sentence of the bot's"
        if any(compare_key(line.text) == key for line in context):
            return "repeats the chat"
        return None

    def _noted(self, bot: BotConfig, draft: Draft | None) -> Draft | None:
        """A template draft: the model must not repeat it either."""
        if draft is not None:
            self._said_by(bot.name).append(compare_key(draft.text))
        return draft

    def _said_by(self, bot_name: str) -> deque[str]:
        return self._said.setdefault(bot_name, deque(maxlen=self._memory))
