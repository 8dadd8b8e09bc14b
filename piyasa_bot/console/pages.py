"""The console's read pages: the chats, one chat live, the bots, the fleet, the outbox, charts, search.

Every value from a URL is checked before use: a chat id that is not a number or
not a stored chat, a search longer than MAX_SEARCH, an unknown status answer a
4xx page that says which (console/errors.py renders it).
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from piyasa_bot.console import charts, live, queries
from piyasa_bot.console.context import context_of
from piyasa_bot.console.render import render
from piyasa_bot.console.urls import chat_id_in
from piyasa_bot.db import status_queries
from piyasa_bot.sending.status import OutboxStatus

WINDOW = timedelta(hours=1)  # "recent" on the overview pages, as `status` reads it
MAX_CHART_HOURS = 48
MAX_FILTER = 200  # characters of a reason or bot filter


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chats)
    app.router.add_get("/chats/{chat_id}", chat)
    app.router.add_get("/chats/{chat_id}/events", chat_events)
    app.router.add_get("/bots", bots)
    app.router.add_get("/fleet", fleet)
    app.router.add_get("/outbox", outbox)
    app.router.add_get("/charts", chart_page)
    app.router.add_get("/search", search)


async def chats(request: web.Request) -> web.Response:
    context = context_of(request)
    rows = await status_queries.chat_statuses(context.deps.pool, WINDOW)
    titles = {chat.id: chat.title for chat in context.deps.roster.chats}
    steered = {state.chat_id: state for state in context.steering.chat_states()}
    return render(request, "chats.html", chats=rows, titles=titles, steered=steered)


async def chat(request: web.Request) -> web.Response:
    context = context_of(request)
    chat_id = await _stored_chat(request)
    lines = await queries.recent_lines(context.deps.pool, chat_id)
    roster_chat = context.deps.roster_chat(chat_id)
    return render(
        request,
        "chat.html",
        chat_id=chat_id,
        title=roster_chat.title if roster_chat is not None and roster_chat.title else str(chat_id),
        lines=lines,
        last_id=lines[-1].id if lines else 0,
        steer=context.steering.chat_state(roster_chat.id) if roster_chat is not None else None,
    )


async def chat_events(request: web.Request) -> web.StreamResponse:
    chat_id = await _stored_chat(request)
    after = _int(request.query.get("after", "0"), "after")
    return await live.stream_lines(request, chat_id, after)


async def bots(request: web.Request) -> web.Response:
    context = context_of(request)
    rows = await status_queries.bot_statuses(context.deps.pool, WINDOW)
    outbox = context.deps.outbox
    pollers = context.runner.pollers
    leases = await queries.leases(context.deps.pool)
    return render(
        request,
        "bots.html",
        bots=rows,
        polling={name: poller.state.value for name, poller in pollers.items()},
        rate_limited=outbox.rate_limited_by_bot,
        held=outbox.held_by_bot(),
        in_roster={bot.name for bot in context.deps.roster.bots},
        steered={state.name: state for state in context.steering.bot_states()},
        owners={lease.key: lease for lease in leases if lease.kind == "bot"},
    )


async def fleet(request: web.Request) -> web.Response:
    """The runners sharing this database, and which of them holds each bot and chat (from the database alone)."""
    pool = context_of(request).deps.pool
    runners = await queries.runners(pool)
    return render(
        request,
        "fleet.html",
        runners=runners,
        rosters=status_queries.rosters_of_live(runners),
        leases=await queries.leases(pool),
        live_within=status_queries.LIVE_WITHIN.total_seconds(),
    )


async def outbox(request: web.Request) -> web.Response:
    context = context_of(request)
    status_text = request.query.get("status") or None
    status = None
    if status_text is not None:
        try:
            status = OutboxStatus(status_text)
        except ValueError:
            raise web.HTTPBadRequest(
                text=f"status {status_text[:40]!r} is not one of {', '.join(OutboxStatus)}"
            ) from None
    reason = _filter(request, "reason")
    bot = _filter(request, "bot")
    chat_text = request.query.get("chat") or None
    chat_id = _int(chat_text, "chat") if chat_text is not None else None
    rows = await queries.outbox_rows(context.deps.pool, status=status, reason=reason, chat_id=chat_id, bot=bot)
    reasons = await queries.outbox_reasons(context.deps.pool)
    return render(
        request,
        "outbox.html",
        rows=rows,
        reasons=reasons,
        statuses=list(OutboxStatus),
        chosen={"status": status_text or "", "reason": reason or "", "bot": bot or "", "chat": chat_text or ""},
    )


async def chart_page(request: web.Request) -> web.Response:
    hours = _int(request.query.get("hours", "6"), "hours")
    if not 1 <= hours <= MAX_CHART_HOURS:
        raise web.HTTPBadRequest(text=f"hours must be between 1 and {MAX_CHART_HOURS}, not {hours}")
    figures = await queries.minute_figures(context_of(request).deps.pool, hours)
    return render(request, "charts.html", hours=hours, charts=charts.draw(figures, hours), minutes=len(figures))


async def search(request: web.Request) -> web.Response:
    text = request.query.get("q", "").strip()
    if len(text) > queries.MAX_SEARCH:
        raise web.HTTPBadRequest(
            text=f"the search is {len(text):,} characters long; at most {queries.MAX_SEARCH} are looked for"
        )
    found = await queries.search_lines(context_of(request).deps.pool, text) if text else []
    return render(request, "search.html", q=text, found=found)


async def _stored_chat(request: web.Request) -> int:
    chat_id = chat_id_in(request)
    if not await queries.chat_exists(context_of(request).deps.pool, chat_id):
        raise web.HTTPNotFound(text=f"no chat {chat_id} is stored")
    return chat_id


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number, not {text[:40]!r}") from None


def _filter(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    if len(value) > MAX_FILTER:
        raise web.HTTPBadRequest(text=f"the {name} filter is {len(value):,} characters long; at most {MAX_FILTER}")
    return value or None
