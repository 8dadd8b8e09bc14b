"""What a bot says, from templates: chatter, replies in a thread, answers to people.

No network and no model: a persona, the chat's topics, the recent context
and the shared Market go in; a Draft comes out that repeats no sentence of
the bot's (`said`, fed by `remember` too), or None when it has nothing new
to say and nobody waits for an answer. Every text passes `guard`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from piyasa_bot.conversation import clauses, subjects
from piyasa_bot.conversation.context import pick_reply_target
from piyasa_bot.conversation.facts import Facts, gather
from piyasa_bot.conversation.guard import guard
from piyasa_bot.conversation.holdings import with_position
from piyasa_bot.conversation.intent import is_claim, is_greeting, is_question, is_thanks, question_kind, sentiment
from piyasa_bot.conversation.lines import ChatLine, Draft
from piyasa_bot.conversation.quote import MarketView
from piyasa_bot.conversation.rotation import freshen, wear
from piyasa_bot.conversation.sentence_memory import SIGNATURES_SPACED, SentenceMemory
from piyasa_bot.conversation.stances import Views
from piyasa_bot.conversation.style import Styler, is_lead_in
from piyasa_bot.conversation.symbols import find_symbols, find_topics, watchlist_codes
from piyasa_bot.conversation.topic_choice import (
    choose_symbol,
    main_symbols,
    other_symbol,
    symbol_from_thread,
    thread_symbol,
)
from piyasa_bot.roster import BotConfig, ChatConfig


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO: Final = _Auto()
# A message plan: its clauses, the facts they use, and whether a clause states the day's move.
_Parts = tuple[list[str], Facts, bool]
SIBLING_BY_NAME = 0.3  # replies to another bot that address it by name


class Composer:
    def __init__(self, market: MarketView, rng: random.Random, *, memory: int = 50, attempts: int = 12) -> None:
        self.market = market
        self._rng = rng
        self._styler = Styler(rng)
        self._attempts = attempts
        self.said = SentenceMemory(messages=memory)  # whole messages (the last `memory`) and sentences
        self._spare: tuple[int, Draft] | None = None  # this call's least worn draft so far (see _finish)
        self._views = Views(market)  # each bot's stance per subject, and what it said lately

    # -- public -------------------------------------------------------------------

    def chatter(
        self,
        bot: BotConfig,
        chat: ChatConfig,
        context: Sequence[ChatLine],
        now: datetime,
        reply_to: ChatLine | None | _Auto = AUTO,
    ) -> Draft | None:
        """A message for the bot's turn. Pass the director's `turn.reply_to`; by default
        the composer picks a recent message to answer itself (or none)."""
        target = pick_reply_target(bot.name, context, now, self._rng) if isinstance(reply_to, _Auto) else reply_to
        for attempt in range(self._attempts):
            if target is not None and is_question(target.text):  # a question is answered, whoever asked
                parts, facts, stated = self._answer_parts(bot, chat, target, context, now)
            elif target is not None:
                parts, facts, stated = self._reply_parts(bot, chat, target, context, now)
            else:
                parts, facts, stated = self._chatter_parts(bot, chat, context, now)
            parts = with_position(bot.persona, parts, facts, self._rng, target.text if target else None)
            draft = self._finish(bot, parts, facts, stated, target, attempt)
            if draft:
                return draft
        return None

    def answer(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> Draft | None:
        """An answer to a person who mentioned or replied to the bot, as a reply to their message."""
        for attempt in range(self._attempts):
            parts, facts, stated = self._answer_parts(bot, chat, to, context, now)
            parts = with_position(bot.persona, parts, facts, self._rng, to.text)
            draft = self._finish(bot, parts, facts, stated, to, attempt)
            if draft:
                return draft
        return None

    def news(self, bot: BotConfig, chat: ChatConfig, headline: str, now: datetime) -> Draft | None:
        """A headline brought up in the bot's words (no link: the title only, cleaned by the news desk)."""
        named = [code for code in find_symbols(headline) if self.market.knows(code)]
        watched = [code for code in watchlist_codes(bot.persona.watchlist) if code in named]
        symbol = (watched or named)[0] if watched or named else None
        topics = find_topics(headline)
        facts = self._facts(symbol or main_symbols(topics[0] if topics else "macro")[0], now)
        for attempt in range(self._attempts):
            parts = [clauses.news_opener(headline, facts if symbol else None, self._rng)]
            if self._rng.random() < 0.7:
                parts.append(clauses.news_reaction(bot.persona, self._rng))
            draft = self._finish(bot, parts, facts, False, None, attempt)
            if draft:
                return draft
        return None

    @staticmethod
    def typing_delay(text: str) -> float:
        """Seconds a person would take to type `text`: 1.5 s plus 0.03 s a character, at most 8 s."""
        return min(8.0, 1.5 + 0.03 * len(text))

    def remember(self, bot_name: str, text: str) -> None:
        """Count `text` as said by the bot (e.g. its last messages, loaded at start-up: db/said_store.py)."""
        self.said.add(bot_name, text)

    # -- message shapes --------------------------------------------------------------

    def _chatter_parts(self, bot: BotConfig, chat: ChatConfig, context: Sequence[ChatLine], now: datetime) -> _Parts:
        rng, persona = self._rng, bot.persona
        facts = self._facts(choose_symbol(bot, chat, context, now, self._rng), now)
        view = self._views.take(bot, facts.topic, facts.symbol, facts.direction, now)
        mood = facts.direction or "flat"
        parts: list[str] = []
        if persona.length == "short":
            shape = rng.random()
            if shape < 0.15:
                return [clauses.question(facts, rng)], facts, False
            if shape < 0.3:
                parts.append(clauses.reaction(persona, mood, rng))
            parts.append(clauses.fact(facts, rng))
            if shape > 0.85:
                parts.append(clauses.outlook(facts, view, rng))
            return parts, facts, True
        long = persona.length == "long"
        if rng.random() < (0.12 if long else 0.05):
            parts.append(clauses.greeting(now, rng))
        if rng.random() < (0.6 if long else 0.35):
            parts.append(clauses.opener(persona, rng))
        if rng.random() < (0.4 if long else 0.2):
            parts.append(clauses.reaction(persona, mood, rng))
        parts.append(clauses.fact(facts, rng, plain=_after_lead_in(parts)))
        extras = [
            lambda: clauses.outlook(facts, view, rng),
            lambda: clauses.driver(facts, rng),
            lambda: clauses.risk(persona, facts, rng),
        ]
        rng.shuffle(extras)
        parts.extend(make() for make in extras[: 3 if long else rng.choice((1, 1, 2))])
        if long and rng.random() < 0.5:
            other = other_symbol(bot, chat, facts.symbol, self._rng)
            if other:
                parts.insert(-1, clauses.linked(clauses.fact(self._facts(other, now), rng, plain=True), rng))
        ending = rng.random()
        if ending < 0.25:
            parts.append(clauses.question(facts, rng))
        elif ending < (0.5 if long else 0.35):
            parts.append(clauses.closer(rng))
        return parts, facts, True

    def _reply_parts(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> _Parts:
        rng = self._rng
        named = [code for code in find_symbols(to.text) if self.market.knows(code)]
        # No symbol in the message: the thread's (what it replied to), not a new topic.
        symbol = named[0] if named else thread_symbol(to, context) or choose_symbol(bot, chat, context, now, self._rng)
        facts = self._facts(symbol, now)
        view = self._views.take(bot, facts.topic, facts.symbol, facts.direction, now)
        parts = [clauses.stance_reply(view, sentiment(to.text), rng)]
        if to.author_bot and to.author_bot != bot.name and rng.random() < SIBLING_BY_NAME:
            parts.insert(0, clauses.sibling_address(to.author_bot, rng))  # "Kemal, ..." (no @: no answer owed)
        stated = rng.random() < 0.6
        if stated:
            parts.append(clauses.fact(facts, rng))
        if not stated or rng.random() < 0.6:
            parts.append(clauses.outlook(facts, view, rng))
        if bot.persona.length == "long" and rng.random() < 0.5:
            parts.append(clauses.driver(facts, rng))
        if rng.random() < 0.15:
            parts.append(clauses.question(facts, rng))
        return parts, facts, stated

    def _answer_parts(
        self, bot: BotConfig, chat: ChatConfig, to: ChatLine, context: Sequence[ChatLine], now: datetime
    ) -> _Parts:
        rng, persona = self._rng, bot.persona
        asked = [code for code in find_symbols(to.text) if self.market.knows(code)]
        outsider = None if asked else subjects.outsider(to.text)
        if outsider is not None and (is_question(to.text) or is_claim(to.text)):  # "I don't follow that"
            return subjects.unfollowed_answer(outsider, persona, rng), subjects.unfollowed_facts(outsider), False
        symbol = asked[0] if asked else symbol_from_thread(bot, chat, to, context, now, self._rng)
        facts = self._facts(symbol, now)
        view = self._views.take(bot, facts.topic, facts.symbol, facts.direction, now)
        if not is_question(to.text):
            if is_thanks(to.text):
                return [clauses.thanks_reply(rng)] + ([clauses.closer(rng)] if rng.random() < 0.3 else []), facts, False
            if is_greeting(to.text):
                return [clauses.greeting_reply(now, rng), clauses.fact(facts, rng)], facts, True
            if not is_claim(to.text):  # nothing to agree or disagree with
                return [subjects.plain_ack(rng), clauses.fact(facts, rng)], facts, True
            return (
                [
                    clauses.stance_reply(view, sentiment(to.text), rng),
                    clauses.fact(facts, rng),
                    clauses.outlook(facts, view, rng),
                ],
                facts,
                True,
            )
        kind = question_kind(to.text)
        parts = [clauses.answer_opener(kind, rng)]
        parts.append(clauses.fact(facts, rng, plain=_after_lead_in(parts)))
        if kind == "why":
            parts.append(clauses.why(facts, rng))
        elif kind == "advice":
            parts.append(clauses.outlook(facts, view, rng))
            parts.append(clauses.advice_note(rng) if rng.random() < 0.6 else clauses.risk(persona, facts, rng))
        elif kind != "level" or rng.random() < 0.5:
            parts.append(clauses.outlook(facts, view, rng))
        if persona.length == "long" and kind != "why":
            parts.append(clauses.driver(facts, rng))
        return parts, facts, True

    # -- choosing what to talk about -------------------------------------------------------

    def _facts(self, symbol: str, now: datetime) -> Facts:
        return gather(self.market, symbol, now, self._rng)

    # -- the last step ---------------------------------------------------------------------

    def _finish(
        self, bot: BotConfig, parts: list[str], facts: Facts, stated: bool, target: ChatLine | None, attempt: int
    ) -> Draft | None:
        """The draft, styled and checked; None to write it again. One that repeats a sentence of the bot
        (or, to a person, a whole message) is kept aside, and sent only if no attempt does better."""
        said, persona = self.said, bot.persona
        parts = freshen(parts, said, bot.name, facts.slots.get("sym"), self._rng)  # worn stock clauses rotate
        mood: str = facts.direction or "flat"
        if parts and parts[-1].endswith("?"):
            mood = "question"
        styled = self._styler.style(parts, persona, mood, recent=said.recent_messages(bot.name, SIGNATURES_SPACED))
        if attempt == 0:
            self._spare = None  # a new message: nothing kept aside yet
        draft = None
        if guard(styled.text).ok:
            reply_to, direction = target.message_id if target else None, facts.direction if stated else None
            draft = Draft(styled.text, reply_to, topic=facts.topic, symbol=facts.symbol, direction=direction)
            worn = wear(said, bot.name, styled)  # 0: new; 1: a sentence said before; 2: the whole message
            if worn and (worn == 1 or (target is not None and target.is_human)):  # a person waits for an answer
                self._spare = (worn, draft) if self._spare is None or worn < self._spare[0] else self._spare
            draft = None if worn else draft
        if draft is None and attempt == self._attempts - 1 and self._spare:
            draft = self._spare[1]
        if draft is not None:
            said.add(bot.name, draft.text, leave_out=persona.signature_phrases)
        return draft


def _after_lead_in(parts: list[str]) -> bool:
    return bool(parts) and is_lead_in(parts[-1])
