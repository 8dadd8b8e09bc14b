"""The console's Fleet page and the bots page's runner column, as a signed-in viewer sees them.

The console's own access middleware and pages over real HTTP and a real PostgreSQL;
runners and leases are rows written straight into the fleet's tables (tests/test_status_fleet.py
builds them). The runner's in-process parts the bots page reads (pollers, outbox limits,
steering) are stand-ins: this page reads the fleet from the database alone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from piyasa_bot.console import pages
from piyasa_bot.console.access import open_access
from piyasa_bot.console.context import CONTEXT, ConsoleContext
from piyasa_bot.console.errors import error_pages
from piyasa_bot.console.viewer import Role
from tests.test_console_access import OMER_PASSWORD, SECRET, add_user, sign_in
from tests.test_status_fleet import ALPHA, BETA, CIPHER, GAMMA, ROSTER, fleet  # noqa: F401  # the fleet fixture


def stand_in_context(pool: asyncpg.Pool, bots: list[str]) -> Any:
    """What the pages read besides the pool: nothing polled here, nothing held, nothing steered."""
    deps = SimpleNamespace(
        pool=pool,
        outbox=SimpleNamespace(rate_limited_by_bot={}, held_by_bot=dict),
        roster=SimpleNamespace(bots=[SimpleNamespace(name=name) for name in bots], chats=[]),
        steering=SimpleNamespace(bot_states=list, chat_states=list),
    )
    return ConsoleContext(deps=deps, runner=SimpleNamespace(pollers={}))


async def console_app(pool: asyncpg.Pool, bots: list[str]) -> web.Application:
    """The console's access control and read pages, as the runner's console serves them, with one viewer."""
    await add_user(pool, "omer", Role.VIEWER, OMER_PASSWORD)
    access = await open_access(pool, "127.0.0.1", SECRET, fresh_for=0)
    app = web.Application(middlewares=[error_pages, access.middleware])
    app[CONTEXT] = stand_in_context(pool, bots)
    access.add_routes(app)
    pages.add_routes(app)
    return app


@pytest.fixture
async def viewer(pool: asyncpg.Pool, fleet: str) -> AsyncIterator[TestClient[Any, Any]]:  # noqa: F811
    """A console on the fleet's database, signed in as a viewer."""
    app = await console_app(pool, ["bot000", "bot001", "bot002", "bot003"])
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    try:
        assert (await sign_in(client, "omer", OMER_PASSWORD)).status == 303
        yield client
    finally:
        await client.close()


async def page(client: TestClient[Any, Any], path: str) -> str:
    response = await client.get(path, allow_redirects=False)
    body = await response.text()
    assert response.status == 200, f"{path}: {response.status} {body[:300]}"
    assert "Traceback" not in body and CIPHER not in body
    return body


def cells(body: str, row_pattern: str) -> list[str]:
    """The cells of the one table row matching `row_pattern`, as text (tags dropped)."""
    row = re.search(rf"<tr {row_pattern}>(.*?)</tr>", body, re.S)
    assert row is not None, row_pattern
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


async def test_the_fleet_page_shows_a_viewer_which_runner_is_live_and_who_holds_each_bot_and_chat(
    viewer: TestClient[Any, Any],
) -> None:
    body = await page(viewer, "/fleet")
    assert '<a href="/fleet">Fleet</a>' in body
    alpha = cells(body, f'class="runner" data-runner="{ALPHA}"')
    assert (alpha[1], alpha[5], alpha[7], alpha[8]) == ("alpha", "live", "1", "1")  # host, live, bots, chats
    beta = cells(body, f'class="runner" data-runner="{BETA}"')
    assert (beta[4], beta[5], beta[7]) == ("30 s ago", "not live", "0")
    gamma = cells(body, f'class="runner" data-runner="{GAMMA}"')
    assert (gamma[5], gamma[6]) == ("not live", "stopping")

    held = cells(body, 'class="lease" data-kind="bot" data-key="bot000" data-state="held"')
    assert (held[2], held[3]) == (ALPHA, "3") and held[4].startswith("expires in ")
    released = cells(body, 'class="lease" data-kind="bot" data-key="bot001" data-state="released"')
    assert (released[2], released[4]) == ("—", "released")
    expired = cells(body, 'class="lease" data-kind="bot" data-key="bot002" data-state="expired"')
    assert expired[2] == "—" and re.fullmatch(rf"expired 2\d s ago, was {BETA}", expired[4])
    unclaimed = cells(body, 'class="lease" data-kind="bot" data-key="bot003" data-state="unclaimed"')
    assert (unclaimed[2], unclaimed[4]) == ("—", "never claimed")
    going = cells(body, 'class="lease" data-kind="chat" data-key="-1002" data-state="held"')
    assert going[2] == GAMMA and going[4].endswith("its runner is not live")
    assert alpha[9] == ROSTER[:8]  # the bots.yaml it runs
    assert 'id="rosters-differ"' not in body  # one live runner agrees with itself


async def test_the_fleet_page_warns_when_live_runners_run_different_bots_yaml(
    pool: asyncpg.Pool, viewer: TestClient[Any, Any]
) -> None:
    await pool.execute("UPDATE runners SET stopping = false, roster = '0badc0ffee000000' WHERE id = $1", GAMMA)
    body = await page(viewer, "/fleet")
    warning = re.search(r'<p class="warn" id="rosters-differ">(.*?)</p>', body, re.S)
    assert warning is not None
    assert f"{ROSTER[:8]}: {ALPHA}; 0badc0ff: {GAMMA}" in warning.group(1)


async def test_the_bots_page_names_the_runner_holding_each_bot(viewer: TestClient[Any, Any]) -> None:
    body = await page(viewer, "/bots")
    runner_of = {
        name: re.sub(r"<[^>]+>", "", cell).strip()
        for name, cell in re.findall(r'<tr class="bot" data-bot="([^"]+)">.*?<td class="runner">(.*?)</td>', body, re.S)
    }
    assert runner_of == {"bot000": ALPHA, "bot001": "—", "bot002": "—", "bot003": "—"}


async def test_the_fleet_page_needs_a_session(pool: asyncpg.Pool) -> None:
    async with TestClient(TestServer(await console_app(pool, []), host="127.0.0.1", port=0)) as client:
        response = await client.get("/fleet", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login?next=")
