"""The "typing..." a person sees while an answer waits out its deliberate delay."""

from __future__ import annotations

import structlog

from piyasa_bot.bots import BotHandle
from piyasa_bot.telegram import error_kind

log = structlog.get_logger(__name__)


async def show_typing(handle: BotHandle, chat_id: int) -> None:
    try:
        await handle.bot.send_chat_action(chat_id, "typing")
    except Exception as error:  # noqa: BLE001 - cosmetic: never worth more than a log line, nor a retry
        log.debug("send.typing_failed", bot=handle.name, chat_id=chat_id, error=error_kind(error))
