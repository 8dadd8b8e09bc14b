"""aiogram routers, one per feature, wired in `build_dispatcher`."""

from __future__ import annotations

from aiogram import Dispatcher

from piyasa_bot.handlers import membership, record
from piyasa_bot.handlers.context import BindLogContext


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(BindLogContext())
    dispatcher.include_routers(record.build_router(), membership.build_router())
    return dispatcher
