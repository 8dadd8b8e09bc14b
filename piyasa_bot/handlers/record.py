"""Record every message a bot receives (once, across bots), in the chats of bots.yaml.

What is stored: every message and channel post of a roster chat, whatever it
holds: text, a photo or video (its caption as the text), a sticker (no text),
a service message (new members, a pin, a migration...) under its content type
as `kind`. Edits are stored beside the original (message_edits). A chat
outside bots.yaml is recorded once in `chats` (allowed = false), and its
messages are neither stored nor answered: the bots have no business there.
"""

from __future__ import annotations

import structlog
from aiogram import Router
from aiogram.types import Message

from piyasa_bot.deps import Deps
from piyasa_bot.handlers.admin import handle_command, parse_command
from piyasa_bot.handlers.migration import follow_migration, migration_of
from piyasa_bot.ingest.pipeline import Arrival

log = structlog.get_logger(__name__)


def build_router() -> Router:
    router = Router(name="record")
    router.message.register(record_message)
    router.channel_post.register(record_message)
    router.edited_message.register(record_edit)
    router.edited_channel_post.register(record_edit)
    return router


async def record_message(message: Message, deps: Deps, arrival: Arrival) -> None:
    migration = migration_of(message)
    if migration is not None:
        # Before the roster check: from here on the supergroup's id is the roster chat's.
        await follow_migration(*migration, deps)
    chat = deps.roster_chat(message.chat.id)
    if chat is None:
        await deps.foreign.note(message.chat, deps.pool, bot=arrival.handle.name)
        return
    if not deps.recorder.record_incoming(message, arrival):
        return
    log.debug("message.recorded", message_id=message.message_id, kind=message.content_type)
    command = parse_command(message.text)
    if command is not None:
        # A command is for the operator's controls, never a question for the bots to answer.
        await handle_command(command, message, chat, deps, arrival)
        return
    if deps.rooms is not None and message.from_user is not None and not message.from_user.is_bot:
        deps.rooms.heard(message, received_by=arrival.handle.name)


async def record_edit(message: Message, deps: Deps, arrival: Arrival) -> None:
    # An edit is recorded, not answered again, and an edited command is not run again.
    if deps.roster_chat(message.chat.id) is None:
        await deps.foreign.note(message.chat, deps.pool, bot=arrival.handle.name)
        return
    if deps.recorder.record_edit(message, arrival):
        log.debug("message.edit_recorded", message_id=message.message_id, kind=message.content_type)
