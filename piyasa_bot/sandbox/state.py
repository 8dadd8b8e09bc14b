"""The emulator's state: its bots and chats, and people's messages fanned out to the bots.

sendMessage is in sending.py, setMessageReaction in reactions.py, who joins and leaves in membership.py, the record
of what happened in journal.py. No HTTP here; `server.py` turns requests into
these calls.
"""

from __future__ import annotations

import json
import random
import string
import time
from dataclasses import dataclass
from typing import Any

from .chats import ChatState, StoredMessage
from .faults import FaultPlan
from .journal import Journal
from .limits import EmulatorLimits, LimitBook
from .membership import Membership, migrated
from .messages import Audience, as_reply_target, mention_entities, message_dict, user_dict
from .models import (
    ApiError,
    PollStatus,
    PostedMessage,
    ReactionRecord,
    RequestRecord,
    SandboxBot,
    SentMessage,
    bad_request,
)
from .reactions import set_message_reaction
from .sending import send_message
from .updates import ConfirmationWatch, PollWatch, UpdateQueue

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class BotAccount:
    """One bot as the emulator holds it: who it is, its update queue, whether its token still works."""

    bot: SandboxBot
    index: int
    queue: UpdateQueue
    revoked: bool = False
    faults: FaultPlan | None = None  # its own plan, used instead of the emulator's global one


class SandboxState(Membership):
    def __init__(
        self,
        limits: EmulatorLimits | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        longest_poll: float | None = None,
    ):
        self.limits = limits or EmulatorLimits()
        self.faults = faults or FaultPlan()
        self.rng = random.Random(seed)  # faults, tokens, numbering offsets
        self.closing = False  # set on stop: long polls answer at once
        # The longest a long poll waits, whatever timeout it asks for (Telegram's own cap is 50 s):
        # fleet tests and benchmarks shorten the polls of runners they start as operators do.
        self.longest_poll = longest_poll
        self._limit_book = LimitBook(self.limits)
        self._bots: dict[str, BotAccount] = {}
        self._by_token: dict[str, BotAccount] = {}
        self._chats: dict[int, ChatState] = {}
        self._watch = ConfirmationWatch()
        self._polls = PollWatch()
        self.journal = Journal()
        # The journal's own containers, under the names tests and reports use.
        self.requests = self.journal.requests
        self.rate_limited = self.journal.rate_limited
        self.faults_injected = self.journal.faults

    def bot_faults(self, bot_name: str) -> FaultPlan:
        """This bot's own fault plan (created empty on first use); it replaces the global plan for the bot."""
        state = self._bot(bot_name)
        if state.faults is None:
            state.faults = FaultPlan()
        return state.faults

    def clear_bot_faults(self, bot_name: str) -> None:
        """The bot is back under the global plan."""
        self._bot(bot_name).faults = None

    def bot_fault_plans(self) -> dict[str, FaultPlan]:
        """The bots that have a plan of their own, and those plans."""
        return {name: s.faults for name, s in self._bots.items() if s.faults is not None}

    def faults_for(self, state: BotAccount | None) -> FaultPlan:
        """The plan for a request with this bot's token (the global one for an unknown token)."""
        return state.faults if state is not None and state.faults is not None else self.faults

    def use_limits(self, limits: EmulatorLimits) -> None:
        """Count (and enforce) these limits from now on, before any traffic."""
        self.limits = limits
        self._limit_book = LimitBook(limits)

    # -- roster ---------------------------------------------------------------

    def add_bot(self, name: str, username: str | None = None, privacy: bool = True) -> SandboxBot:
        if name in self._bots:
            raise ValueError(f"bot {name!r} already exists")
        index = len(self._bots)
        bot_id = 7_000_000_001 + index
        token = f"{bot_id}:" + "".join(self.rng.choice(_TOKEN_ALPHABET) for _ in range(35))
        bot = SandboxBot(bot_id, name, username or f"{name}_bot", token, privacy)
        first_update_id = 100_000_000 + index * 1_000 + self.rng.randrange(1_000)
        state = BotAccount(bot, index, UpdateQueue(first_update_id, self._watch, self._polls))
        self._bots[name] = self._by_token[token] = state
        return bot

    def add_chat(
        self, chat_id: int, title: str = "", type: str = "supergroup", members=(), forum: bool = False
    ) -> None:
        self._chats[chat_id] = ChatState(chat_id, title or str(chat_id), type, forum)
        for name in members:
            self.add_member(chat_id, name)

    def members(self, chat_id: int) -> list[SandboxBot]:
        return [self._bots[name].bot for name in self._chat(chat_id).members]

    def bots(self) -> list[SandboxBot]:
        return [state.bot for state in self._bots.values()]

    def revoke(self, bot_name: str) -> None:
        """Every later call with this token gets 401; its queued updates are lost."""
        state = self._bot(bot_name)
        state.revoked = True
        self._by_token.pop(state.bot.token, None)
        state.queue.revoke()

    def bot_for_token(self, token: str) -> BotAccount | None:
        return self._by_token.get(token)

    # -- people ---------------------------------------------------------------

    def post(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        first_name: str = "Kullanıcı",
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        username: str | None = None,
        thread_id: int | None = None,
    ) -> PostedMessage:
        """A person writes into a chat; every member bot allowed to see it gets an Update.

        `reply_to_message_id` is in the people's numbering (PostedMessage.message_id,
        SentMessage.chat_message_id). `thread_id` posts into a forum topic.
        """
        chat = self._chat(chat_id)
        replied = None
        if reply_to_message_id is not None:
            replied = chat.find(int(reply_to_message_id))
            if replied is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
        entities = entities if entities is not None else mention_entities(text)
        chat_message_id = chat.next_message_id()
        message = message_dict(
            chat_message_id,
            user_dict(user_id, first_name, username),
            chat.as_dict,
            int(time.time()),
            text,
            entities,
            as_reply_target(replied.message, replied.chat_message_id) if replied else None,
        )
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        chat.store(StoredMessage(chat_message_id, None, message))
        audience = Audience(text, entities, replied.sender_bot if replied else None)
        shared_body = b'"message":' + _encode(message) if chat.is_supergroup else b""
        copies: dict[str, int] = {}
        recipients: list[str] = []
        for name in chat.members:
            state = self._bots[name]
            copies[name] = chat.id_for_bot(name, chat_message_id)
            if state.revoked or not audience.sees(state.bot):
                continue
            body = shared_body or b'"message":' + _encode(chat.copy_for_bot(name, message, replied))
            state.queue.push(body)
            recipients.append(name)
        posted = PostedMessage(chat_id, chat_message_id, user_id, text, time.time(), copies, recipients)
        self.journal.posted.append(posted)
        return posted

    def push_update(self, bot_name: str, update: dict[str, Any]) -> int:
        """Queue any kind of update (edited_message, my_chat_member, ...) as is."""
        payload = {key: value for key, value in update.items() if key != "update_id"}
        if not payload:
            raise ValueError("an update needs at least one field besides update_id")
        state = self._bot(bot_name)
        if state.revoked:
            raise ValueError(f"bot {bot_name!r} is revoked; nobody could confirm the update")
        return state.queue.push(_encode(payload)[1:-1])

    # -- bots -----------------------------------------------------------------

    def member_chat(self, state: BotAccount, raw_chat_id: Any) -> ChatState:
        """The chat a bot addresses, or the error Telegram would answer."""
        try:
            chat = self._chats.get(int(raw_chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise migrated(chat)
        if state.bot.name not in chat.members:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    def send_message(self, state: BotAccount, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.member_chat(state, params.get("chat_id"))
        return send_message(chat, state.bot, params, self._limit_book, self.journal)

    def set_message_reaction(self, state: BotAccount, params: dict[str, Any]) -> bool:
        chat = self.member_chat(state, params.get("chat_id"))
        return set_message_reaction(chat, state.bot, params, self._limit_book, self.journal)

    # -- what happened --------------------------------------------------------

    def sent(self, chat_id: int | None = None, bot_name: str | None = None) -> list[SentMessage]:
        return self.journal.sent_by(chat_id, bot_name)

    def reactions(self, chat_id: int | None = None) -> list[ReactionRecord]:
        """Bots' reactions (and take-backs), oldest first; message ids in the people's numbering."""
        return self.journal.reactions_in(chat_id)

    def sent_since(self, index: int) -> list[SentMessage]:
        return self.journal.sent[index:]

    def recent_sent(self, chat_id: int) -> list[SentMessage]:
        """The last few bot messages in a chat (cheap, for simulated people)."""
        return list(self._chat(chat_id).recent_sent)

    @property
    def posted(self) -> list[PostedMessage]:
        return list(self.journal.posted)

    @property
    def violations(self) -> dict[str, int]:
        return self._limit_book.violations

    def pending(self, bot_name: str) -> int:
        return len(self._bot(bot_name).queue)

    async def wait_polling(self, bot_name: str, timeout: float = 5.0) -> None:
        """Return once this bot has a long poll waiting (so a post wakes it)."""
        await self._bot(bot_name).queue.wait_polling(timeout)

    def polling(self) -> dict[str, PollStatus]:
        """Per bot: getUpdates calls so far, the latest one's time, an open long poll, updates pending."""
        return {
            name: PollStatus(s.queue.calls, s.queue.last_call_at, s.queue.polling, len(s.queue))
            for name, s in self._bots.items()
        }

    @property
    def bots_polled(self) -> int:
        """Bots that have called getUpdates at least once."""
        return self._polls.polled

    async def wait_bots_polled(self, count: int | None = None, timeout: float = 10.0) -> None:
        """Return once `count` bots (default: every bot) have called getUpdates; TimeoutError otherwise."""
        await self._polls.wait(len(self._bots) if count is None else count, timeout)

    async def wait_confirmed(self, timeout: float = 10.0) -> None:
        """Return once every bot has confirmed every update; TimeoutError otherwise."""
        await self._watch.wait(timeout)

    def record(self, record: RequestRecord) -> None:
        self.journal.record(record)

    def pollers(self, since: float, until: float | None = None) -> dict[str, set[str]]:
        """Per bot, the fleet runners whose getUpdates came in between `since` and `until` (time.time())."""
        return self.journal.pollers(since, until)

    @property
    def conflicts(self) -> dict[str, int]:
        """Per bot: long polls ended with 409 by a newer getUpdates on the same token."""
        return dict(self.journal.conflicts)

    def stats(self) -> dict[str, Any]:
        return {
            **self.journal.stats(),
            "violations": dict(self.violations),
            "updates_delivered": sum(s.queue.delivered for s in self._bots.values()),
            "pending": {name: len(s.queue) for name, s in self._bots.items()},
            "unconfirmed": self._watch.unconfirmed,
            "polling": {
                "bots": len(self._bots),
                "polled": self._polls.polled,
                "waiting": sum(1 for s in self._bots.values() if s.queue.polling),
            },
        }

    def _bot(self, name: str) -> BotAccount:
        try:
            return self._bots[name]
        except KeyError:
            raise KeyError(f"no bot named {name!r}") from None

    def _chat(self, chat_id: int) -> ChatState:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"no chat {chat_id}") from None
