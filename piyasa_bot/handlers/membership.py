"""my_chat_member: a bot added to a chat, promoted, removed or banned.

In a roster chat, removal marks the bot-chat pair inactive and takes the bot
out of the chat's conversation (bot_chats.py, as a 403 on a send does); being
added back marks it active again. Outside the roster the bot records the chat
and leaves (see ingest/foreign.py). A person starting or blocking a bot in
private is ignored.
"""

from __future__ import annotations

import structlog
from aiogram import Router
from aiogram.types import ChatMemberUpdated

from piyasa_bot.deps import Deps
from piyasa_bot.ingest.pipeline import Arrival

log = structlog.get_logger(__name__)

PRESENT = frozenset({"creator", "administrator", "member"})


def build_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(member_changed)
    return router


def status_of(update: ChatMemberUpdated) -> str:
    status = update.new_chat_member.status
    return str(getattr(status, "value", status))  # aiogram gives a str enum: keep the plain word


def is_present(update: ChatMemberUpdated) -> bool:
    status = status_of(update)
    # "restricted" members may still be in the chat (is_member) but unable to write.
    return status in PRESENT or (status == "restricted" and bool(getattr(update.new_chat_member, "is_member", False)))


async def member_changed(update: ChatMemberUpdated, deps: Deps, arrival: Arrival) -> None:
    chat, handle = update.chat, arrival.handle
    status = status_of(update)
    if chat.type == "private":
        log.debug("membership.private_ignored", bot=handle.name, user_id=chat.id, status=status)
        return
    present = is_present(update)
    by = update.from_user.id if update.from_user else None
    roster_chat = deps.roster_chat(chat.id)
    if roster_chat is None:
        if present:
            log.warning("bot.added_to_foreign_chat", bot=handle.name, chat_id=chat.id, title=chat.title, by_user=by)
            await deps.foreign.note(chat, deps.pool, bot=handle.name)
            await deps.foreign.leave(handle, chat, deps.pool, deps.aliases)
        return
    bot = next((listed for listed in deps.roster.bots if listed.name == handle.name), None)
    if bot is None or roster_chat.id not in bot.chats:
        log.info(
            "bot.membership_not_in_roster",
            bot=handle.name,
            chat_id=chat.id,
            status=status,
            note="bots.yaml does not pair this bot with this chat",
        )
        return
    how = f"{status} by user {by}" if by else status
    if present:
        await deps.bot_chats.added(handle.name, chat.id, how)
    else:
        await deps.bot_chats.removed(handle.name, chat.id, how)
