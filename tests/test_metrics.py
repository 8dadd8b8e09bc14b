"""/metrics and /healthz as Prometheus and a load balancer see them: counters that move, no secrets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from piyasa_bot.http_site import PortUnavailable
from piyasa_bot.metrics import LatencyHistogram
from piyasa_bot.metrics_server import MetricsServer
from piyasa_bot.polling import BotState
from piyasa_bot.sandbox import FaultPlan
from piyasa_bot.sending.outbox import Outgoing, Priority
from piyasa_bot.sending.status import LimitHolds
from tests.helpers import make_runner, make_world


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def scrape(http: aiohttp.ClientSession, server: MetricsServer) -> tuple[str, str, dict[tuple, float]]:
    async with http.get(f"{server.url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
        content_type = response.headers["Content-Type"]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, content_type, samples


async def health(http: aiohttp.ClientSession, server: MetricsServer) -> tuple[int, str, dict[str, Any]]:
    async with http.get(f"{server.url}/healthz") as response:
        text = await response.text()
        return response.status, text, await response.json()


@pytest.mark.slow
async def test_metrics_count_what_the_runner_did_and_health_is_ok(dsn: str, http: aiohttp.ClientSession) -> None:
    world = await make_world(3)
    posted = 10
    try:
        async with make_runner(world, dsn) as runner:
            server = MetricsServer(runner, "127.0.0.1", 0)
            await server.start()
            try:
                await runner.wait_polling()
                for i in range(posted):
                    world.emulator.post(world.chat_id, user_id=800 + i, text=f"dolar {i}")
                await world.emulator.wait_confirmed(timeout=20)
                await runner.outbox.put(
                    Outgoing(bot="bot001", chat_id=world.chat_id, text="cevap", priority=Priority.ANSWER)
                )
                await runner.outbox.drain_until_idle(timeout=20)
                text, content_type, samples = await scrape(http, server)
                status, health_text, body = await health(http, server)
            finally:
                await server.stop()
    finally:
        await world.emulator.stop()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert samples["piyasa_updates_received_total", ()] == 3 * posted  # each of the 3 bots got its own copy
    assert samples["piyasa_messages_stored_total", ()] == posted
    assert samples["piyasa_update_copies_skipped_total", ()] == samples["piyasa_updates_received_total", ()] - posted
    assert samples["piyasa_ingest_latency_seconds_count", ()] > 0
    assert (
        samples["piyasa_ingest_latency_seconds_bucket", (("le", "+Inf"),)]
        == samples["piyasa_ingest_latency_seconds_count", ()]
    )
    assert samples["piyasa_sends_total", (("result", "sent"),)] == 1
    assert samples["piyasa_sends_total", (("result", "failed"),)] == 0
    assert samples["piyasa_db_rows_written_total", ()] == posted + 1
    assert samples["piyasa_writer_backlog_rows", ()] == 0
    assert samples["piyasa_outbox_queued_messages", ()] == 0
    assert samples["piyasa_bots", (("state", "running"),)] == 3
    assert samples["piyasa_bot_running", (("bot", "bot002"),)] == 1
    assert samples["piyasa_database_up", ()] == 1
    # Alone on its database, the runner holds every bot's and the chat's lease.
    assert samples["piyasa_fleet_leases_held", (("kind", "bot"),)] == 3
    assert samples["piyasa_fleet_leases_held", (("kind", "chat"),)] == 1
    assert samples["piyasa_fleet_runners_live", ()] == 1
    assert "process_resident_memory_bytes" in text
    assert status == 200
    assert body == {
        "status": "ok",
        "fenced": False,
        "bots": {"running": 3, "total": 3, "stalled": []},
        "database_reachable": True,
        "writer_backlog": 0,
        "outbox_queued": 0,
    }
    for output in (text, health_text):
        assert not any(token in output for token in world.env.values())


@pytest.mark.slow
async def test_a_revoked_bot_counts_its_poll_error_and_health_is_503_when_none_runs(
    dsn: str, http: aiohttp.ClientSession
) -> None:
    world = await make_world(1)
    world.emulator.revoke("bot000")
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            server = MetricsServer(runner, "127.0.0.1", 0)
            await server.start()
            try:
                text, _, samples = await scrape(http, server)
                status, health_text, body = await health(http, server)
            finally:
                await server.stop()
    finally:
        await world.emulator.stop()
    assert samples["piyasa_poll_errors_total", (("bot", "bot000"), ("kind", "unauthorized"))] == 1
    assert samples["piyasa_bots", (("state", "disabled"),)] == 1
    assert status == 503
    assert body["bots"] == {"running": 0, "total": 1, "stalled": []} and body["database_reachable"] is True
    for output in (text, health_text):
        assert not any(token in output for token in world.env.values())


async def test_health_is_503_when_the_database_is_unreachable(dsn: str, http: aiohttp.ClientSession) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    await pool.close()
    running = SimpleNamespace(state=BotState.RUNNING, errors={}, poll_timeout=25, last_polled_at=time.monotonic())
    runner = view(pool=pool, pollers={"ayse": running})
    server = MetricsServer(runner, "127.0.0.1", 0, probe_timeout=1.0)
    await server.start()
    try:
        status, _, body = await health(http, server)
        _, _, samples = await scrape(http, server)
    finally:
        await server.stop()
    assert status == 503
    assert body["bots"] == {"running": 1, "total": 1, "stalled": []} and body["database_reachable"] is False
    assert samples["piyasa_database_up", ()] == 0
    assert samples["piyasa_bot_running", (("bot", "ayse"),)] == 1


async def test_a_runner_not_started_yet_renders_metrics_and_is_unhealthy(http: aiohttp.ClientSession) -> None:
    runner: Any = SimpleNamespace(
        pool=None, pollers={}, ingest=None, writer=None, outbox=None, rooms=None, fenced=False, fleet=None
    )
    server = MetricsServer(runner, "127.0.0.1", 0)
    await server.start()
    try:
        status, _, body = await health(http, server)
        _, _, samples = await scrape(http, server)
    finally:
        await server.stop()
    assert status == 503 and body["bots"] == {"running": 0, "total": 0, "stalled": []}
    assert samples["piyasa_bots", (("state", "running"),)] == 0


def test_latency_histogram_counts_a_value_on_a_bound_in_that_bucket() -> None:
    histogram = LatencyHistogram((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [(0.1, 2), (1.0, 3), (float("inf"), 4)]
    assert (histogram.count, round(histogram.sum, 2)) == (4, 3.65)


async def test_ingest_latency_waits_for_every_commit_of_the_batch() -> None:
    from piyasa_bot.metrics import _on_all_done

    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    calls: list[str] = []
    _on_all_done({first, second}, lambda: calls.append("observed"))
    first.set_result(None)
    await asyncio.sleep(0)
    assert calls == []
    second.set_result(None)
    await asyncio.sleep(0)
    assert calls == ["observed"]


@pytest.mark.slow
async def test_the_runner_serves_metrics_only_when_given_a_port(dsn: str, http: aiohttp.ClientSession) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn) as runner:
            assert runner.metrics is None
        async with make_runner(world, dsn, metrics_port=0) as runner:
            await runner.wait_polling()
            world.emulator.post(world.chat_id, user_id=900, text="altın")
            await world.emulator.wait_confirmed(timeout=20)
            _, _, samples = await scrape(http, runner.metrics)
            url = runner.metrics.url
        assert samples["piyasa_messages_stored_total", ()] == 1
        assert samples["piyasa_ingest_latency_seconds_count", ()] >= 1
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{url}/healthz")
    finally:
        await world.emulator.stop()


async def test_a_taken_port_is_reported_clearly(http: aiohttp.ClientSession) -> None:
    runner: Any = SimpleNamespace(
        pool=None, pollers={}, ingest=None, writer=None, outbox=None, rooms=None, fenced=False, fleet=None
    )
    first = MetricsServer(runner, "127.0.0.1", 0)
    await first.start()
    try:
        with pytest.raises(PortUnavailable, match=f"cannot listen on 127.0.0.1:{first.port}"):
            await MetricsServer(runner, "127.0.0.1", first.port).start()
    finally:
        await first.stop()


def view(**parts: Any) -> Any:
    """What /metrics and /healthz read of a runner: nothing running unless given."""
    nothing: dict[str, Any] = {"pool": None, "pollers": {}, "ingest": None, "writer": None, "outbox": None}
    return SimpleNamespace(**{**nothing, "rooms": None, "fenced": False, "fleet": None, **parts})


def poller(state: BotState, *, polled_ago: float | None, poll_timeout: float = 5) -> SimpleNamespace:
    last = None if polled_ago is None else time.monotonic() - polled_ago
    return SimpleNamespace(state=state, errors={}, poll_timeout=poll_timeout, last_polled_at=last)


async def test_a_bot_whose_polls_stopped_completing_is_reported_stalled_and_not_running(
    dsn: str, http: aiohttp.ClientSession
) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    pollers = {
        "fresh": poller(BotState.RUNNING, polled_ago=1),
        "hung": poller(BotState.RUNNING, polled_ago=5 + 16),  # says running: its loop died after a poll
        "retrying": poller(BotState.RETRYING, polled_ago=60),
        "starting": poller(BotState.STARTING, polled_ago=None),  # no poll completed yet: not a stall
        "revoked": poller(BotState.DISABLED, polled_ago=600),  # not meant to poll
    }
    runner: Any = SimpleNamespace(
        pool=pool, pollers=pollers, ingest=None, writer=None, outbox=None, rooms=None, fenced=False, fleet=None
    )
    server = MetricsServer(runner, "127.0.0.1", 0)
    await server.start()
    try:
        status, _, body = await health(http, server)
        _, _, samples = await scrape(http, server)
    finally:
        await server.stop()
        await pool.close()
    assert status == 200  # one bot still polls: the runner serves, and says which bots do not
    assert body["bots"] == {"running": 1, "total": 5, "stalled": ["hung", "retrying"]}
    assert samples["piyasa_bots_stalled", ()] == 2
    assert samples["piyasa_bot_running", (("bot", "hung"),)] == 0
    assert samples["piyasa_bot_running", (("bot", "fresh"),)] == 1
    assert samples["piyasa_bot_seconds_since_poll", (("bot", "hung"),)] >= 21
    assert ("piyasa_bot_seconds_since_poll", (("bot", "starting"),)) not in samples


@pytest.mark.slow
async def test_health_turns_503_while_every_bot_stalls_and_ok_once_polls_complete_again(
    dsn: str, http: aiohttp.ClientSession
) -> None:
    world = await make_world(2)

    async def health_until(wanted: int, timeout: float = 20) -> dict[str, Any]:
        # Stalling is a matter of elapsed time: look again until it shows, within a bound.
        async with asyncio.timeout(timeout):
            while True:
                status, _, body = await health(http, server)
                if status == wanted:
                    return body
                await asyncio.sleep(0.2)

    try:
        async with make_runner(world, dsn, poll_timeout=1) as runner:
            server = MetricsServer(runner, "127.0.0.1", 0, stall_margin=0.5)
            await server.start()
            try:
                await runner.wait_polling()
                healthy = await health_until(200)
                world.emulator.faults.slow_ms = 4000  # every getUpdates now takes 4 s more than its timeout
                stalled = await health_until(503)
                world.emulator.faults.slow_ms = 0
                recovered = await health_until(200)
            finally:
                await server.stop()
    finally:
        await world.emulator.stop()
    assert healthy["bots"] == {"running": 2, "total": 2, "stalled": []}
    assert stalled["bots"] == {"running": 0, "total": 2, "stalled": ["bot000", "bot001"]}
    assert recovered["bots"]["stalled"] == []


async def test_a_bot_paused_by_a_429_is_shown_held_by_retry_after(dsn: str, http: aiohttp.ClientSession) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            server = MetricsServer(runner, "127.0.0.1", 0)
            await server.start()
            try:
                await runner.wait_polling()
                world.emulator.faults = FaultPlan(rate_429=1.0, retry_after=30)
                outbox = runner.outbox
                await outbox.put(Outgoing(bot="bot000", chat_id=world.chat_id, text="bekle", priority=Priority.ANSWER))
                await outbox.wait_until(lambda: outbox.counts.rate_limited >= 1, timeout=10)
                holds = outbox.holds()
                _, _, samples = await scrape(http, server)
            finally:
                await server.stop()
    finally:
        await world.emulator.stop()
    assert holds == LimitHolds(chat=0, retry_after=1, global_bucket=0)
    assert samples["piyasa_outbox_held_by_limit_messages", (("limit", "retry_after"),)] == 1
    assert samples["piyasa_outbox_held_by_limit_messages", (("limit", "chat"),)] == 0
    assert samples["piyasa_send_retries_total", (("reason", "rate_limited"),)] == 1
    assert samples["piyasa_outbox_queued_messages", ()] == 1
