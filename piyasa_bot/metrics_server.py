"""/metrics (Prometheus text exposition) and /healthz, on an optional local port.

What /metrics says is the collector's (metrics_collector.py); this module serves it, with the
database probe behind /healthz and piyasa_database_up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.db.status_queries import ping
from piyasa_bot.http_site import HttpSite
from piyasa_bot.metrics_collector import STALL_MARGIN, RunnerCollector, RunnerView, stalled_bots
from piyasa_bot.polling import BotState

__all__ = ["MetricsServer"]

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
PROBE_TIMEOUT = 2.0  # seconds for the database check behind /healthz and piyasa_database_up


class MetricsServer:
    """GET /metrics and GET /healthz for one runner, on host:port (port 0: any free port)."""

    def __init__(
        self,
        view: RunnerView,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        probe_timeout: float = PROBE_TIMEOUT,
        stall_margin: float = STALL_MARGIN,
        collectors: Sequence[Collector] = (),
    ) -> None:
        self.view = view
        self.probe_timeout = probe_timeout
        self.stall_margin = stall_margin
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = RunnerCollector(view, stall_margin)
        self.registry.register(self.collector)
        for collector in collectors:  # e.g. the live market's (quotes/metrics.py)
            self.registry.register(collector)
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        self._site = HttpSite(self.build_app(), host, port, "/metrics and /healthz")
        self._probe: asyncio.Task[bool] | None = None

    @property
    def host(self) -> str:
        return self._site.host

    @property
    def port(self) -> int:
        return self._site.port

    @property
    def url(self) -> str:
        return self._site.url

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        await self._site.start()
        log.info("metrics.listening", url=self.url)

    async def stop(self) -> None:
        await self._site.stop()
        if self._probe is not None:
            self._probe.cancel()

    async def database_reachable(self) -> bool:
        """SELECT 1 through the runner's pool within the probe timeout; one probe at a time."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._ping())
        return await asyncio.shield(self._probe)

    async def _ping(self) -> bool:
        pool = self.view.pool
        if pool is None:
            return False
        try:
            # asyncpg's own timeouts, not a cancellation from outside: a query cancelled that way can go
            # back to the pool still busy, and fail the next caller's.
            deadline = time.monotonic() + self.probe_timeout
            async with pool.acquire(timeout=self.probe_timeout) as conn:
                return await ping(conn, timeout=max(0.05, deadline - time.monotonic()))
        except DATABASE_ERRORS:
            return False

    async def _metrics(self, request: web.Request) -> web.Response:
        self.collector.database_up = await self.database_reachable()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encode(self.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, _: web.Request) -> web.Response:
        pollers = self.view.pollers
        stalled = stalled_bots(pollers, time.monotonic(), self.stall_margin)
        # A stalled bot may still say RUNNING (its loop died, or hangs): it does not count as running.
        running = sum(1 for name, p in pollers.items() if p.state is BotState.RUNNING and name not in stalled)
        database = await self.database_reachable()
        writer, outbox = self.view.writer, self.view.outbox
        fenced = self.view.fenced  # polling stood down: the bots may say running, none polls
        healthy = running > 0 and database and not fenced
        body = {
            "status": "ok" if healthy else "unavailable",
            "fenced": fenced,
            "bots": {"running": running, "total": len(pollers), "stalled": stalled},
            "database_reachable": database,
            "writer_backlog": writer.backlog if writer is not None else None,
            "outbox_queued": outbox.backlog if outbox is not None else None,
        }
        return web.json_response(body, status=200 if healthy else 503)
