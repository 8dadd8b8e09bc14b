"""The console as a browser holds it: a chat page and its live stream (Server-Sent Events), read continuously.

Each event of the stream is `id: <messages.id>`, `event: line`, `data: <the line's HTML>`
and a blank line; a line starting with ":" is a keepalive comment. The time an
event arrived is taken here, with time.time(), when its blank line is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import time
from dataclasses import dataclass

import aiohttp
import asyncpg

EVENTS_URL = re.compile(r'id="messages"[^>]*data-events="([^"]+)"')


@dataclass(frozen=True)
class Event:
    id: int  # messages.id
    name: str
    data: str
    at: float  # time.time() at arrival


class LiveStream:
    """One open chat page: GET /chats/<id>, then its data-events stream read until `close`."""

    def __init__(self, http: aiohttp.ClientSession, chat_id: int) -> None:
        self._http = http
        self.chat_id = chat_id
        self.events: list[Event] = []
        self.keepalives = 0
        self.page_s = 0.0  # the page's GET, start to body read
        self.url = ""
        self.ended_by_server = False
        self._arrived = asyncio.Condition()
        self._response: aiohttp.ClientResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        started = time.perf_counter()
        async with self._http.get(f"/chats/{self.chat_id}") as page:
            body = await page.text()
            if page.status != 200:
                raise RuntimeError(f"GET /chats/{self.chat_id}: {page.status} {body[:300]}")
        self.page_s = time.perf_counter() - started
        found = EVENTS_URL.search(body)
        if found is None:
            raise RuntimeError("the chat page names no live stream (data-events on #messages)")
        self.url = html.unescape(found.group(1))
        response = await self._http.get(self.url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None))
        if response.status != 200 or response.content_type != "text/event-stream":
            text = await response.text()
            response.close()
            raise RuntimeError(f"GET {self.url}: {response.status} {response.content_type} {text[:300]}")
        self._response = response
        self._reader = asyncio.create_task(self._read(response), name="live-stream")

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        fields: dict[str, str] = {}
        with contextlib.suppress(aiohttp.ClientError):
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    self.keepalives += 1
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "id" in fields:
                    event = Event(
                        int(fields["id"]), fields.get("event", "message"), fields.get("data", ""), time.time()
                    )
                    fields = {}
                    async with self._arrived:
                        self.events.append(event)
                        self._arrived.notify_all()
            self.ended_by_server = True

    def find(self, text: str) -> Event | None:
        """The first event whose HTML contains `text` (plain ASCII without & < > " ': escaped as itself)."""
        return next((event for event in self.events if text in event.data), None)

    async def wait_for(self, text: str, timeout: float) -> Event | None:
        async with self._arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait_for(lambda: self.find(text) is not None), timeout)
        return self.find(text)

    async def wait_ended(self, timeout: float) -> bool:
        """Did the server end the stream within `timeout` (e.g. on the runner's stop)?"""
        if self._reader is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.ended_by_server

    async def close(self) -> None:
        """The page closed, as a browser closes it: the connection goes."""
        if self._response is not None:
            self._response.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def clock_offset(conn: asyncpg.Connection, samples: int = 20) -> tuple[float, float]:
    """(PostgreSQL's clock minus this process's, the round trip) in s, from the shortest of `samples` round trips."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time()
        db = float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8"))
        after = time.time()
        if best is None or after - before < best[1]:
            best = (db - (before + after) / 2, after - before)
    assert best is not None
    return best
