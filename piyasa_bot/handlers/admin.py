"""Admin commands in a chat: /status, /pause, /resume, /pace <messages per hour>.

Only the chat's admins (bots.yaml `chats[].admins`, Telegram user ids) are
obeyed; anyone else's command is stored like any message and otherwise
ignored, without a word. Every bot in the chat receives a command, but the
copy dedupe hands the dispatcher one, and one bot answers: the one named in
`/cmd@username`, else the first active bot of the chat in bots.yaml order.
The answer is an Outgoing answer to the command: the outbox sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from aiogram.types import Message

from piyasa_bot.db import queries
from piyasa_bot.deps import Deps
from piyasa_bot.handlers.admin_actions import ACTIONS, Controls
from piyasa_bot.ingest.pipeline import Arrival
from piyasa_bot.roster import ChatConfig
from piyasa_bot.sending.outbox import Outgoing, Priority

if TYPE_CHECKING:
    from piyasa_bot.conversation import Director

log = structlog.get_logger(__name__)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str  # lower case, without the "/"
    username: str | None  # the bot it names after "@", if any
    args: str


def parse_command(text: str | None) -> Command | None:
    match = _COMMAND.match(text.strip()) if text else None
    if match is None:
        return None
    name, username, args = match.groups()
    return Command(name.lower(), username, (args or "").strip())


async def handle_command(command: Command, message: Message, chat: ChatConfig, deps: Deps, arrival: Arrival) -> None:
    handles = deps.outbox.handles
    if command.username and not any(h.username.casefold() == command.username.casefold() for h in handles.values()):
        return  # addressed to a bot that is not ours
    action = ACTIONS.get(command.name)
    if action is None:
        return  # another bot's command (/start, /help, ...)
    user_id = message.from_user.id if message.from_user else None
    if user_id is None or user_id not in chat.admins:
        log.info("command.ignored", command=command.name, user_id=user_id, reason="not an admin of this chat")
        return
    chat_id = message.chat.id  # the id Telegram uses now; directors are keyed by bots.yaml's
    director = deps.rooms.directors.get(chat.id) if deps.rooms is not None else None
    bot_name = await _answering_bot(command, chat, chat_id, deps, director)
    if bot_name is None:
        log.warning("command.unanswered", command=command.name, reason="no active bot in this chat")
        return
    text = await action(command.args, Controls(chat=chat, chat_id=chat_id, deps=deps, director=director))
    if deps.rooms is not None:
        deps.rooms.nudge(chat.id)  # a new pace or a pause takes effect now, not at the planned turn
    # In a basic group the id is the receiving bot's own numbering: only that bot can reply to it.
    numbering_shared = message.chat.type != "group" or bot_name == arrival.handle.name
    outbox_id = await deps.outbox.put(Outgoing(
        bot=bot_name, chat_id=chat_id, text=text, priority=Priority.ANSWER,
        reply_to=message.message_id if numbering_shared else None, answers=message.message_id,
    ))
    log.info("command.handled", command=command.name, args=command.args, user_id=user_id, bot=bot_name,
             queued=outbox_id is not None)


async def _answering_bot(command: Command, chat: ChatConfig, chat_id: int, deps: Deps,
                         director: Director | None) -> str | None:
    handles = deps.outbox.handles
    paired = {name: active and state != "disabled"
              for name, state, active in await queries.bot_chat_states(deps.pool, chat_id)}
    usable = [
        bot.name for bot in deps.roster.bots
        if chat.id in bot.chats and bot.name in handles and handles[bot.name].telegram_id
        and paired.get(bot.name, True) and (director is None or director.is_active(bot.name))
    ]
    if command.username:
        wanted = command.username.casefold()
        named = next((name for name in usable if handles[name].username.casefold() == wanted), None)
        if named is not None:
            return named
    return usable[0] if usable else None
