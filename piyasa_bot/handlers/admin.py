"""Admin commands in a chat: /status, /pause, /resume, /pace <messages per hour>.

Only the chat's admins (bots.yaml `chats[].admins`, Telegram user ids) are
obeyed; anyone else's command is stored like any message and otherwise
ignored, without a word. Every bot in the chat receives a command, but the
recording middleware passes on one copy, and one bot answers: the one named
in `/cmd@username`, else the first active bot of the chat in bots.yaml order
(a bot the operator disabled is not active). The answer is an Outgoing answer
to the command: the outbox sends it. /pause, /resume and /pace are stored
changes (steering.py): a restart keeps them.

Any other command (another bot's /start, or one naming a bot that is not
ours) ends here too: a command is for a bot's controls, never a question for
the conversation.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog
from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from piyasa_bot.chat_kinds import reply_target
from piyasa_bot.db import queries
from piyasa_bot.deps import Deps
from piyasa_bot.handlers.admin_actions import ACTIONS, Controls
from piyasa_bot.ingest.pipeline import Arrival
from piyasa_bot.roster import ChatConfig
from piyasa_bot.sending.outbox import Outgoing, Priority

if TYPE_CHECKING:
    from piyasa_bot.conversation import Director

log = structlog.get_logger(__name__)

# Mentions are not checked against the receiving bot (aiogram's default): the copy that
# got through may be any bot's, so `for_our_bot` checks them against the whole roster.
OUR_COMMANDS = Command(*ACTIONS, ignore_case=True, ignore_mention=True)
ANY_COMMAND = Command(re.compile(r"[A-Za-z0-9_]{1,32}$"), ignore_mention=True)
# Right after a start, a mentioned bot may still be waiting for its getMe.
IDENTITY_WAIT = 10.0
# The filters below are coroutines on purpose: aiogram runs a plain function in a thread.


def build_router() -> Router:
    router = Router(name="admin")
    router.message.filter(looks_like_a_command)
    router.message.register(run_command, OUR_COMMANDS, for_our_bot, from_chat_admin)
    router.message.register(refuse_command, OUR_COMMANDS, for_our_bot)
    router.message.register(other_command, ANY_COMMAND)
    return router


async def looks_like_a_command(message: Message) -> bool:
    """Text that starts with "/" (a caption does not make a command): the rest of the chat skips this router."""
    return message.text is not None and message.text.startswith("/")


async def for_our_bot(message: Message, command: CommandObject, deps: Deps) -> bool:
    """No bot named, or one of ours."""
    if command.mention is None or deps.bots.by_username(command.mention) is not None:
        return True
    if deps.bots.pending and await deps.bots.wait_known(deps.bots, IDENTITY_WAIT):
        return deps.bots.by_username(command.mention) is not None
    return False


async def from_chat_admin(message: Message, roster_chat: ChatConfig) -> bool:
    return message.from_user is not None and message.from_user.id in roster_chat.admins


async def refuse_command(message: Message, command: CommandObject) -> None:
    log.info(
        "command.ignored",
        command=command.command.lower(),
        user_id=message.from_user.id if message.from_user else None,
        reason="not an admin of this chat",
    )


async def other_command(message: Message) -> None:
    """Not one of ours (another bot's /start, or a bot that is not in bots.yaml): nothing to do."""


async def run_command(
    message: Message, command: CommandObject, roster_chat: ChatConfig, deps: Deps, arrival: Arrival
) -> None:
    name, args = command.command.lower(), (command.args or "").strip()
    chat_id = message.chat.id  # the id Telegram uses now; directors are keyed by bots.yaml's
    director = deps.rooms.directors.get(roster_chat.id) if deps.rooms is not None else None
    bot_name = await _answering_bot(command.mention, roster_chat, chat_id, deps, director)
    if bot_name is None:
        log.warning("command.unanswered", command=name, reason="no active bot in this chat")
        return
    by = f"telegram:{message.from_user.id}" if message.from_user else "telegram"  # from_chat_admin saw the user
    # A change goes through deps.steering, which stores it and nudges the chat: it takes effect now.
    controls = Controls(chat=roster_chat, chat_id=chat_id, deps=deps, director=director, by=by)
    text = await ACTIONS[name](args, controls)
    reply_to = reply_target(
        message.chat.type, message.message_id, received_by=arrival.handle.name, answering_bot=bot_name
    )
    outbox_id = await deps.outbox.put(
        Outgoing(
            bot=bot_name,
            chat_id=chat_id,
            text=text,
            priority=Priority.ANSWER,
            reply_to=reply_to,
            answers=message.message_id,
        )
    )
    log.info(
        "command.handled",
        command=name,
        args=args,
        user_id=message.from_user and message.from_user.id,
        bot=bot_name,
        queued=outbox_id is not None,
    )


async def _answering_bot(
    mention: str | None, chat: ChatConfig, chat_id: int, deps: Deps, director: Director | None
) -> str | None:
    paired = {
        name: active and state != "disabled"
        for name, state, active in await queries.bot_chat_states(deps.pool, chat_id)
    }
    usable = [
        bot.name
        for bot in deps.roster.bots
        if chat.id in bot.chats
        and (handle := deps.bots.get(bot.name)) is not None
        and handle.telegram_id
        and paired.get(bot.name, True)
        and not deps.steering.is_disabled(bot.name)  # disabled by the operator: says nothing
        and (director is None or director.is_active(bot.name))
    ]
    named = deps.bots.by_username(mention) if mention else None
    if named is not None and named.name in usable:
        return named.name
    return usable[0] if usable else None
