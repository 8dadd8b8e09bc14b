"""The seam to aiogram's HTTP stack: one shared session, raw getUpdates, error kinds."""

from __future__ import annotations

import asyncio.sslproto
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.methods.base import Response
from aiogram.types import Message, User
from aiohttp import ClientSession, hdrs


class GetRawUpdates(GetUpdates):
    """getUpdates answered as plain dicts, so copies already seen are never parsed."""

    __returning__ = list[dict[str, Any]]


# pydantic keeps parametrized generics in a weak cache; aiogram asks for
# Response[T] on every call and rebuilding one costs milliseconds. Hold them.
_RESPONSE_TYPES = (Response[list[dict[str, Any]]], Response[Message], Response[User], Response[bool])


# asyncio gives every TLS connection a 256 KiB read buffer (SSLProtocol.max_size), touched
# at once: ~330 KB per waiting long poll, 1,000 bots over HTTPS ~330 MB more than over HTTP.
# A TLS record carries at most 16 KiB, so a 16 KiB buffer reads any answer in a few
# more recv calls (an idle long poll reads nothing at all).
TLS_READ_BUFFER = 16 * 1024


def limit_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    """Give the TLS connections this process opens from now on a `size` read buffer (process-wide)."""
    protocol = asyncio.sslproto.SSLProtocol
    if getattr(protocol, "max_size", 0) > size:
        protocol.max_size = size


class RunnerSession(AiohttpSession):
    """An AiohttpSession whose every request names the runner that makes it (User-Agent).

    Telegram ignores it; the emulator reads it to tell which runner of a fleet polled a token.
    """

    def __init__(self, runner: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_agent = runner_user_agent(runner)

    async def create_session(self) -> ClientSession:
        session = await super().create_session()
        session.headers[hdrs.USER_AGENT] = self.user_agent  # aiogram sets its own at creation
        return session


def runner_user_agent(runner: str) -> str:
    return f"piyasa_bot (runner {runner})"


def shared_session(api_base: str, bots: int, *, runner: str | None = None) -> AiohttpSession:
    """One HTTP session for the whole roster: one SSL context, a pool sized to it.

    Every bot holds one long poll open and sends besides, so the pool needs
    room for two connections a bot, plus a margin. `runner`: the fleet runner's
    id, sent with every request (User-Agent).
    """
    limit_tls_read_buffer()
    api = TelegramAPIServer.from_base(api_base.rstrip("/"))
    if runner is None:
        return AiohttpSession(api=api, limit=2 * bots + 16)
    return RunnerSession(runner, api=api, limit=2 * bots + 16)


def make_bot(token: str, session: AiohttpSession) -> Bot:
    return Bot(token=token, session=session)


def error_kind(error: BaseException) -> str:
    """A short name for what went wrong, for logs, metrics and the bots table."""
    kinds: list[tuple[type[BaseException], str]] = [
        (TelegramUnauthorizedError, "unauthorized"),
        (TelegramConflictError, "conflict"),
        (TelegramRetryAfter, "retry_after"),
        (TelegramForbiddenError, "forbidden"),
        (TelegramBadRequest, "bad_request"),
        (TelegramNotFound, "not_found"),
        (TelegramServerError, "server_error"),
        (TelegramNetworkError, "network"),
        (TimeoutError, "timeout"),
        # An answer that is not JSON, or not text: cut in the middle, a proxy's page, another service.
        (ClientDecodeError, "bad_response"),
        (UnicodeDecodeError, "bad_response"),
    ]
    for kind_type, name in kinds:
        if isinstance(error, kind_type):
            return name
    return type(error).__name__
