"""The console's read pages: chats, one chat live, bots, outbox, charts, search."""

from __future__ import annotations

from aiohttp import web

from piyasa_bot.console.render import render


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chats)


async def chats(request: web.Request) -> web.Response:
    return render(request, "chats.html", chats=[])
