"""The console's steering: forms that pause, resume and pace a chat, disable and enable a bot.

The same stored changes as the admin commands (steering.py), made by the viewer
(`by` is their name). Who may steer, and the CSRF check, are the access
middleware's (console/access.py); a viewer who may only look is refused here
too, in case a route is ever reached without it. Success answers 303 to the
chat's page or the bots' page, or to the form's `next` if it is a path of this
console; a malformed pace is a 400, an unknown chat or bot a 404, a chat when
the conversation is off a 409, a change the database did not take a 503: each a
page with a sentence (errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TypeVar

from aiohttp import web

from piyasa_bot.console.context import context_of
from piyasa_bot.console.render import VIEWER_KEY
from piyasa_bot.console.urls import chat_id_in, is_local_path
from piyasa_bot.console.viewer import Viewer
from piyasa_bot.steering import (
    ConversationOff,
    InvalidPace,
    NotSaved,
    PaceRefused,
    SteeringError,
    UnknownTarget,
    parse_pace,
)

T = TypeVar("T")
MAX_NEXT = 500  # characters of a `next` path; a longer one is not a page of ours


def add_routes(app: web.Application) -> None:
    app.router.add_post("/chats/{chat_id}/pause", pause_chat)
    app.router.add_post("/chats/{chat_id}/resume", resume_chat)
    app.router.add_post("/chats/{chat_id}/pace", pace_chat)
    app.router.add_post("/bots/{name}/disable", disable_bot)
    app.router.add_post("/bots/{name}/enable", enable_bot)


async def pause_chat(request: web.Request) -> web.StreamResponse:
    chat_id, by, form = chat_id_in(request), _steerer(request), await request.post()
    state = await _done(context_of(request).steering.pause(chat_id, by))
    raise web.HTTPSeeOther(_next(form, f"/chats/{state.chat_id}"))


async def resume_chat(request: web.Request) -> web.StreamResponse:
    chat_id, by, form = chat_id_in(request), _steerer(request), await request.post()
    state = await _done(context_of(request).steering.resume(chat_id, by))
    raise web.HTTPSeeOther(_next(form, f"/chats/{state.chat_id}"))


async def pace_chat(request: web.Request) -> web.StreamResponse:
    chat_id, by, form = chat_id_in(request), _steerer(request), await request.post()
    text = form.get("pace")
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="Give the pace as a number of messages an hour (0 silences the chat).")
    try:
        pace = parse_pace(text)
    except InvalidPace as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    state = await _done(context_of(request).steering.set_pace(chat_id, pace, by))
    raise web.HTTPSeeOther(_next(form, f"/chats/{state.chat_id}"))


async def disable_bot(request: web.Request) -> web.StreamResponse:
    name, by, form = request.match_info["name"], _steerer(request), await request.post()
    await _done(context_of(request).steering.disable_bot(name, by))
    raise web.HTTPSeeOther(_next(form, "/bots"))


async def enable_bot(request: web.Request) -> web.StreamResponse:
    name, by, form = request.match_info["name"], _steerer(request), await request.post()
    await _done(context_of(request).steering.enable_bot(name, by))
    raise web.HTTPSeeOther(_next(form, "/bots"))


def _steerer(request: web.Request) -> str:
    viewer = request.get(VIEWER_KEY)
    if not isinstance(viewer, Viewer) or not viewer.may_steer:
        raise web.HTTPForbidden(text="Only an operator may steer; this account may look.")
    return viewer.name


async def _done(change: Awaitable[T]) -> T:
    """The change made, or the page that says why not."""
    try:
        return await change
    except InvalidPace as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    except UnknownTarget as error:
        raise web.HTTPNotFound(text=str(error)) from None
    except (ConversationOff, PaceRefused) as error:
        raise web.HTTPConflict(text=str(error)) from None
    except NotSaved as error:
        raise web.HTTPServiceUnavailable(text=str(error)) from None
    except SteeringError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def _next(form: Mapping[str, object], default: str) -> str:
    """The form's `next` if it is a path of this console (never another site: no open redirect)."""
    target = form.get("next")
    if not isinstance(target, str) or not is_local_path(target, max_length=MAX_NEXT):
        return default
    return target
