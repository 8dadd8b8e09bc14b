"""The console's pages against a real runner, the emulator and PostgreSQL: what an operator sees.

The console listens on 127.0.0.1 with no account configured, so the local
operator is let in (tests/test_console_access.py covers sign-in); every request
goes through the real access middleware all the same.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from piyasa_bot.console.options import ConsoleOptions
from piyasa_bot.runner import Runner
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import World, make_runner, make_world, send_as

pytestmark = pytest.mark.slow

PERSON = 4242


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = await make_world(3)
    yield world
    await world.emulator.stop()


@pytest.fixture
async def runner(world: World, dsn: str) -> AsyncIterator[Runner]:
    async with make_runner(world, dsn, console=ConsoleOptions(port=0)) as runner:
        await runner.wait_polling()
        yield runner


@pytest.fixture
async def client(runner: Runner) -> AsyncIterator[aiohttp.ClientSession]:
    assert runner.console is not None
    async with aiohttp.ClientSession(base_url=runner.console.url) as session:
        yield session


async def page(client: aiohttp.ClientSession, path: str, status: int = 200) -> str:
    async with client.get(path) as response:
        body = await response.text()
        assert response.status == status, f"{path}: {response.status} {body[:300]}"
        assert "Traceback" not in body
        return body


async def test_a_chat_shows_people_and_bots_who_replies_to_whom_and_how_fast(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    asked = world.emulator.post(world.chat_id, user_id=PERSON, text="dolar <b>nereye</b> gider?")
    await world.emulator.wait_confirmed(timeout=20)
    await send_as(runner, "bot001", world.chat_id, "Bence 41 civarı & yatay.", reply_to=asked.message_id)

    body = await page(client, f"/chats/{world.chat_id}")
    assert "dolar &lt;b&gt;nereye&lt;/b&gt; gider?" in body, "a person's text is shown as text, never as markup"
    assert f"person {PERSON}" in body
    assert "Bence 41 civarı &amp; yatay." in body
    assert re.search(rf'<span class="author">bot001</span> → person {PERSON}', body)
    assert re.search(r"answered in \d+\.\d s", body)

    overview = await page(client, "/")
    assert f'href="/chats/{world.chat_id}"' in overview and "Test" in overview


async def test_the_live_view_brings_a_message_stored_after_the_page_was_opened(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    body = await page(client, f"/chats/{world.chat_id}")
    events = re.search(r'data-events="([^"]+)"', body)
    assert events is not None
    async with client.get(events.group(1).replace("&amp;", "&")) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        world.emulator.post(world.chat_id, user_id=PERSON, text="altın rekor mu kırdı?")
        async with asyncio.timeout(10):
            async for raw in stream.content:
                line = raw.decode()
                if line.startswith("data:") and "altın rekor mu kırdı?" in line:
                    break
    assert 'data-kind="person"' in line


async def test_an_expired_message_is_listed_with_its_reason(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    item = Outgoing(
        bot="bot002",
        chat_id=world.chat_id,
        text="geç kalmış bir laf",
        priority=Priority.CHATTER,
        expires_at=time.time(),
    )
    outbox_id = await runner.outbox.put(item)
    await runner.outbox.drain_until_idle(timeout=10)
    status, reason = await runner.pool.fetchrow("SELECT status, reason FROM outbox WHERE id = $1", outbox_id)
    assert status == "expired" and reason

    listed = await page(client, "/outbox?status=expired")
    assert "geç kalmış bir laf" in listed and reason in listed
    assert '<td class="status">expired</td>' in listed
    sent_only = await page(client, "/outbox?status=sent")
    assert "geç kalmış bir laf" not in sent_only
    by_reason = await page(client, f"/outbox?reason={reason[:12]}")
    assert "geç kalmış bir laf" in by_reason


async def test_the_bots_page_shows_each_bot_state_and_its_hour(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    world.emulator.post(world.chat_id, user_id=PERSON, text="günaydın")
    await world.emulator.wait_confirmed(timeout=20)  # every bot has had a poll answered: running
    await send_as(runner, "bot000", world.chat_id, "merhaba")
    body = await page(client, "/bots")
    row = re.search(r'<tr class="bot" data-bot="bot000">(.*?)</tr>', body, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[1] == "running" and cells[3] == "1", cells  # state; sent in the last hour
    for token in world.env.values():
        assert token not in body and token.split(":")[1] not in body


async def test_search_finds_text_literally_and_refuses_what_is_too_long(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    world.emulator.post(world.chat_id, user_id=PERSON, text="BIST %100 yükselir mi")
    world.emulator.post(world.chat_id, user_id=PERSON, text="BIST 1000 puan düşer mi")
    await world.emulator.wait_confirmed(timeout=20)

    found = await page(client, "/search?q=%25100")
    assert "BIST %100 yükselir mi" in found and "1000 puan" not in found, "% is a character, not a wildcard"
    assert "1 message containing" in found

    refused = await page(client, "/search?q=" + "x" * 5000, status=400)
    assert "5,000 characters long; at most 200" in refused


async def test_charts_draw_the_stored_minutes(world: World, runner: Runner, client: aiohttp.ClientSession) -> None:
    asked = world.emulator.post(world.chat_id, user_id=PERSON, text="faiz ne olur?")
    await world.emulator.wait_confirmed(timeout=20)
    await send_as(runner, "bot001", world.chat_id, "Sabit kalır bence.", reply_to=asked.message_id)
    body = await page(client, "/charts?hours=1")
    assert body.count("<svg") == 3
    assert re.search(r'<polyline[^>]*points="\d', body), "at least one line has a point"


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/chats/abc", 404, "a chat id is a number"),
        ("/chats/-100999", 404, "no chat -100999 is stored"),
        ("/outbox?status=lost", 400, "is not one of pending, sent, failed, expired"),
        ("/outbox?chat=x", 400, "chat must be a whole number"),
        ("/charts?hours=1000", 400, "hours must be between 1 and 48"),
        ("/nowhere", 404, "Not Found"),
    ],
)
async def test_bad_input_gets_a_page_that_names_the_problem(
    client: aiohttp.ClientSession, path: str, status: int, says: str
) -> None:
    body = await page(client, path, status=status)
    assert says in body and 'id="error"' in body


async def test_a_page_left_open_does_not_hold_up_the_runner_stopping(world: World, dsn: str) -> None:
    async with make_runner(world, dsn, console=ConsoleOptions(port=0)) as runner:
        await runner.wait_polling()
        assert runner.console is not None
        session = aiohttp.ClientSession(base_url=runner.console.url)
        await session.get("/")  # the local operator's session cookie
        stream = await session.get(f"/chats/{world.chat_id}/events?after=0")
        assert stream.status == 200
        stopping = time.monotonic()
    took = time.monotonic() - stopping
    await stream.release()
    await session.close()
    assert took < 5, f"the runner took {took:.1f} s to stop with a live view open"


async def test_pages_open_on_one_chat_share_one_look_and_a_closed_page_is_let_go(
    world: World, runner: Runner, client: aiohttp.ClientSession
) -> None:
    assert runner.console is not None
    await page(client, "/")
    events = f"/chats/{world.chat_id}/events?after=0"
    first, second = await client.get(events), await client.get(events)
    world.emulator.post(world.chat_id, user_id=PERSON, text="iki sayfa da görsün")
    for stream in (first, second):
        async with asyncio.timeout(10):
            async for raw in stream.content:
                if b"iki sayfa da g" in raw:
                    break
    assert runner.console.chats_watched() == 1
    first.close()
    second.close()
    async with asyncio.timeout(10):  # each page is noticed gone within a second
        while runner.console.chats_watched():
            await asyncio.sleep(0.1)
