"""aiogram routers, one per feature, wired in `build_dispatcher`."""

from __future__ import annotations

from aiogram import Dispatcher

from piyasa_bot.handlers.context import BindLogContext
from piyasa_bot.handlers.record import router as record_router


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(BindLogContext())
    dispatcher.include_routers(record_router)
    return dispatcher
