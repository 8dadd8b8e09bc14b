"""The Bot API emulator behaves like Telegram for what the runner relies on."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from dataclasses import asdict
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError, TelegramRetryAfter

from piyasa_bot.sandbox import Crowd, CrowdSpec, Emulator, EmulatorLimits, FaultPlan, SandboxBot
from piyasa_bot.sandbox.limits import SlidingWindow
from piyasa_bot.sandbox.messages import mention_entities
from piyasa_bot.sandbox.models import ApiError

CHAT = -1001234567890
BASIC = -4001
TEST_SPEED = EmulatorLimits(per_bot_per_second=1_000, per_bot_per_chat_per_minute=1_000,
                            total_per_second=1_000, per_chat_per_minute=1_000)  # fmt: skip


@pytest.fixture
async def emu():
    emulator = Emulator(seed=1)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def roster(emu: Emulator) -> dict[str, SandboxBot]:
    bots = {
        "ayse": emu.add_bot("ayse", "ayse_piyasa_bot", privacy=True),
        "mert": emu.add_bot("mert", "mert_piyasa_bot", privacy=True),
        "deniz": emu.add_bot("deniz", "deniz_piyasa_bot", privacy=False),
    }
    emu.add_chat(CHAT, "Piyasa", "supergroup", members=list(bots))
    return bots


async def call(http: aiohttp.ClientSession, emu: Emulator, bot: SandboxBot | str, method: str, **params: Any):
    token = bot if isinstance(bot, str) else bot.token
    async with http.post(f"{emu.base_url}/bot{token}/{method}", json=params) as response:
        body = await response.json()
        assert body["ok"] == (response.status == 200)
        return response.status, body


async def updates(http, emu, bot, **params) -> list[dict[str, Any]]:
    status, body = await call(http, emu, bot, "getUpdates", **params)
    assert status == 200, body
    return body["result"]


async def test_aiogram_bot_talks_to_the_emulator(emu: Emulator, roster):
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    bot = Bot(roster["ayse"].token, session=session)
    try:
        me = await bot.get_me()
        assert (me.id, me.username, me.is_bot) == (roster["ayse"].id, "ayse_piyasa_bot", True)
        assert me.can_read_all_group_messages is False
        assert await bot.delete_webhook() is True
        assert await bot.send_chat_action(CHAT, "typing") is True
        posted = emu.post(CHAT, 501, "@ayse_piyasa_bot BIST bugün nasıl?", "Mehmet")
        [update] = await bot.get_updates(timeout=1)
        assert update.message.text == posted.text
        assert update.message.entities[0].type == "mention"
        answer = await bot.send_message(CHAT, "Bence yukarı 📈", reply_to_message_id=update.message.message_id)
        assert answer.reply_to_message.message_id == posted.message_id
        assert emu.sent(CHAT)[0].reply_to_message_id == posted.message_id
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []
        assert emu.pending("ayse") == 0
    finally:
        await bot.session.close()


async def test_aiogram_raises_retry_after_on_a_429():
    emu = Emulator(faults=FaultPlan(rate_429=1.0, retry_after=7))
    token = emu.add_bot("ayse").token
    emu.add_chat(CHAT, members=["ayse"])
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(await emu.start())))
    try:
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(CHAT, "Selam")
        assert caught.value.retry_after == 7
        assert emu.sent() == [] and emu.stats()["rate_limited"] == {"injected": 1, "enforced": 0}
    finally:
        await bot.session.close()
        await emu.stop()


async def test_long_poll_answers_as_soon_as_a_person_posts(emu, roster, http):
    started = time.monotonic()
    poll = asyncio.create_task(updates(http, emu, roster["deniz"], timeout=10))
    await emu.wait_polling("deniz")
    emu.post(CHAT, 501, "Dolar ne olur?")
    [update] = await poll
    assert update["message"]["text"] == "Dolar ne olur?"
    assert time.monotonic() - started < 2


async def test_empty_long_poll_returns_nothing_at_timeout(emu, roster, http):
    started = time.monotonic()
    assert await updates(http, emu, roster["ayse"], timeout=0.3) == []
    assert time.monotonic() - started >= 0.25


async def test_offset_confirms_earlier_updates_only(emu, roster, http):
    for n in range(3):
        emu.post(CHAT, 501, f"mesaj {n}")
    first = await updates(http, emu, roster["deniz"])
    ids = [u["update_id"] for u in first]
    assert ids == sorted(ids) and len(ids) == 3 and ids[1] == ids[0] + 1
    again = await updates(http, emu, roster["deniz"], offset=ids[1], limit=1)
    assert [u["update_id"] for u in again] == [ids[1]]
    assert emu.pending("deniz") == 2
    assert await updates(http, emu, roster["deniz"], offset=ids[2] + 1) == []
    assert emu.pending("deniz") == 0


async def test_supergroup_copies_share_the_chat_message_id(emu, roster, http):
    posted = emu.post(CHAT, 501, "@ayse_piyasa_bot @mert_piyasa_bot altın?")
    assert sorted(posted.recipients) == ["ayse", "deniz", "mert"]
    seen = [(await updates(http, emu, roster[name]))[0] for name in posted.recipients]
    assert {u["message"]["message_id"] for u in seen} == {posted.message_id}
    assert len({u["update_id"] for u in seen}) == 3  # each bot numbers its own updates


async def test_basic_group_copies_carry_different_ids_per_bot(emu, roster, http):
    emu.add_chat(BASIC, "Eski grup", "group", members=["ayse", "mert", "deniz"])
    posted = emu.post(BASIC, 501, "/fiyat")
    assert len(set(posted.copies.values())) == 3
    for name in posted.recipients:
        [update] = await updates(http, emu, roster[name])
        assert update["message"]["message_id"] == posted.copies[name]
        assert update["message"]["chat"] == {"id": BASIC, "type": "group", "title": "Eski grup"}


async def test_privacy_mode_lets_through_only_what_is_for_the_bot(emu, roster):
    def recipients(text: str, **kwargs) -> list[str]:
        return sorted(emu.post(CHAT, 501, text, **kwargs).recipients)

    assert recipients("Piyasa bugün sakin") == ["deniz"]
    assert recipients("@ayse_piyasa_bot ne dersin?") == ["ayse", "deniz"]
    assert recipients("/fiyat") == ["ayse", "deniz", "mert"]
    assert recipients("/fiyat@mert_piyasa_bot") == ["deniz", "mert"]
    text_mention = [{"type": "text_mention", "offset": 0, "length": 4, "user": {"id": roster["mert"].id}}]
    assert recipients("Mert ne dersin?", entities=text_mention) == ["deniz", "mert"]
    # A reply to a bot's own message reaches it without a mention.
    sent = emu.send_message(emu.bot_for_token(roster["ayse"].token), {"chat_id": CHAT, "text": "Altın yükselir"})
    assert recipients("Neden?", reply_to_message_id=sent["message_id"]) == ["ayse", "deniz"]


async def test_bots_never_receive_messages_from_bots(emu, roster, http):
    status, _ = await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="@deniz_piyasa_bot selam")
    assert status == 200
    assert await updates(http, emu, roster["deniz"]) == []
    assert emu.pending("deniz") == 0


async def test_reply_to_a_bot_message_includes_the_replied_message(emu, roster, http):
    _, sent = await call(http, emu, roster["mert"], "sendMessage", chat_id=CHAT, text="USDTRY 40 olur")
    posted = emu.post(CHAT, 502, "Katılmıyorum", "Zeynep", reply_to_message_id=sent["result"]["message_id"])
    assert "mert" in posted.recipients
    [update] = await updates(http, emu, roster["mert"])
    replied = update["message"]["reply_to_message"]
    assert replied["message_id"] == sent["result"]["message_id"]
    assert replied["from"] == {"id": roster["mert"].id, "is_bot": True, "first_name": "mert",
                               "username": "mert_piyasa_bot"}  # fmt: skip
    assert update["message"]["from"]["first_name"] == "Zeynep"


async def test_send_message_rejects_what_telegram_rejects(emu, roster, http):
    emu.add_chat(BASIC, "Yabancı", "group", members=[])
    cases = [
        ({"chat_id": -999, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": BASIC, "text": "x"}, 403, "Forbidden: bot is not a member of the group chat"),
        ({"chat_id": CHAT, "text": "  "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": CHAT, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        (
            {"chat_id": CHAT, "text": "x", "reply_to_message_id": 999},
            400,
            "Bad Request: message to be replied not found",
        ),
    ]
    for params, status, description in cases:
        got_status, body = await call(http, emu, roster["ayse"], "sendMessage", **params)
        assert (got_status, body["description"]) == (status, description)
    emu.remove_member(CHAT, "ayse")
    status, _ = await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="x")
    assert status == 403
    assert emu.sent() == []


async def test_revoked_or_unknown_token_gets_401(emu, roster, http):
    emu.revoke("ayse")
    for token in (roster["ayse"].token, "123:nope"):
        status, body = await call(http, emu, token, "getMe")
        assert (status, body["description"]) == (401, "Unauthorized")
    status, body = await call(http, emu, roster["mert"], "noSuchMethod")
    assert (status, body["description"]) == (404, "Not Found")


async def test_a_second_poller_ends_the_first_with_409(emu, roster, http):
    older = asyncio.create_task(call(http, emu, roster["ayse"], "getUpdates", timeout=10))
    await emu.wait_polling("ayse")
    newer = asyncio.create_task(updates(http, emu, roster["ayse"], timeout=10))
    status, body = await older
    assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates")
    await emu.wait_polling("ayse")
    emu.post(CHAT, 501, "@ayse_piyasa_bot hâlâ orada mısın?")
    assert len(await newer) == 1


async def test_21st_message_in_a_minute_to_one_chat_gets_429(emu, roster, http):
    for n in range(20):
        status, _ = await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text=f"mesaj {n}")
        assert status == 200
    status, body = await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="bir fazla")
    assert status == 429
    assert 59 <= body["parameters"]["retry_after"] <= 60
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    assert len(emu.sent(bot_name="ayse")) == 20
    assert emu.violations["per_bot_chat_minute"] == 1
    assert emu.stats()["rate_limited"] == {"injected": 0, "enforced": 1}


async def test_per_bot_per_second_limit_is_enforced_across_chats():
    emu = Emulator(limits=EmulatorLimits(per_bot_per_second=3, per_bot_per_chat_per_minute=100))
    bot = emu.add_bot("ayse")
    for chat_id in (-1, -2, -3, -4):
        emu.add_chat(chat_id, members=["ayse"])
    state = emu.bot_for_token(bot.token)
    for chat_id in (-1, -2, -3):
        emu.send_message(state, {"chat_id": chat_id, "text": "x"})
    with pytest.raises(ApiError) as refused:
        emu.send_message(state, {"chat_id": -4, "text": "x"})
    assert refused.value.status == 429 and refused.value.parameters == {"retry_after": 1}
    assert emu.violations["per_bot_second"] == 1


async def test_roster_wide_limits_are_counted_but_not_enforced():
    emu = Emulator(limits=EmulatorLimits(total_per_second=2, per_chat_per_minute=3))
    senders = [emu.bot_for_token(emu.add_bot(name).token) for name in ("ayse", "mert")]
    emu.add_chat(CHAT, members=["ayse", "mert"])
    for sender in senders * 2:
        emu.send_message(sender, {"chat_id": CHAT, "text": "x"})
    assert len(emu.sent()) == 4
    assert emu.violations == {"per_bot_second": 0, "per_bot_chat_minute": 0, "total_second": 2, "chat_minute": 1}


def test_sliding_window_is_exact():
    window = SlidingWindow(60.0)
    for t in (0.0, 10.0, 20.0):
        window.add(t)
    assert window.retry_after(30.0, cap=3) == 30  # the send at 0.0 frees a slot at 60.0
    assert window.retry_after(30.0, cap=4) == 0
    assert window.count(60.0) == 2  # a send exactly 60 s old is out of the window


async def test_injected_faults_do_not_deliver(emu, roster, http):
    emu.post(CHAT, 501, "bekleyen mesaj")
    emu.faults.rate_429, emu.faults.retry_after = 1.0, 3
    status, body = await call(http, emu, roster["deniz"], "sendMessage", chat_id=CHAT, text="x")
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    emu.faults.rate_429, emu.faults.rate_5xx = 0.0, 1.0
    status, body = await call(http, emu, roster["deniz"], "sendMessage", chat_id=CHAT, text="x")
    assert (status, body["description"]) == (502, "Bad Gateway")
    status, _ = await call(http, emu, roster["deniz"], "getUpdates", offset=10**12)
    assert status == 502 and emu.pending("deniz") == 1  # nothing confirmed
    emu.faults.rate_5xx, emu.faults.drop_rate = 0.0, 1.0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, emu, roster["deniz"], "sendMessage", chat_id=CHAT, text="x")
    assert emu.sent() == [] and emu.violations["per_bot_chat_minute"] == 0
    stats = emu.stats()
    assert stats["rate_limited"]["injected"] == 1 and stats["faults"] == {"5xx": 2, "drop": 1}
    assert stats["requests"]["sendMessage"] == {"429": 1, "502": 1, "0": 1}


TURKISH = "@ayse_piyasa_bot altın ne olur? Şimdi düşer mi, çıkar mı?"


def aiogram_bot(emu: Emulator, bot: SandboxBot) -> Bot:
    return Bot(bot.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


async def raw_call(http, emu, bot: SandboxBot | str, method: str, **params: Any) -> tuple[int, bytes]:
    token = bot if isinstance(bot, str) else bot.token
    async with http.post(f"{emu.base_url}/bot{token}/{method}", json=params) as response:
        return response.status, await response.read()


async def faults_via_control(http, emu: Emulator, **body: Any) -> dict[str, Any]:
    async with http.post(f"{emu.base_url}/control/faults", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_getupdates_body_cut_inside_a_utf8_character_cannot_be_decoded(emu, roster, http):
    emu.post(CHAT, 501, TURKISH)  # for deniz (privacy off) and ayse (mentioned)
    emu.bot_faults("deniz").cut_updates_rate = 1.0
    status, body = await raw_call(http, emu, roster["deniz"], "getUpdates", timeout=0)
    assert status == 200 and body.startswith(b'{"ok":true,"result":[{"update_id":')
    with pytest.raises(UnicodeDecodeError, match="unexpected end of data"):
        body.decode()
    bot = aiogram_bot(emu, roster["deniz"])
    try:
        with pytest.raises(UnicodeDecodeError):  # aiogram decodes the text before anything else
            await bot.get_updates(timeout=0)
    finally:
        await bot.session.close()
    [update] = await updates(http, emu, roster["ayse"])  # the global plan: nothing wrong for ayse
    assert update["message"]["text"] == TURKISH
    emu.clear_bot_faults("deniz")
    [update] = await updates(http, emu, roster["deniz"])  # nothing was confirmed meanwhile
    assert update["message"]["text"] == TURKISH
    assert emu.stats()["faults"]["cut_utf8"] == 2


async def test_an_update_without_update_id_fails_validation_and_stays_queued(emu, roster, http):
    emu.post(CHAT, 501, "Dolar bugün sakin")
    await faults_via_control(http, emu, bot="deniz", no_update_id_rate=1.0)
    status, body = await raw_call(http, emu, roster["deniz"], "getUpdates", timeout=0)
    [broken] = json.loads(body)["result"]
    assert status == 200 and "update_id" not in broken and broken["message"]["text"] == "Dolar bugün sakin"
    bot = aiogram_bot(emu, roster["deniz"])
    try:
        with pytest.raises(ClientDecodeError, match="update_id"):
            await bot.get_updates(timeout=0)
    finally:
        await bot.session.close()
    assert (await faults_via_control(http, emu, bot="deniz", clear=True)) == {"bot": "deniz", "plan": None}
    [update] = await updates(http, emu, roster["deniz"])
    assert update["update_id"] > 0 and emu.pending("deniz") == 1
    assert emu.stats()["faults"]["no_update_id"] == 2


@pytest.mark.parametrize("status", [404, 502])
async def test_an_html_error_page_echoes_the_path_and_so_the_token(emu, roster, http, status):
    emu.post(CHAT, 501, "Herkese selam")  # for deniz
    emu.faults.html_rate, emu.faults.html_status = 1.0, status
    token = roster["deniz"].token
    async with http.post(f"{emu.base_url}/bot{token}/getUpdates", json={"offset": 10**12}) as response:
        assert (response.status, response.content_type) == (status, "text/html")
        page = await response.text()
    assert page.startswith("<!DOCTYPE HTML") and f"/bot{token}/getUpdates" in page
    assert emu.pending("deniz") == 1  # the API never saw the request: nothing confirmed
    assert (await raw_call(http, emu, "123:nope", "getMe"))[0] == status  # the proxy answers before any token check
    bot = aiogram_bot(emu, roster["deniz"])
    try:
        with pytest.raises(ClientDecodeError) as caught:
            await bot.get_me()
        assert token in str(caught.value)  # what a client must redact before it logs or stores the error
    finally:
        await bot.session.close()
    emu.faults.html_rate = 0.0
    assert (await call(http, emu, roster["deniz"], "getMe"))[0] == 200
    assert emu.stats()["requests"]["getUpdates"] == {str(status): 1}


async def test_a_redirect_loops_until_the_client_gives_up(emu, roster, http):
    await faults_via_control(http, emu, redirect_rate=1.0)
    token = roster["ayse"].token
    url = f"{emu.base_url}/bot{token}/sendMessage"
    async with http.post(url, json={"chat_id": CHAT, "text": "x"}, allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (302, f"/bot{token}/sendMessage")
    with pytest.raises(aiohttp.TooManyRedirects) as caught:
        await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="x")
    assert token in str(caught.value)  # aiohttp's error message carries the URL
    assert emu.sent() == [] and emu.stats()["faults"]["redirect"] > 1


async def test_a_reset_after_send_posts_the_message_but_answers_nothing(emu, roster, http):
    emu.faults.reset_after_send_rate = 1.0
    with pytest.raises(aiohttp.ClientOSError, match="reset"):
        await call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="Altın yükselir")
    bot = aiogram_bot(emu, roster["mert"])
    try:
        with pytest.raises(TelegramNetworkError, match="reset"):
            await bot.send_message(CHAT, "Dolar düşer")
    finally:
        await bot.session.close()
    assert [(s.bot_name, s.text) for s in emu.sent()] == [("ayse", "Altın yükselir"), ("mert", "Dolar düşer")]
    stats = emu.stats()
    assert stats["requests"]["sendMessage"] == {"0": 2} and stats["faults"]["reset_after_send"] == 2


async def test_a_truncated_send_answer_posts_the_message_but_cannot_be_parsed(emu, roster, http):
    await faults_via_control(http, emu, bot="ayse", cut_send_rate=1.0)
    status, body = await raw_call(http, emu, roster["ayse"], "sendMessage", chat_id=CHAT, text="Borsa yatay")
    assert status == 200 and body.startswith(b'{"ok":true,"result":{"message_id":')
    with pytest.raises(ValueError):
        json.loads(body)
    bot = aiogram_bot(emu, roster["ayse"])
    try:
        with pytest.raises(ClientDecodeError):
            await bot.send_message(CHAT, "Borsa yine yatay")
    finally:
        await bot.session.close()
    assert [s.text for s in emu.sent()] == ["Borsa yatay", "Borsa yine yatay"]
    assert (await call(http, emu, roster["mert"], "sendMessage", chat_id=CHAT, text="x"))[0] == 200  # others fine


async def test_control_api_sets_fault_plans_globally_and_per_bot(emu, roster, http):
    answer = await faults_via_control(http, emu, bot="ayse", cut_updates_rate=1, html_status=502)
    assert answer == {"bot": "ayse", "plan": {**asdict(FaultPlan()), "cut_updates_rate": 1.0, "html_status": 502}}
    assert emu.bot_faults("ayse").cut_updates_rate == 1.0 and emu.faults == FaultPlan()
    assert emu.faults_for(emu.bot_for_token(roster["mert"].token)) is emu.faults
    async with http.get(f"{emu.base_url}/control/faults") as response:
        assert await response.json() == {"global": asdict(FaultPlan()), "bots": {"ayse": answer["plan"]}}
    for bad in (
        {"html_status": 200},
        {"drop_rate": 2},
        {"slow_ms": -1},
        {"bot": "nobody", "drop_rate": 0.1},
        {"cut_send_rate": "often"},
    ):
        async with http.post(f"{emu.base_url}/control/faults", json=bad) as response:
            assert response.status == 400, bad
    assert emu.bot_faults("ayse").html_status == 502  # a refused change changes nothing
    await faults_via_control(http, emu, bot="ayse", clear=True)
    assert emu.bot_fault_plans() == {}
    await faults_via_control(http, emu, html_rate=0.5, reset_after_send_rate=0.25)
    assert (emu.faults.html_rate, emu.faults.reset_after_send_rate) == (0.5, 0.25)
    assert await faults_via_control(http, emu, clear=True) == asdict(FaultPlan())


async def test_slow_answers_are_delayed(emu, roster, http):
    emu.faults.slow_ms = 200
    started = time.monotonic()
    status, _ = await call(http, emu, roster["ayse"], "getMe")
    assert status == 200 and time.monotonic() - started >= 0.19


async def test_wait_confirmed_returns_once_every_bot_confirmed(emu, roster, http):
    await emu.wait_confirmed(timeout=0.1)  # nothing queued yet
    emu.post(CHAT, 501, "Herkese selam")  # privacy off deniz only
    emu.push_update("ayse", {"edited_message": {"message_id": 1, "chat": {"id": CHAT, "type": "supergroup"},
                                                "date": 0, "text": "düzeltme"}})  # fmt: skip
    waiting = asyncio.create_task(emu.wait_confirmed(timeout=5))
    [edited] = await updates(http, emu, roster["ayse"])
    assert edited["edited_message"]["text"] == "düzeltme"
    [message] = await updates(http, emu, roster["deniz"])
    await updates(http, emu, roster["ayse"], offset=edited["update_id"] + 1)
    assert not waiting.done()
    await updates(http, emu, roster["deniz"], offset=message["update_id"] + 1)
    await waiting
    emu.post(CHAT, 501, "Bir mesaj daha")
    with pytest.raises(TimeoutError):
        await emu.wait_confirmed(timeout=0.05)


async def test_polling_stats_tell_which_bots_poll_without_reading_logs(emu, roster, http):
    assert emu.stats()["polling"] == {"bots": 3, "polled": 0, "waiting": 0}
    waiting = asyncio.create_task(emu.wait_bots_polled(timeout=5))
    emu.post(CHAT, 501, "@ayse_piyasa_bot BIST?")
    before = time.time()
    await updates(http, emu, roster["ayse"], timeout=0)
    long_poll = asyncio.create_task(updates(http, emu, roster["mert"], timeout=10))
    await emu.wait_polling("mert")
    assert not waiting.done() and emu.bots_polled == 2
    polls = emu.polling()
    assert polls["ayse"].polls == 1 and polls["ayse"].last_poll_at >= before and polls["ayse"].pending == 1
    assert (polls["mert"].waiting, polls["ayse"].waiting, polls["deniz"].polls) == (True, False, 0)
    assert polls["deniz"].last_poll_at is None
    async with http.get(f"{emu.base_url}/control/polling") as response:
        listing = await response.json()
    assert (listing["bots"], listing["polled"], listing["waiting"]) == (3, 2, 1)
    assert listing["per_bot"]["ayse"]["polls"] == 1 and listing["per_bot"]["mert"]["waiting"] is True
    async with http.post(f"{emu.base_url}/control/wait_polled", json={"timeout": 0.05}) as response:
        assert await response.json() == {"ready": False, "polled": 2}
    async with http.post(f"{emu.base_url}/control/wait_polled", json={"count": 2, "timeout": 0.05}) as response:
        assert await response.json() == {"ready": True, "polled": 2}
    await updates(http, emu, roster["deniz"], timeout=0)
    await waiting  # every bot has called getUpdates now
    assert emu.stats()["polling"] == {"bots": 3, "polled": 3, "waiting": 1}
    emu.post(CHAT, 501, "@mert_piyasa_bot dolar?")
    assert len(await long_poll) == 1


async def test_stop_answers_waiting_long_polls_at_once(http):
    emu = Emulator()
    bot = emu.add_bot("ayse")
    await emu.start()
    poll = asyncio.create_task(updates(http, emu, bot, timeout=30))
    await emu.wait_polling("ayse")
    started = time.monotonic()
    await emu.stop()
    assert await poll == [] and time.monotonic() - started < 2


def test_mention_entities_count_utf16_units():
    text = "📈 @ayse_piyasa_bot altın?"
    assert mention_entities(text) == [{"type": "mention", "offset": 3, "length": 16}]


async def test_control_api_drives_a_running_emulator(emu, http):
    async def control(method: str, path: str, **body):
        async with http.request(method, f"{emu.base_url}/control/{path}", json=body or None) as response:
            return response.status, await response.json()

    status, bot = await control("POST", "bots", name="ayse", username="ayse_piyasa_bot", privacy=False)
    assert status == 200 and bot["token"].startswith(f"{bot['id']}:") and len(bot["token"].split(":")[1]) == 35
    assert (await control("POST", "chats", id=CHAT, title="Piyasa", type="supergroup", members=["ayse"]))[0] == 200
    status, posted = await control("POST", "post", chat_id=CHAT, user_id=501, first_name="Mehmet", text="Altın?")
    assert status == 200 and posted["recipients"] == ["ayse"]
    [update] = await updates(http, emu, bot["token"])
    await call(http, emu, bot["token"], "sendMessage", chat_id=CHAT, text="Yükselir",
               reply_parameters=json.dumps({"message_id": update["message"]["message_id"]}))  # fmt: skip
    status, sent = await control("GET", "sent?since=0")
    assert sent["next"] == 1 and sent["messages"][0]["reply_to_message_id"] == posted["message_id"]
    assert (await control("GET", "sent?since=1"))[1] == {"messages": [], "next": 1}
    status, faults = await control("POST", "faults", rate_5xx=0.5, slow_ms=10)
    assert emu.faults.rate_5xx == 0.5 and faults["slow_ms"] == 10
    assert (await control("POST", "faults", nonsense=1))[0] == 400
    await control("POST", "faults", rate_5xx=0, slow_ms=0)
    status, stats = await control("GET", "stats")
    assert stats["posted"] == 1 and stats["sent"] == 1 and stats["pending"] == {"ayse": 1}
    assert (await control("POST", "revoke", name="ayse"))[0] == 200
    assert (await call(http, emu, bot["token"], "getMe"))[0] == 401
    assert (await control("POST", "revoke", name="nobody"))[0] == 400


async def test_control_api_runs_a_crowd(emu, http):
    emu.add_bot("ayse", "ayse_piyasa_bot")
    emu.add_chat(CHAT, members=["ayse"])
    spec = {"chat_id": CHAT, "normal": 2, "mention": 2, "reply": 0, "duration": 0.3, "rate_multiplier": 300}
    async with http.post(f"{emu.base_url}/control/crowd", json=spec) as response:
        assert response.status == 200
    async with http.get(f"{emu.base_url}/control/crowd?wait=5") as response:
        status = await response.json()
    assert not status["running"]
    assert status["posted"] > 0 and status["result"]["by_kind"]["mention"] > 0
    async with http.post(f"{emu.base_url}/control/wait_confirmed", json={"timeout": 0.01}) as response:
        assert (await response.json()) == {"confirmed": False}  # ayse has not polled


async def test_crowd_posts_chatter_mentions_and_replies():
    emu = Emulator(limits=TEST_SPEED, seed=3)
    for name in ("ayse", "mert"):
        emu.add_bot(name, f"{name}_piyasa_bot")
    emu.add_chat(CHAT, members=["ayse", "mert"])
    spec = CrowdSpec(chat_id=CHAT, normal=3, mention=3, reply=3, duration=0.4, rate_multiplier=600, seed=5)
    crowd = Crowd(emu, spec)
    run = asyncio.create_task(crowd.run())
    emu.send_message(emu.bot_for_token(emu.members(CHAT)[0].token), {"chat_id": CHAT, "text": "BIST 10.000 olur"})
    result = await run
    kinds = result.by_kind()
    assert all(kinds[k] > 0 for k in ("normal", "mention", "reply")), kinds
    replies = [p for p in result.addressed if p.via == "reply"]
    mentions = [p for p in result.addressed if p.via == "mention"]
    assert replies and all(p.addressed == "ayse" for p in replies)
    assert mentions and all(f"@{p.addressed}_piyasa_bot" in p.text for p in mentions)
    assert all(p.addressed is None for p in result.posts if p.kind == "normal")
    posted = {p.message_id: p for p in emu.posted}
    assert all(p.addressed in posted[p.message_id].recipients for p in result.addressed)
    assert len({p.user_id for p in result.posts}) <= 9
    assert {p.user_id for p in result.posts} <= {person.user_id for person in crowd.people}
    assert len(crowd.people) == 9


async def test_runs_as_a_separate_process():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "piyasa_bot.sandbox", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base_url}/control/bots", json={"name": "ayse"}) as response:
                token = (await response.json())["token"]
            async with http.get(f"{base_url}/bot{token}/getMe") as response:
                assert (await response.json())["result"]["username"] == "ayse_bot"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
