"""The emulator's pure logic: bots, chats, fan-out of people's messages,
sendMessage with Telegram's limits, and the bookkeeping tests assert on.

No HTTP here; `server.py` turns requests into these calls.
"""

from __future__ import annotations

import json
import random
import string
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .chats import ChatState, StoredMessage
from .faults import FaultPlan
from .limits import EmulatorLimits, LimitBook
from .membership import Membership, migrated
from .messages import Audience, as_reply_target, bot_user_dict, mention_entities, message_dict, user_dict
from .models import ApiError, PostedMessage, RequestRecord, SandboxBot, SentMessage, bad_request, too_many_requests
from .updates import ConfirmationWatch, UpdateQueue

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
MAX_TEXT_LENGTH = 4096


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class BotState:
    bot: SandboxBot
    index: int
    queue: UpdateQueue
    revoked: bool = False


class SandboxState(Membership):
    def __init__(self, limits: EmulatorLimits | None = None, faults: FaultPlan | None = None, seed: int = 0):
        self.limits = limits or EmulatorLimits()
        self.faults = faults or FaultPlan()
        self.rng = random.Random(seed)  # faults, tokens, numbering offsets
        self.requests: deque[RequestRecord] = deque(maxlen=100_000)
        self.closing = False  # set on stop: long polls answer at once
        self._limit_book = LimitBook(self.limits)
        self._bots: dict[str, BotState] = {}
        self._by_token: dict[str, BotState] = {}
        self._chats: dict[int, ChatState] = {}
        self._posted: list[PostedMessage] = []
        self._sent: list[SentMessage] = []
        self._watch = ConfirmationWatch()
        self._request_counts: dict[str, dict[int, int]] = {}
        self.rate_limited = {"injected": 0, "enforced": 0}
        self.faults_injected = {"5xx": 0, "drop": 0}

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
        state = BotState(bot, index, UpdateQueue(first_update_id, self._watch))
        self._bots[name] = self._by_token[token] = state
        return bot

    def add_chat(self, chat_id: int, title: str = "", type: str = "supergroup", members=(), forum: bool = False) -> None:
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

    def bot_for_token(self, token: str) -> BotState | None:
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
        self._posted.append(posted)
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

    def member_chat(self, state: BotState, raw_chat_id: Any) -> ChatState:
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

    def send_message(self, state: BotState, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.member_chat(state, params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        name = state.bot.name
        replied = self._replied_by_bot(chat, name, params)
        now = time.monotonic()
        refusal = self._limit_book.refusal(name, chat.id, now)
        if refusal is not None:
            kind, retry_after = refusal
            self._limit_book.count_refusal(kind)
            self.rate_limited["enforced"] += 1
            raise too_many_requests(retry_after)
        self._limit_book.accept(name, chat.id, now)
        chat_message_id = chat.next_message_id()
        message = message_dict(
            chat_message_id,
            bot_user_dict(state.bot),
            chat.as_dict,
            int(time.time()),
            text,
            mention_entities(text),
            as_reply_target(replied.message, replied.chat_message_id) if replied else None,
        )
        # A reply lands in the topic of the message it replies to, as in Telegram.
        thread_id = replied.message.get("message_thread_id") if replied else params.get("message_thread_id")
        if thread_id is not None:
            message.update(message_thread_id=int(thread_id), is_topic_message=True)
        chat.store(StoredMessage(chat_message_id, name, message))
        own_copy = chat.copy_for_bot(name, message, replied)
        sent = SentMessage(
            name,
            chat.id,
            own_copy["message_id"],
            text,
            own_copy["reply_to_message"]["message_id"] if replied else None,
            time.time(),
            chat_message_id,
            message.get("message_thread_id"),
        )
        self._sent.append(sent)
        chat.recent_sent.append(sent)
        return own_copy

    def _replied_by_bot(self, chat: ChatState, bot_name: str, params: dict[str, Any]) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        reply = reply if isinstance(reply, dict) else {}
        raw_id = reply.get("message_id", params.get("reply_to_message_id"))
        if raw_id in (None, ""):
            return None
        try:
            replied = chat.find(chat.id_from_bot(bot_name, int(raw_id)))
        except (TypeError, ValueError):
            replied = None
        allow_missing = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
        if replied is None and allow_missing not in (True, "true", "True", "1"):
            raise bad_request("message to be replied not found")
        return replied

    # -- what happened --------------------------------------------------------

    def sent(self, chat_id: int | None = None, bot_name: str | None = None) -> list[SentMessage]:
        return [
            s
            for s in self._sent
            if (chat_id is None or s.chat_id == chat_id) and (bot_name is None or s.bot_name == bot_name)
        ]

    def sent_since(self, index: int) -> list[SentMessage]:
        return self._sent[index:]

    def recent_sent(self, chat_id: int) -> list[SentMessage]:
        """The last few bot messages in a chat (cheap, for simulated people)."""
        return list(self._chat(chat_id).recent_sent)

    @property
    def posted(self) -> list[PostedMessage]:
        return list(self._posted)

    @property
    def violations(self) -> dict[str, int]:
        return self._limit_book.violations

    def pending(self, bot_name: str) -> int:
        return len(self._bot(bot_name).queue)

    async def wait_polling(self, bot_name: str, timeout: float = 5.0) -> None:
        """Return once this bot has a long poll waiting (so a post wakes it)."""
        await self._bot(bot_name).queue.wait_polling(timeout)

    async def wait_confirmed(self, timeout: float = 10.0) -> None:
        """Return once every bot has confirmed every update; TimeoutError otherwise."""
        await self._watch.wait(timeout)

    def record(self, record: RequestRecord) -> None:
        self.requests.append(record)
        by_status = self._request_counts.setdefault(record.method, {})
        by_status[record.status] = by_status.get(record.status, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": {m: {str(s): n for s, n in c.items()} for m, c in self._request_counts.items()},
            "violations": dict(self.violations),
            "rate_limited": dict(self.rate_limited),
            "faults": dict(self.faults_injected),
            "posted": len(self._posted),
            "sent": len(self._sent),
            "updates_delivered": sum(s.queue.delivered for s in self._bots.values()),
            "pending": {name: len(s.queue) for name, s in self._bots.items()},
            "unconfirmed": self._watch.unconfirmed,
        }

    def _bot(self, name: str) -> BotState:
        try:
            return self._bots[name]
        except KeyError:
            raise KeyError(f"no bot named {name!r}") from None

    def _chat(self, chat_id: int) -> ChatState:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"no chat {chat_id}") from None
