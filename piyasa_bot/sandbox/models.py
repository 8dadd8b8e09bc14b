"""Plain records the emulator hands out; no behaviour, so tests can compare them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True)
class SandboxBot:
    id: int
    name: str
    username: str
    token: str
    privacy: bool


@dataclass(frozen=True)
class PostedMessage:
    """A person's message as the emulator queued it for the member bots."""

    chat_id: int
    message_id: int  # the people's numbering; equals every copy's id in a supergroup
    user_id: int
    text: str
    available_at: float  # time.time() when the updates were queued
    copies: dict[str, int]  # bot name -> message_id that bot sees
    recipients: list[str]  # bots that got an Update for it (privacy honoured)

    def to_json(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies: ~2 ms for fifty copies, too slow per post.
        return {**self.__dict__, "copies": dict(self.copies), "recipients": list(self.recipients)}


@dataclass(frozen=True)
class SentMessage:
    """A successful sendMessage."""

    bot_name: str
    chat_id: int
    message_id: int  # as the sending bot got it back
    text: str
    reply_to_message_id: int | None
    at: float
    # The people's numbering: differs from message_id only in basic groups,
    # where each bot numbers messages on its own. Use it to reply via post().
    chat_message_id: int = 0
    thread_id: int | None = None  # the forum topic it was posted in

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PollStatus:
    """How a bot polls, as the emulator sees it (readiness without reading anyone's log)."""

    polls: int  # getUpdates requests with its token
    last_poll_at: float | None  # time.time() of the latest one
    waiting: bool  # a long poll is open right now
    pending: int  # updates queued and not yet confirmed

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RequestRecord:
    bot_name: str | None
    method: str
    status: int  # 0 when the connection was dropped on purpose
    at: float  # time.time() when it was answered (a long poll: when it ended)
    params: dict[str, Any] = field(default_factory=dict)
    runner: str | None = None  # the fleet runner named in its User-Agent (piyasa_bot.telegram.RunnerSession)
    arrived_at: float | None = None  # time.time() when it came in


class CutOff(NamedTuple):
    """A long poll ended with 409 by a newer getUpdates on its token."""

    bot_name: str
    runner: str | None  # whose poll was cut off
    by: str | None  # whose newer poll cut it off
    at: float  # time.time() when the newer poll came in


class ApiError(Exception):
    """A Bot API error answer: {"ok": false, "error_code", "description", "parameters"?}."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


# Factories, not shared instances: a raised exception keeps its traceback.
def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def conflict() -> ApiError:
    return ApiError(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class ReactionRecord:
    """A successful setMessageReaction: `emoji` None when the bot took its reaction back."""

    bot_name: str
    chat_id: int
    message_id: int  # the people's numbering (PostedMessage.message_id)
    emoji: str | None
    at: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
