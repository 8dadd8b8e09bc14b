"""Bind bot, chat and update ids to every log line written while an update is handled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update


class BindLogContext(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        chat = data.get("event_chat")
        arrival = data.get("arrival")
        with structlog.contextvars.bound_contextvars(
            bot=arrival.handle.name if arrival else None,
            update_id=event.update_id,
            chat_id=chat.id if chat else None,
        ):
            return await handler(event, data)
