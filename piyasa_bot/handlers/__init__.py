"""aiogram routers, one per feature, wired in `build_dispatcher`.

Every update first binds its log context. A message then passes two outer
middlewares, in this order: `migration` (a group upgraded to a supergroup is
followed before anything asks whether the chat is ours) and `record` (each
message stored once across bots; a copy, or a message of a chat outside
bots.yaml, stops there). Only new messages of roster chats reach the feature
routers: `admin` (commands), then `conversation` (people's messages, when the
runner talks). `membership` takes my_chat_member updates.
"""

from __future__ import annotations

from aiogram import Dispatcher

from piyasa_bot.handlers import admin, conversation, membership
from piyasa_bot.handlers.context import BindLogContext
from piyasa_bot.handlers.migration import FollowMigration
from piyasa_bot.handlers.record import RecordEdits, RecordIncoming


def build_dispatcher(*, conversation_on: bool) -> Dispatcher:
    # No FSM: nothing here keeps per-user state, and aiogram's default MemoryStorage
    # would keep a record for every (bot, chat, user) it ever saw, for good.
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.update.outer_middleware(BindLogContext())
    dispatcher.message.outer_middleware(FollowMigration())
    for observer in (dispatcher.message, dispatcher.channel_post):
        observer.outer_middleware(RecordIncoming())
    for observer in (dispatcher.edited_message, dispatcher.edited_channel_post):
        observer.outer_middleware(RecordEdits())
    dispatcher.include_routers(membership.build_router(), admin.build_router())
    if conversation_on:
        dispatcher.include_router(conversation.build_router())  # after admin: a command is never a question
    return dispatcher
