"""Record every message a bot receives (once, across bots)."""

from __future__ import annotations

import structlog
from aiogram import Router
from aiogram.types import Message

from piyasa_bot.deps import Deps
from piyasa_bot.ingest.pipeline import Arrival

log = structlog.get_logger(__name__)


def build_router() -> Router:
    router = Router(name="record")
    router.message.register(record_message)
    router.channel_post.register(record_message)
    return router


async def record_message(message: Message, deps: Deps, arrival: Arrival) -> None:
    is_new = deps.recorder.record_incoming(message, arrival)
    if is_new and deps.rooms is not None and message.from_user is not None and not message.from_user.is_bot:
        deps.rooms.heard(message, received_by=arrival.handle.name)
    log.debug("message.recorded", message_id=message.message_id, kind=message.content_type)
