"""What /metrics reports: the runner's counters and states, read at scrape time.

Nothing on the hot path changes for metrics except the ingest latency
histogram (`metrics.TimedIngest`). Labels carry bot names and error kinds,
never a token nor an error's text.

It reads the runner through `RunnerView`, a Protocol of the runner's read
attributes, and asks the outbox what is held by which limit (`Outbox.holds`):
it imports no runner and reads nobody's private fields.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import asyncpg
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from piyasa_bot.metrics import TimedIngest
from piyasa_bot.polling import BotState
from piyasa_bot.sending.status import ENDINGS

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.fleet.assignment import LeaseKey
    from piyasa_bot.ingest.pipeline import Ingest
    from piyasa_bot.ingest.writer import MessageWriter
    from piyasa_bot.sending.outbox import Outbox

# A bot's polls complete at least every poll_timeout seconds when it is well. Beyond that,
# allow the request's own slack (the runner gives getUpdates poll_timeout + 10 s) and a
# pause between batches of copies (at most 5 s): later than this, the bot has stalled.
STALL_MARGIN = 15.0
# States in which a bot is meant to be polling; disabled and stopped bots are not stalls.
POLLING_STATES = frozenset(BotState) - {BotState.DISABLED, BotState.STOPPED}


class PollerView(Protocol):
    """What the metrics read of one bot's poller (`polling.BotPoller`)."""

    @property
    def state(self) -> BotState: ...
    @property
    def errors(self) -> Mapping[str, int]: ...
    @property
    def poll_timeout(self) -> float: ...
    @property
    def last_polled_at(self) -> float | None: ...  # time.monotonic() of the last completed getUpdates


class RunnerView(Protocol):
    """The runner's read attributes; None where a part is not running (not started, or not configured)."""

    @property
    def pollers(self) -> Mapping[str, PollerView]: ...
    @property
    def writer(self) -> MessageWriter | None: ...
    @property
    def outbox(self) -> Outbox | None: ...
    @property
    def rooms(self) -> ChatRooms | None: ...
    @property
    def ingest(self) -> Ingest | None: ...
    @property
    def pool(self) -> asyncpg.Pool | None: ...
    @property
    def fenced(self) -> bool: ...  # the leases cannot be renewed: nothing polls or sends
    @property
    def fleet(self) -> FleetView | None: ...


class FleetView(Protocol):
    """This runner's place in the fleet, as its last round saw it."""

    @property
    def held(self) -> Mapping[LeaseKey, int]: ...
    @property
    def live(self) -> Sequence[str]: ...


def stalled_bots(pollers: Mapping[str, PollerView], now: float, margin: float = STALL_MARGIN) -> list[str]:
    """Bots meant to be polling whose last completed poll is older than their timeout plus `margin`.

    A bot that has not completed a poll yet is not counted here (it is not
    running either): nothing says how long ago it should have.
    """
    return sorted(
        name
        for name, poller in pollers.items()
        if poller.state in POLLING_STATES
        and poller.last_polled_at is not None
        and now - poller.last_polled_at > poller.poll_timeout + margin
    )


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class RunnerCollector(Collector):
    """Turns the runner's own counters into metric families at scrape time."""

    def __init__(self, view: RunnerView, stall_margin: float = STALL_MARGIN) -> None:
        self.view = view
        self.stall_margin = stall_margin
        self.database_up: bool | None = None  # set by the server before each scrape

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._writer()
        yield from self._outbox()
        yield from self._bots()
        yield from self._rooms()
        yield from self._fleet()
        if self.database_up is not None:
            yield _gauge(
                "piyasa_database_up", "1 when the database answered SELECT 1 at this scrape", int(self.database_up)
            )

    def _fleet(self) -> Iterator[Metric]:
        fleet = self.view.fleet
        if fleet is None:
            return
        yield _gauge("piyasa_fleet_runners_live", "Live runners of the fleet, this one included", len(fleet.live))
        held = GaugeMetricFamily("piyasa_fleet_leases_held", "Leases this runner holds, by kind", labels=["kind"])
        for kind in ("bot", "chat"):
            held.add_metric([kind], sum(1 for key in fleet.held if key.kind == kind))
        yield held

    def _ingest(self) -> Iterator[Metric]:
        ingest = self.view.ingest
        if ingest is None:
            return
        yield _counter(
            "piyasa_updates_received",
            "Updates returned by getUpdates, every bot's copy counted",
            ingest.updates_received,
        )
        yield _counter(
            "piyasa_updates_failed", "Updates whose handling raised (logged as update.failed)", ingest.updates_failed
        )
        recorder = ingest.recorder
        yield _counter(
            "piyasa_messages_stored", "Incoming messages handed to the writer, once each across bots", recorder.stored
        )
        yield _counter(
            "piyasa_update_copies_skipped",
            "Copies of an already-stored message skipped before parsing",
            recorder.skipped_copies,
        )
        if isinstance(ingest, TimedIngest):
            latency = ingest.latency
            family = HistogramMetricFamily(
                "piyasa_ingest_latency_seconds",
                "From a getUpdates batch's arrival to the commit of every row it depends on "
                "(batches with new messages)",
            )
            family.add_metric([], [(_bound(b), c) for b, c in latency.cumulative()], latency.sum)
            yield family

    def _writer(self) -> Iterator[Metric]:
        writer = self.view.writer
        if writer is None:
            return
        yield _counter("piyasa_db_rows_written", "Message rows committed (incoming and sent)", writer.rows_written)
        yield _counter("piyasa_db_write_batches", "Batch inserts committed", writer.batches_written)
        yield _counter("piyasa_db_write_failures", "Batch inserts that failed and were retried", writer.write_failures)
        yield _gauge("piyasa_writer_backlog_rows", "Rows waiting for the writer", writer.backlog)
        yield _gauge(
            "piyasa_writer_backlog_max_rows", "Most rows ever waiting for the writer since start", writer.max_backlog
        )

    def _outbox(self) -> Iterator[Metric]:
        outbox = self.view.outbox
        if outbox is None:
            return
        counts = outbox.counts
        sends = CounterMetricFamily("piyasa_sends", "Outbox messages by how they ended", labels=["result"])
        for status in ENDINGS:
            sends.add_metric([status.value], counts.total(status))
        yield sends
        retries = CounterMetricFamily(
            "piyasa_send_retries", "Send attempts requeued, by why: a 429 or another error", labels=["reason"]
        )
        retries.add_metric(["rate_limited"], counts.rate_limited)
        retries.add_metric(["error"], counts.retried)
        yield retries
        yield _gauge(
            "piyasa_outbox_queued_messages", "Messages queued in the outbox (pending rows in memory)", outbox.backlog
        )
        yield _gauge("piyasa_outbox_queued_max_messages", "Most messages ever queued since start", counts.max_queue)
        holds = outbox.holds()
        held = GaugeMetricFamily(
            "piyasa_outbox_held_by_limit_messages",
            "Queued messages whose time has come, held now by a send limit",
            labels=["limit"],
        )
        held.add_metric(["chat"], holds.chat)
        held.add_metric(["retry_after"], holds.retry_after)
        held.add_metric(["global"], holds.global_bucket)
        yield held

    def _bots(self) -> Iterator[Metric]:
        pollers, now = self.view.pollers, time.monotonic()
        stalled = set(stalled_bots(pollers, now, self.stall_margin))
        states = GaugeMetricFamily("piyasa_bots", "Bots of the roster by polling state", labels=["state"])
        for state in BotState:
            states.add_metric([state.value], sum(1 for p in pollers.values() if p.state is state))
        yield states
        yield _gauge(
            "piyasa_bots_stalled", "Bots meant to be polling whose last poll completed too long ago", len(stalled)
        )
        running = GaugeMetricFamily(
            "piyasa_bot_running",
            "1 while the bot's last getUpdates succeeded, within its timeout plus a margin",
            labels=["bot"],
        )
        since = GaugeMetricFamily(
            "piyasa_bot_seconds_since_poll", "Seconds since the bot's last completed getUpdates", labels=["bot"]
        )
        errors = CounterMetricFamily(
            "piyasa_poll_errors", "Failed Bot API calls of a bot's poll loop, by kind", labels=["bot", "kind"]
        )
        for name, poller in sorted(pollers.items()):
            running.add_metric([name], int(poller.state is BotState.RUNNING and name not in stalled))
            if poller.last_polled_at is not None:
                since.add_metric([name], now - poller.last_polled_at)
            for kind, count in sorted(poller.errors.items()):
                errors.add_metric([name, kind], count)
        yield running
        yield since
        yield errors

    def _rooms(self) -> Iterator[Metric]:
        rooms = self.view.rooms
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
        reactions = rooms.reactions.counts
        yield _counter("piyasa_reactions_sent", "Emoji reactions the bots set on people's messages", reactions.sent)
        passed = CounterMetricFamily("piyasa_reactions_skipped", "Reactions considered and not set", labels=["reason"])
        for reason, count in sorted(reactions.skipped.items()):
            passed.add_metric([reason], count)
        yield passed


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
