"""The send step over real HTTP: each way a sendMessage can end, and whether trying again is safe."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage
from aiohttp import web

from piyasa_bot.bots import BotHandle
from piyasa_bot.roster import Limits
from piyasa_bot.sandbox import Emulator
from piyasa_bot.sending.limits import SendLimits
from piyasa_bot.sending.outcomes import SendOutcome, classify
from piyasa_bot.sending.outgoing import Outgoing, Priority
from piyasa_bot.sending.send import send_once
from piyasa_bot.telegram import make_bot, shared_session

CHAT = -1001000000001


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator()
    emu.add_bot(name="ayse", username="ayse_bot")
    emu.add_chat(chat_id=CHAT, title="Test", members=["ayse"])
    await emu.start()
    yield emu
    await emu.stop()


async def attempt(base_url: str, token: str, text: str = "merhaba"):
    session = shared_session(base_url, 1)
    try:
        handle = BotHandle(name="ayse", db_id=1, bot=make_bot(token, session))
        item = Outgoing(bot="ayse", chat_id=CHAT, text=text, priority=Priority.ANSWER)
        return await send_once(handle, item, SendLimits(Limits()))
    finally:
        await session.close()


def token_of(emu: Emulator) -> str:
    return emu.bots()[0].token


async def test_a_message_telegram_accepts_is_sent_with_its_copy(emulator: Emulator) -> None:
    result = await attempt(emulator.base_url, token_of(emulator))
    assert result.outcome is SendOutcome.SENT
    assert result.message is not None and result.message.text == "merhaba"


async def test_a_refused_connection_sent_nothing_so_it_is_retried(emulator: Emulator) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await attempt(f"http://127.0.0.1:{port}", token_of(emulator))
    assert result.outcome is SendOutcome.RETRY
    assert result.reason.startswith("network: ClientConnectorError")


async def test_a_server_error_answer_is_retried(emulator: Emulator) -> None:
    emulator.faults.rate_5xx = 1.0
    result = await attempt(emulator.base_url, token_of(emulator))
    assert (result.outcome, result.kind) == (SendOutcome.RETRY, "server_error")
    assert emulator.sent() == []


async def test_a_429_is_rate_limited_with_its_retry_after(emulator: Emulator) -> None:
    emulator.faults.rate_429, emulator.faults.retry_after = 1.0, 7
    result = await attempt(emulator.base_url, token_of(emulator))
    assert (result.outcome, result.retry_after) == (SendOutcome.RATE_LIMITED, 7.0)


async def test_a_message_telegram_refuses_fails_for_good(emulator: Emulator) -> None:
    result = await attempt(emulator.base_url, token_of(emulator), text="x" * 5000)
    assert result.outcome is SendOutcome.FAILED and "too long" in result.reason


async def test_an_unreadable_answer_leaves_the_outcome_unknown(emulator: Emulator) -> None:
    async def proxy_error_page(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", proxy_error_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        result = await attempt(f"http://{host}:{port}", token_of(emulator))
    finally:
        await runner.cleanup()
    # The page may stand for a proxy that forwarded the message: not safe to send again.
    assert result.outcome is SendOutcome.UNKNOWN
    assert token_of(emulator) not in result.reason


@pytest.mark.parametrize(
    ("message", "safe"),
    [
        ("ClientConnectorDNSError: Cannot connect to host api.telegram.org:443", True),
        ("ConnectionTimeoutError: Connection timeout to host https://api.telegram.org", True),
        ("ServerDisconnectedError: Server disconnected", False),
        ("ClientOSError: [Errno 104] Connection reset by peer", False),
        ("ClientPayloadError: Response payload is not completed", False),
        ("Request timeout error", False),
    ],
)
def test_a_network_error_without_its_cause_is_judged_by_aiogram_s_message(message: str, safe: bool) -> None:
    error = TelegramNetworkError(method=SendMessage(chat_id=CHAT, text="x"), message=message)
    assert classify(error).outcome is (SendOutcome.RETRY if safe else SendOutcome.UNKNOWN)
