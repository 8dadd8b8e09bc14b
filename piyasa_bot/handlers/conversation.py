"""People's messages to the conversation: the chat rooms decide who answers, and when.

Only a new message of a roster chat gets here (see record), and only one
that is not a command (admin comes first). A handler never sends: the rooms
schedule an answer, which goes out through the outbox.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from piyasa_bot.deps import Deps
from piyasa_bot.ingest.pipeline import Arrival


def build_router() -> Router:
    router = Router(name="conversation")
    router.message.register(heard, from_a_person)
    return router


async def from_a_person(message: Message) -> bool:  # a coroutine: aiogram runs a plain function in a thread
    return message.from_user is not None and not message.from_user.is_bot


async def heard(message: Message, deps: Deps, arrival: Arrival) -> None:
    assert deps.rooms is not None, "the conversation router runs only beside the chat rooms"
    deps.rooms.heard(message, received_by=arrival.handle.name, copy_key=arrival.copy_key)
