"""The console in a real browser: headless Chromium against the runner, the emulator and PostgreSQL.

What an operator does: sign in, watch a person's message appear in the chat as it
is stored, pause a chat and see its chatter stop (and come back on resume), find
an expired message and its reason, and do all of it from a phone-sized window.
Screenshots of each step land in reports/screenshots/.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from piyasa_bot.console.options import ConsoleOptions
from piyasa_bot.console.passwords import hash_password
from piyasa_bot.console.viewer import Role
from piyasa_bot.db import console_users
from piyasa_bot.db.migrate import apply_migrations
from piyasa_bot.roster_loader import parse_roster
from piyasa_bot.runner import Runner
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.browser import PHONE, browser, screenshot
from tests.helpers import World, make_runner, make_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
__all__ = ["browser"]  # the fixture, used by name

PERSON = 5151
PASSWORD = "piyasa-console-2026"
WAIT_MS = 15_000  # how long a page may take to show what the test waits for


def all_day(world: World) -> World:
    """The world's bots, chattering at any hour (whenever the suite runs)."""
    lines = ["chats:", f"  - id: {world.chat_id}", "    title: Borsa Sohbet", "bots:"]
    for bot in world.emulator.bots():
        lines += [
            f"  - name: {bot.name}",
            f"    token: ${{{bot.name.upper()}_TOKEN}}",
            f"    chats: [{world.chat_id}]",
            "    persona: {active_hours: ['00:00-24:00']}",
        ]
    return dataclasses.replace(world, loaded=parse_roster("\n".join(lines) + "\n", "test.yaml", world.env, None))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = all_day(await make_world(3))
    yield world
    await world.emulator.stop()


async def add_account(dsn: str, name: str, role: Role) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
        await console_users.put_user(conn, name, role, hash_password(PASSWORD))
    finally:
        await conn.close()


async def sign_in(page: Page, url: str, name: str) -> None:
    await page.goto(url + "/")
    await expect(page.locator("form#login")).to_be_visible()  # redirected: no session yet
    await page.fill("input[name=user]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form#login button[type=submit]")
    await expect(page.locator("table#chats")).to_be_visible(timeout=WAIT_MS)


@contextlib.asynccontextmanager
async def console_runner(world: World, dsn: str, **options: Any) -> AsyncIterator[Runner]:
    """A runner serving its console on 127.0.0.1, every bot polling."""
    async with make_runner(world, dsn, console=ConsoleOptions(), **options) as runner:
        await runner.wait_polling()
        yield runner


def console_url(runner: Runner) -> str:
    assert runner.console is not None
    return runner.console.url


async def chatter_rows(runner: Runner, since: object, until: object | None = None) -> int:
    count: int = await runner.pool.fetchval(
        """SELECT count(*) FROM outbox
           WHERE priority = 1 AND created_at > $1 AND ($2::timestamptz IS NULL OR created_at < $2)""",
        since,
        until,
    )
    return count


async def test_an_operator_signs_in_watches_a_message_arrive_and_pauses_the_chatter(
    world: World, dsn: str, browser: Browser
) -> None:
    await add_account(dsn, "deniz", Role.OPERATOR)
    # 120 times bots.yaml's pace: a turn about every second, fewer than the sends can carry, so a pause
    # that did not hold would show as chatter decided while paused.
    async with console_runner(world, dsn, conversation=True, seed=5, pace_scale=120) as runner:
        assert runner.rooms is not None
        page = await browser.new_page()
        await sign_in(page, console_url(runner), "deniz")
        await page.click(f'a[href="/chats/{world.chat_id}"]')
        messages = page.locator("ul#messages")
        await expect(messages).to_be_attached()  # empty until the first message: no height yet

        world.emulator.post(world.chat_id, user_id=PERSON, text="Altın bugün neden düştü?")
        await expect(messages.locator('li[data-kind="person"]', has_text="Altın bugün neden düştü?")).to_be_visible(
            timeout=WAIT_MS
        )
        await expect(messages.locator('li[data-kind="bot"]').first).to_be_visible(timeout=WAIT_MS)  # bots talk
        await screenshot(page, "chat-live")

        await page.click("form#pause button")
        await expect(page.locator("#paused-badge")).to_be_visible()
        paused_at = await runner.pool.fetchval("SELECT clock_timestamp()")
        assert runner.rooms.directors[world.chat_id].paused
        # While paused the live view goes on: people's messages still appear, one after another.
        for n in range(3):
            world.emulator.post(world.chat_id, user_id=PERSON, text=f"Sessizlik mi var? ({n})")
            await expect(messages.locator("li", has_text=f"Sessizlik mi var? ({n})")).to_be_visible(timeout=WAIT_MS)
        await screenshot(page, "chat-paused")

        # What was queued before the pause still goes out (each after its typing delay); beyond that,
        # a message sent is chatter decided after the resume.
        queued = runner.outbox.backlog_of(world.chat_id, Priority.CHATTER)
        sent_before = len(world.emulator.sent(world.chat_id))
        resumed_at = await runner.pool.fetchval("SELECT clock_timestamp()")
        await page.click("form#resume button")
        await expect(page.locator("form#pause")).to_be_visible()
        await runner.outbox.wait_until(
            lambda: len(world.emulator.sent(world.chat_id)) > sent_before + queued, timeout=60
        )
        assert await chatter_rows(runner, paused_at, resumed_at) == 0, "no chatter was decided while paused"
        assert await chatter_rows(runner, resumed_at) > 0, "after resume the chat talks again"
        stored = await runner.pool.fetchval("SELECT paused FROM chat_steering WHERE chat_id = $1", world.chat_id)
        assert stored is False, "the resume is stored, as the pause was"


async def test_an_expired_message_is_found_with_its_reason(world: World, dsn: str, browser: Browser) -> None:
    await add_account(dsn, "deniz", Role.OPERATOR)
    async with console_runner(world, dsn) as runner:
        now = time.time()
        late = Outgoing(
            bot="bot001", chat_id=world.chat_id, text="Bu laf geç kaldı", priority=Priority.CHATTER, expires_at=now
        )
        outbox_id = await runner.outbox.put(late)
        await runner.outbox.drain_until_idle(timeout=10)
        reason = await runner.pool.fetchval("SELECT reason FROM outbox WHERE id = $1", outbox_id)

        page = await browser.new_page()
        await sign_in(page, console_url(runner), "deniz")
        await page.click('nav a[href="/outbox"]')
        await page.select_option("form#outbox-filter select[name=status]", "expired")
        await page.click("form#outbox-filter button[type=submit]")
        row = page.locator('table#outbox tr.row[data-status="expired"]', has_text="Bu laf geç kaldı")
        await expect(row).to_be_visible()
        await expect(row.locator("td.reason")).to_have_text(reason)
        await expect(page.locator("ul#reasons")).to_contain_text(reason)
        await screenshot(page, "outbox-expired")


async def test_a_viewer_sees_everything_and_no_control(world: World, dsn: str, browser: Browser) -> None:
    await add_account(dsn, "izleyici", Role.VIEWER)
    async with console_runner(world, dsn) as runner:
        world.emulator.post(world.chat_id, user_id=PERSON, text="Dolar kaç oldu?")
        await world.emulator.wait_confirmed(timeout=20)
        page = await browser.new_page()
        await sign_in(page, console_url(runner), "izleyici")
        await page.goto(f"{console_url(runner)}/chats/{world.chat_id}")
        await expect(page.locator("li.message", has_text="Dolar kaç oldu?")).to_be_visible()
        await expect(page.locator("#pace-badge")).to_be_visible()
        assert await page.locator("form#pause, form#pace").count() == 0
        await page.goto(f"{console_url(runner)}/bots")
        assert await page.locator("form#disable").count() == 0


async def test_every_page_fits_a_phone(world: World, dsn: str, browser: Browser) -> None:
    await add_account(dsn, "deniz", Role.OPERATOR)
    async with console_runner(world, dsn) as runner:
        world.emulator.post(world.chat_id, user_id=PERSON, text="BIST 10.000 puanı görür mü, ne dersiniz arkadaşlar?")
        await world.emulator.wait_confirmed(timeout=20)
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = await context.new_page()
        await sign_in(page, console_url(runner), "deniz")
        for path in ("/", f"/chats/{world.chat_id}", "/bots", "/outbox", "/charts", "/search?q=BIST"):
            await page.goto(console_url(runner) + path)
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
            await screenshot(page, "phone" + path.replace("/", "-").split("?")[0].rstrip("-"))
        await page.goto(f"{console_url(runner)}/chats/{world.chat_id}")
        box = await page.locator("form#pause button").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], "the pause button is within reach"
        await context.close()
