"""/metrics (Prometheus text exposition) and /healthz, on an optional local port.

The collector reads, at scrape time, the counters the runner keeps anyway:
nothing on the hot path changes for metrics except the ingest latency
histogram (`metrics.TimedIngest`). Labels carry bot names and error kinds,
never a token nor an error's text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from piyasa_bot.db.status_queries import ping
from piyasa_bot.metrics import LatencyHistogram
from piyasa_bot.polling import BotState

if TYPE_CHECKING:
    from piyasa_bot.runner import Runner

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
PROBE_TIMEOUT = 2.0  # seconds for the database check behind /healthz and piyasa_database_up
SEND_RESULTS = ("sent", "failed", "expired")  # where an outbox row ends
SEND_RETRIES = {"rate_limited": "rate_limited", "error": "retried"}  # requeued attempts, by why


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class RunnerCollector(Collector):
    """Turns the runner's own counters into metric families at scrape time."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.database_up: bool | None = None  # set by the server before each scrape

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._writer()
        yield from self._outbox()
        yield from self._bots()
        yield from self._rooms()
        if self.database_up is not None:
            yield _gauge("piyasa_database_up", "1 when the database answered SELECT 1 at this scrape",
                         int(self.database_up))

    def _ingest(self) -> Iterator[Metric]:
        ingest = self.runner.ingest
        if ingest is None:
            return
        yield _counter("piyasa_updates_received", "Updates returned by getUpdates, every bot's copy counted",
                       ingest.updates_received)
        yield _counter("piyasa_updates_failed", "Updates whose handling raised (logged as update.failed)",
                       ingest.updates_failed)
        recorder = ingest.recorder
        yield _counter("piyasa_messages_stored", "Incoming messages handed to the writer, once each across bots",
                       recorder.stored)
        yield _counter("piyasa_update_copies_skipped", "Copies of an already-stored message skipped before parsing",
                       recorder.skipped_copies)
        latency = getattr(ingest, "latency", None)
        if isinstance(latency, LatencyHistogram):
            family = HistogramMetricFamily(
                "piyasa_ingest_latency_seconds",
                "From a getUpdates batch's arrival to the commit of every row it depends on (batches with new messages)",
            )
            family.add_metric([], [(_bound(b), c) for b, c in latency.cumulative()], latency.sum)
            yield family

    def _writer(self) -> Iterator[Metric]:
        writer = self.runner.writer
        if writer is None:
            return
        yield _counter("piyasa_db_rows_written", "Message rows committed (incoming and sent)", writer.rows_written)
        yield _counter("piyasa_db_write_batches", "Batch inserts committed", writer.batches_written)
        yield _counter("piyasa_db_write_failures", "Batch inserts that failed and were retried", writer.write_failures)
        yield _gauge("piyasa_writer_backlog_rows", "Rows waiting for the writer", writer.backlog)
        yield _gauge("piyasa_writer_backlog_max_rows", "Most rows ever waiting for the writer since start",
                     writer.max_backlog)

    def _outbox(self) -> Iterator[Metric]:
        outbox = self.runner.outbox
        if outbox is None:
            return
        counts = outbox.counts
        sends = CounterMetricFamily("piyasa_sends", "Outbox messages by how they ended", labels=["result"])
        for result in SEND_RESULTS:
            sends.add_metric([result], getattr(counts, result))
        yield sends
        retries = CounterMetricFamily("piyasa_send_retries", "Send attempts requeued, by why: a 429 or another error",
                                      labels=["reason"])
        for reason, attribute in SEND_RETRIES.items():
            retries.add_metric([reason], getattr(counts, attribute))
        yield retries
        yield _gauge("piyasa_outbox_queued_messages", "Messages queued in the outbox (pending rows in memory)",
                     outbox.backlog)
        yield _gauge("piyasa_outbox_queued_max_messages", "Most messages ever queued since start", counts.max_queue)
        holds = outbox.holds()
        held = GaugeMetricFamily("piyasa_outbox_held_by_limit_messages",
                                 "Queued messages whose time has come, held now by a send limit", labels=["limit"])
        held.add_metric(["chat"], holds.chat)
        held.add_metric(["retry_after"], holds.retry_after)
        held.add_metric(["global"], holds.global_bucket)
        yield held

    def _bots(self) -> Iterator[Metric]:
        pollers = self.runner.pollers
        states = GaugeMetricFamily("piyasa_bots", "Bots of the roster by polling state", labels=["state"])
        for state in BotState:
            states.add_metric([state.value], sum(1 for p in pollers.values() if p.state is state))
        yield states
        running = GaugeMetricFamily("piyasa_bot_running", "1 while the bot's last getUpdates succeeded",
                                    labels=["bot"])
        errors = CounterMetricFamily("piyasa_poll_errors", "Failed Bot API calls of a bot's poll loop, by kind",
                                     labels=["bot", "kind"])
        for name, poller in sorted(pollers.items()):
            running.add_metric([name], int(poller.state is BotState.RUNNING))
            for kind, count in sorted(poller.errors.items()):
                errors.add_metric([name, kind], count)
        yield running
        yield errors

    def _rooms(self) -> Iterator[Metric]:
        rooms = self.runner.rooms
        if rooms is None:
            return
        counts = rooms.counts
        yield _counter("piyasa_addressed_messages", "People's messages addressed to a bot", counts.addressed)
        yield _counter("piyasa_answers_queued", "Answers to addressed messages put in the outbox", counts.answered)
        yield _counter("piyasa_volunteered_answers", "Unaddressed messages a bot chose to answer", counts.volunteered)
        skipped = CounterMetricFamily("piyasa_answers_skipped", "Answers not given, by reason", labels=["reason"])
        for reason, count in sorted(counts.skipped.items()):
            skipped.add_metric([reason], count)
        yield skipped


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class MetricsPortUnavailable(OSError):
    """The metrics port cannot be bound (taken, or not ours to use); the message says which."""


class MetricsServer:
    """GET /metrics and GET /healthz for one runner, on host:port (port 0: any free port)."""

    def __init__(self, runner: Runner, host: str = DEFAULT_HOST, port: int = 0, *,
                 probe_timeout: float = PROBE_TIMEOUT) -> None:
        self.runner = runner
        self.host = host
        self.port = port
        self.probe_timeout = probe_timeout
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = RunnerCollector(runner)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        self._site_runner: web.AppRunner | None = None
        self._probe: asyncio.Task[bool] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        self._site_runner = web.AppRunner(self.build_app(), access_log=None)
        await self._site_runner.setup()
        site = web.TCPSite(self._site_runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self.stop()
            raise MetricsPortUnavailable(
                f"cannot listen on {self.host}:{self.port} for /metrics and /healthz: {error.strerror or error}"
            ) from error
        self.port = self._site_runner.addresses[0][1]
        log.info("metrics.listening", url=self.url)

    async def stop(self) -> None:
        if self._site_runner is not None:
            await self._site_runner.cleanup()
            self._site_runner = None
        if self._probe is not None:
            self._probe.cancel()

    async def database_reachable(self) -> bool:
        """SELECT 1 through the runner's pool within the probe timeout; one probe at a time."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._ping())
        return await asyncio.shield(self._probe)

    async def _ping(self) -> bool:
        pool = self.runner.pool
        if pool is None:
            return False
        try:
            async with asyncio.timeout(self.probe_timeout), pool.acquire() as conn:
                return await ping(conn)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def _metrics(self, request: web.Request) -> web.Response:
        self.collector.database_up = await self.database_reachable()
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encode(self.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, _: web.Request) -> web.Response:
        pollers = self.runner.pollers.values()
        running = sum(1 for p in pollers if p.state is BotState.RUNNING)
        database = await self.database_reachable()
        writer, outbox = self.runner.writer, self.runner.outbox
        healthy = running > 0 and database
        body = {
            "status": "ok" if healthy else "unavailable",
            "bots": {"running": running, "total": len(pollers)},
            "database_reachable": database,
            "writer_backlog": writer.backlog if writer is not None else None,
            "outbox_queued": outbox.backlog if outbox is not None else None,
        }
        return web.json_response(body, status=200 if healthy else 503)
