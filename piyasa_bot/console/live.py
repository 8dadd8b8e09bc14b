"""The chat page's live view: Server-Sent Events carrying each newly stored message.

One `ChatTail` per watched chat looks for messages stored after the last one it
saw, every LOOK_EVERY seconds (a range on messages.id: any runner's rows, one
round trip when nothing is new), and hands them to every page open on that chat:
the database's work does not grow with the pages. A page gets the lines as the
same autoescaped HTML the page was rendered with. A page that closes is noticed
within a second (aiohttp does not cancel the handler), the last page leaving a
chat stops its tail, and a comment every KEEPALIVE seconds keeps proxies from
closing a quiet stream. The browser's EventSource reconnects by itself after an
error, from the last id it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from aiohttp import web

from piyasa_bot.console import queries
from piyasa_bot.console.queries import Line
from piyasa_bot.console.render import environment
from piyasa_bot.db.retry import DATABASE_ERRORS

log = structlog.get_logger(__name__)

LOOK_EVERY = 0.4  # seconds: a stored message is on the page within about half a second
KEEPALIVE = 15.0
CLOSED_CHECK = 1.0  # seconds between looks at whether the page is still there
BATCH = 200  # lines a look brings at most; a busier chat is caught up over the next looks
QUEUED = 1000  # lines waiting for one slow page; beyond that it is dropped (its EventSource reconnects)
_END = None  # put in a page's queue: the console is stopping, or the page fell too far behind


class ChatTail:
    """The newly stored lines of one chat, for every page watching it."""

    def __init__(self, pool: asyncpg.Pool, chat_id: int, after: int) -> None:
        self.pool = pool
        self.chat_id = chat_id
        self.last = after  # the newest id handed out
        self.pages: set[asyncio.Queue[Line | None]] = set()
        self._task: asyncio.Task[None] | None = None

    def join(self) -> asyncio.Queue[Line | None]:
        queue: asyncio.Queue[Line | None] = asyncio.Queue(QUEUED + 1)
        self.pages.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._follow(), name=f"console-tail:{self.chat_id}")
        return queue

    def leave(self, queue: asyncio.Queue[Line | None]) -> None:
        self.pages.discard(queue)
        if not self.pages and self._task is not None:
            self._task.cancel()

    def end(self) -> None:
        for queue in self.pages:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_END)
        if self._task is not None:
            self._task.cancel()

    async def _follow(self) -> None:
        while self.pages:
            try:
                lines = await queries.recent_lines(self.pool, self.chat_id, after_id=self.last, limit=BATCH)
            except DATABASE_ERRORS as error:
                log.warning("console.live_look_failed", chat_id=self.chat_id, error=type(error).__name__)
                lines = []  # the database is away: look again; the pages stay open
            for line in lines:
                for queue in list(self.pages):
                    if queue.qsize() >= QUEUED:
                        self.pages.discard(queue)
                        queue.put_nowait(_END)
                    else:
                        queue.put_nowait(line)
                self.last = line.id
            await asyncio.sleep(LOOK_EVERY)


class Tails:
    """A tail per chat that was watched (stored chats only: bounded), following while watched."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._tails: dict[int, ChatTail] = {}

    def of(self, chat_id: int, after: int) -> ChatTail:
        tail = self._tails.get(chat_id)
        if tail is None:
            tail = self._tails[chat_id] = ChatTail(self.pool, chat_id, after)
        elif not tail.pages:
            tail.last = max(tail.last, after)  # nobody watched meanwhile: no need to bring the gap
        return tail

    def watched(self) -> int:
        return sum(1 for tail in self._tails.values() if tail.pages)

    def end(self) -> None:
        for tail in self._tails.values():
            tail.end()


TAILS = web.AppKey("live tails", Tails)


def follow_shutdown(app: web.Application, pool: asyncpg.Pool) -> None:
    """One set of tails for the application; every open stream ends when the console stops."""
    app[TAILS] = Tails(pool)

    async def end_streams(app: web.Application) -> None:
        app[TAILS].end()

    app.on_shutdown.append(end_streams)


async def stream_lines(request: web.Request, chat_id: int, after: int) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    after = max(after, _last_event_id(request))
    tail = request.app[TAILS].of(chat_id, after)
    queue = tail.join()
    fragment = environment().get_template("line.html")
    sent = after
    try:
        # What was stored between this page and the tail's position: the tail brings only what is newer.
        if after < tail.last:
            for missed in await queries.recent_lines(tail.pool, chat_id, after_id=after, limit=BATCH):
                if missed.id <= tail.last:
                    sent = await _write(response, fragment.render(line=missed), missed.id)
        quiet_since = time.monotonic()
        while not _closed(request):
            try:
                line = await asyncio.wait_for(queue.get(), CLOSED_CHECK)
            except TimeoutError:
                if time.monotonic() - quiet_since >= KEEPALIVE:
                    await response.write(b": still here\n\n")
                    quiet_since = time.monotonic()
                continue
            if line is _END:
                break
            if line.id > sent:
                sent = await _write(response, fragment.render(line=line), line.id)
                quiet_since = time.monotonic()
    except ConnectionResetError:
        pass  # the page was closed while a line was on its way
    finally:
        tail.leave(queue)
    return response


async def _write(response: web.StreamResponse, html: str, line_id: int) -> int:
    await response.write(f"id: {line_id}\nevent: line\ndata: {html.replace(chr(10), '')}\n\n".encode())
    return line_id


def _closed(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _last_event_id(request: web.Request) -> int:
    """Where a reconnecting EventSource left off (it sends the last id it saw)."""
    try:
        return int(request.headers.get("Last-Event-ID", "0"))
    except ValueError:
        return 0
