"""Record every message a bot receives (once, across bots), in the chats of bots.yaml.

What is stored: every message and channel post of a roster chat, whatever it
holds: text, a photo or video (its caption as the text), a sticker (no text),
a service message (new members, a pin, a migration...) under its content type
as `kind`. Edits are stored beside the original (message_edits). A chat
outside bots.yaml is recorded once in `chats` (allowed = false), and its
messages are neither stored nor answered: the bots have no business there.

These are outer middlewares, so the feature routers behind them see a
message only when it is new and from a roster chat, with its bots.yaml entry
as `roster_chat`. A message handled this way counts as handled whether or not
a feature router took it: recording it was the job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from piyasa_bot.deps import Deps
from piyasa_bot.ingest.pipeline import Arrival
from piyasa_bot.roster import ChatConfig

log = structlog.get_logger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def _roster_chat(message: Message, deps: Deps, arrival: Arrival) -> ChatConfig | None:
    chat = deps.roster_chat(message.chat.id)
    if chat is None:
        await deps.foreign.note(message.chat, deps.pool, bot=arrival.handle.name)
    return chat


class RecordIncoming(BaseMiddleware):
    """A message or channel post: stored once; only the first copy goes on to the feature routers."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> None:
        assert isinstance(event, Message)
        deps: Deps = data["deps"]
        arrival: Arrival = data["arrival"]
        chat = await _roster_chat(event, deps, arrival)
        if chat is None or not deps.recorder.record_incoming(event, arrival):
            return  # not ours, or another bot's copy of it was recorded first
        log.debug("message.recorded", message_id=event.message_id, kind=event.content_type)
        data["roster_chat"] = chat
        await handler(event, data)


class RecordEdits(BaseMiddleware):
    """An edit: stored beside the original, once across bots, and not passed on.

    An edit is not a new message: it is not answered again, and an edited command is not run again.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> None:
        assert isinstance(event, Message)
        deps: Deps = data["deps"]
        arrival: Arrival = data["arrival"]
        if await _roster_chat(event, deps, arrival) is not None and deps.recorder.record_edit(event, arrival):
            log.debug("message.edit_recorded", message_id=event.message_id, kind=event.content_type)
