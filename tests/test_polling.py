"""One bot's poll loop under a Bot API that misbehaves: it is seen, counted, bounded, and it goes on polling."""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import pytest
from aiohttp import web

from piyasa_bot.backoff import Backoff, BackoffPolicy
from piyasa_bot.bots import BotHandle
from piyasa_bot.ingest.pipeline import Batch
from piyasa_bot.polling import FAULT_BACKOFF, BotPoller, BotState
from piyasa_bot.polling_shared import IdentityGate, Recovery
from piyasa_bot.sandbox import Emulator
from piyasa_bot.telegram import TLS_READ_BUFFER, make_bot, shared_session
from tests.tls import self_signed_certificate

TOKEN = "7000000001:" + "A" * 35
ME = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Ayşe",
    "username": "ayse_bot",
    "can_read_all_group_messages": True,
}
Answer = Callable[[dict[str, Any]], Awaitable[web.Response]]


def answer(make: Callable[[], web.Response]) -> Answer:
    """One scripted answer: `make()` builds the response when the call comes."""

    async def respond(_: dict[str, Any]) -> web.Response:
        return make()

    return respond


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def failure(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def message_update(update_id: int, text: str = "merhaba") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "text": text,
            "chat": {"id": -1001000000001, "type": "supergroup"},
            "from": {"id": 5, "is_bot": False, "first_name": "Can"},
        },
    }


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class ScriptedApi:
    """A Bot API of our own on 127.0.0.1: each method answers from its script, then from `default`."""

    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    base_url: str = ""

    def script(self, method: str, *answers: Answer) -> None:
        self.scripts.setdefault(method, []).extend(answers)

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = dict(await request.post()) if request.can_read_body else {}
        self.calls.append(Call(method, params, time.monotonic()))
        script = self.scripts.get(method)
        if script:
            return await script.pop(0)(params)
        if method == "getMe":
            return ok(ME)
        if method == "getUpdates":  # an empty long poll, short
            await asyncio.sleep(min(float(str(params.get("timeout", 0))), 0.2))
            return ok([])
        return ok(True)


@pytest.fixture
async def api() -> AsyncIterator[ScriptedApi]:
    scripted = ScriptedApi()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", scripted.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    scripted.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield scripted
    await runner.cleanup()


class Collected:
    """Stands in for the ingest: keeps each batch, commits at once."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    async def process(self, handle: BotHandle, updates: list[dict[str, Any]]) -> Batch:
        self.batches.append(updates)
        return Batch()


@dataclass
class Polling:
    poller: BotPoller
    ingest: Collected
    states: list[BotState]
    task: asyncio.Task[None]


@pytest.fixture
async def start() -> AsyncIterator[Callable[..., Awaitable[Polling]]]:
    started: list[tuple[Polling, Any]] = []

    async def start_polling(base_url: str, token: str = TOKEN, name: str = "ayse", **options: Any) -> Polling:
        session = shared_session(base_url, 2)
        handle = BotHandle(name=name, db_id=1, bot=make_bot(token, session))
        ingest, states = Collected(), []
        options.setdefault("poll_timeout", 1)
        poller = BotPoller(handle, ingest, lambda _, state, __: states.append(state), **options)  # type: ignore[arg-type]
        polling = Polling(poller, ingest, states, asyncio.create_task(poller.run()))
        started.append((polling, session))
        return polling

    yield start_polling
    for polling, session in started:
        polling.task.cancel()
        await asyncio.gather(polling.task, return_exceptions=True)
        await session.close()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_body_cut_mid_character_is_counted_and_polling_goes_on(api: ScriptedApi, start) -> None:
    whole = json.dumps({"ok": True, "result": [message_update(1, "güzel")]}, ensure_ascii=False).encode()
    cut = whole[: whole.index("ü".encode()) + 1]  # half of a two-byte character
    api.script(
        "getUpdates",
        answer(lambda: web.Response(body=cut, content_type="application/json")),
        answer(lambda: ok([message_update(2)])),
    )
    polling = await start(api.base_url)
    await until(lambda: polling.ingest.batches and polling.poller.offset == 3)
    assert polling.poller.errors == {"bad_response": 1}
    assert [u["update_id"] for batch in polling.ingest.batches for u in batch] == [2]
    assert polling.poller.state is BotState.RUNNING and not polling.task.done()
    assert polling.poller.last_polled_at is not None


async def test_an_update_without_update_id_is_still_handled_counted_and_the_rest_confirmed(
    api: ScriptedApi, start
) -> None:
    broken = message_update(0)
    del broken["update_id"]
    api.script("getUpdates", answer(lambda: ok([message_update(41), broken, message_update(42)])))
    polling = await start(api.base_url)
    await until(lambda: len(api.of("getUpdates")) >= 2)
    # Handed on whole, so that the message in the broken one can be stored from its raw dict.
    assert [u.get("update_id") for u in polling.ingest.batches[0]] == [41, None, 42]
    assert api.of("getUpdates")[1].params["offset"] == "43"
    assert polling.poller.errors == {"malformed_update": 1}


def test_backoff_grows_and_stays_within_its_bounds() -> None:
    policy = BackoffPolicy(min_delay=0.2, max_delay=5.0, factor=3.0, jitter=0.99)
    delays = [next(Backoff(policy)) for _ in range(2000)]  # the first delay of many runs
    backoff = Backoff(policy)
    long_run = [next(backoff) for _ in range(2000)]  # one outage that never ends
    assert all(0.2 <= delay <= 5.0 for delay in delays + long_run)
    assert max(long_run[-100:]) == 5.0 and statistics.median(long_run[-100:]) >= 2.5  # grown to the cap
    assert min(delays) == 0.2 and statistics.median(delays) < 0.5


async def test_a_failing_api_is_retried_at_a_bounded_pace_and_an_early_wake_is_used_once(
    api: ScriptedApi, start
) -> None:
    api.script("getUpdates", *[answer(lambda: failure(502, "Bad Gateway"))] * 100)
    recovery = Recovery(spread=0.05)
    polling = await start(api.base_url, recovery=recovery)
    stop_at = time.monotonic() + 3.0
    while time.monotonic() < stop_at:  # another bot answering every 0.1 s all along
        recovery.answered()
        await asyncio.sleep(0.1)
    failed = len(api.of("getUpdates"))
    # 0.5, 1, 2 s (±20 %) plus one early wake: never a tight loop (once 823 polls in 6 s).
    assert 2 <= failed <= 5, failed
    assert polling.poller.errors == {"server_error": failed}
    assert polling.poller.state is BotState.RETRYING
    assert FAULT_BACKOFF.max_delay <= 10


async def test_after_an_outage_a_backing_off_bot_resumes_once_another_bot_is_answered(api: ScriptedApi, start) -> None:
    api.script("getUpdates", *[answer(lambda: failure(502, "Bad Gateway"))] * 3)  # 0.5 + 1, then ~2 s
    recovery = Recovery(spread=0.05)
    polling = await start(api.base_url, recovery=recovery)
    await until(lambda: len(api.of("getUpdates")) == 3)
    third_failure = api.of("getUpdates")[2].at
    await asyncio.sleep(0.3)
    recovery.answered()  # as another bot's poller does when its getUpdates succeeds again
    await until(lambda: polling.poller.state is BotState.RUNNING)
    assert api.of("getUpdates")[3].at - third_failure < 1.0  # not the ~2 s (1.6 at the least) of its backoff


async def test_retry_after_is_obeyed_up_to_its_cap(api: ScriptedApi, start, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("piyasa_bot.polling.MAX_RETRY_AFTER", 0.3)
    api.script("getUpdates", answer(lambda: failure(429, "Too Many Requests: retry after 120", retry_after=120)))
    polling = await start(api.base_url)
    await until(lambda: len(api.of("getUpdates")) >= 2)
    first, second = api.of("getUpdates")[:2]
    assert 0.3 <= second.at - first.at < 1.0
    assert polling.poller.errors == {"retry_after": 1}


async def test_a_rejected_token_is_checked_again_on_request_and_on_its_schedule(api: ScriptedApi, start) -> None:
    unauthorized = [answer(lambda: failure(401, "Unauthorized"))]
    api.script("getMe", *unauthorized * 2)  # at start, and at the first recheck
    polling = await start(api.base_url, disabled_recheck=60.0)
    await until(lambda: polling.poller.state is BotState.DISABLED)
    assert polling.poller.settled.is_set() and not polling.poller.identified.is_set()
    assert polling.poller.recheck()  # e.g. on reload: getMe again now → 401 again
    await until(lambda: len(api.of("getMe")) == 2 and polling.poller.state is BotState.DISABLED)
    assert polling.poller.recheck()  # the token is good again
    await until(lambda: polling.poller.state is BotState.RUNNING)
    assert polling.poller.identified.is_set() and polling.poller.errors == {"unauthorized": 2}

    api.script("getMe", *unauthorized)
    on_schedule = await start(api.base_url, name="ali", disabled_recheck=0.2)
    await until(lambda: on_schedule.poller.state is BotState.RUNNING)
    assert on_schedule.states[:2] == [BotState.DISABLED, BotState.RUNNING]


async def test_without_a_recheck_schedule_a_rejected_token_ends_the_loop(api: ScriptedApi, start) -> None:
    api.script("getMe", answer(lambda: failure(401, "Unauthorized")))
    polling = await start(api.base_url)
    await asyncio.wait_for(polling.task, 5)
    assert polling.poller.state is BotState.DISABLED and polling.poller.settled.is_set()


async def test_a_webhook_in_the_way_is_deleted_once_and_polling_starts(api: ScriptedApi, start) -> None:
    conflict = (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    )
    api.script("getUpdates", answer(lambda: failure(409, conflict)), answer(lambda: ok([message_update(9)])))
    polling = await start(api.base_url)
    await until(lambda: polling.poller.offset == 10)
    assert [call.method for call in api.calls[:4]] == ["getMe", "getUpdates", "deleteWebhook", "getUpdates"]
    assert api.of("deleteWebhook")[0].params.get("drop_pending_updates") != "true"  # pending updates are kept
    assert polling.poller.state is BotState.RUNNING


async def test_over_tls_a_batch_larger_than_the_read_buffer_arrives_whole(
    tmp_path: Path, start, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setattr(certifi, "where", lambda: str(cert))  # trust our certificate as Telegram's is trusted
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    emulator = Emulator()
    token = emulator.add_bot("ayse", "ayse_bot", privacy=False).token
    emulator.add_chat(-1001000000001, "Test", "supergroup", ["ayse"])
    base_url = await emulator.start(ssl_context=context)
    try:
        text = "Dolar/TL güne yükselişle başladı, altın sakin. " * 80  # ~4 KB each, 20 of them: 5× the buffer
        for user in range(20):
            emulator.post(-1001000000001, user_id=100 + user, text=text)
        polling = await start(base_url, token=token)
        await until(lambda: sum(map(len, polling.ingest.batches)) == 20)
        assert all(u["message"]["text"] == text for batch in polling.ingest.batches for u in batch)
        assert asyncio.sslproto.SSLProtocol.max_size == TLS_READ_BUFFER
        assert base_url.startswith("https://") and polling.poller.errors == {}
    finally:
        await emulator.stop()


async def test_no_bot_polls_before_every_bot_it_may_hear_about_is_identified(api: ScriptedApi, start) -> None:
    async def slow_me(_: dict[str, Any]) -> web.Response:
        await asyncio.sleep(0.4)  # getMe over the internet, slower for one bot
        return ok({**ME, "id": 7000000002, "username": "ali_bot"})

    api.script("getMe", answer(lambda: ok(ME)), slow_me)
    gate = IdentityGate()
    for name in ("ayse", "ali"):
        await start(api.base_url, name=name, gate=gate)
    await until(lambda: len(api.of("getUpdates")) >= 2)
    slow_answered = api.of("getMe")[1].at + 0.4
    assert min(call.at for call in api.of("getUpdates")) >= slow_answered - 0.05
