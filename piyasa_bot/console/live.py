"""The chat page's live view: Server-Sent Events carrying each newly stored message.

Each open page looks for messages stored after the last one it has, every
LOOK_EVERY seconds (an indexed range on messages.id: any runner's rows, a
fraction of a millisecond when nothing is new), and receives them as the same
autoescaped HTML the page was rendered with. A comment every KEEPALIVE seconds
keeps proxies from closing a quiet stream; the browser's EventSource reconnects
by itself after an error, from the last id it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from aiohttp import web

from piyasa_bot.console import queries
from piyasa_bot.console.render import environment

log = structlog.get_logger(__name__)

LOOK_EVERY = 0.4  # seconds: a stored message is on the page within about half a second
KEEPALIVE = 15.0
_STREAMS = web.AppKey("live streams", set[asyncio.Event])


def follow_shutdown(app: web.Application) -> None:
    """End every open stream when the console stops, so that stopping waits for none."""
    app[_STREAMS] = set()

    async def end_streams(app: web.Application) -> None:
        for ending in app[_STREAMS]:
            ending.set()

    app.on_shutdown.append(end_streams)


async def stream_lines(request: web.Request, pool: asyncpg.Pool, chat_id: int, after: int) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    ending = asyncio.Event()
    streams = request.app[_STREAMS]
    streams.add(ending)
    fragment = environment().get_template("line.html")
    last = max(after, _last_event_id(request))
    quiet_since = time.monotonic()
    try:
        while not ending.is_set():
            lines = await queries.recent_lines(pool, chat_id, after_id=last, limit=200)
            for line in lines:
                html = fragment.render(line=line).replace("\n", "")
                await response.write(f"id: {line.id}\nevent: line\ndata: {html}\n\n".encode())
                last = line.id
            now = time.monotonic()
            if lines:
                quiet_since = now
            elif now - quiet_since >= KEEPALIVE:
                await response.write(b": still here\n\n")
                quiet_since = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ending.wait(), LOOK_EVERY)
    except ConnectionResetError:
        pass  # the page was closed
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("console.live_stopped", chat_id=chat_id, error=type(error).__name__)
    finally:
        streams.discard(ending)
    return response


def _last_event_id(request: web.Request) -> int:
    """Where a reconnecting EventSource left off (it sends the last id it saw)."""
    try:
        return int(request.headers.get("Last-Event-ID", "0"))
    except ValueError:
        return 0
