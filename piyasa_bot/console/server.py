"""The console's aiohttp application on host:port: error pages, access control, the pages, static files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from piyasa_bot.console import live
from piyasa_bot.console.access import open_access
from piyasa_bot.console.context import CONTEXT, ConsoleContext
from piyasa_bot.console.errors import error_pages
from piyasa_bot.console.options import ConsoleOptions
from piyasa_bot.http_site import HttpSite

log = structlog.get_logger(__name__)

STATIC = Path(__file__).with_name("static")
MAX_BODY = 64 * 1024  # bytes of a form: the console's forms are a few fields


class Access(Protocol):
    """Who may look and who may steer (piyasa_bot.console.access)."""

    @property
    def middleware(self) -> Middleware: ...
    def add_routes(self, app: web.Application) -> None: ...


class ConsoleServer:
    def __init__(self, context: ConsoleContext, access: Access, host: str, port: int) -> None:
        self.context = context
        self.access = access
        self._site = HttpSite(self.build_app(), host, port, "the console")

    @property
    def url(self) -> str:
        return self._site.url

    def chats_watched(self) -> int:
        """Chats with a live view open now (each followed by one query, whatever the pages)."""
        return self._site.app[live.TAILS].watched()

    def build_app(self) -> web.Application:
        from piyasa_bot.console import pages, steer_routes

        app = web.Application(middlewares=[error_pages, self.access.middleware], client_max_size=MAX_BODY)
        app[CONTEXT] = self.context
        self.access.add_routes(app)
        pages.add_routes(app)
        live.follow_shutdown(app, self.context.deps.pool)
        steer_routes.add_routes(app)
        app.router.add_static("/static", STATIC)
        return app

    async def start(self) -> None:
        await self._site.start()
        log.info("console.listening", url=self.url)

    async def stop(self) -> None:
        await self._site.stop()


async def open_console(options: ConsoleOptions, context: ConsoleContext, pool: asyncpg.Pool) -> ConsoleServer:
    """The console, listening; ConsoleRefused when it would listen beyond this machine with no operator."""
    access = await open_access(pool, options.host, options.secret or os.urandom(32))
    console = ConsoleServer(context, access, options.host, options.port)
    await console.start()
    return console
