"""Who may look and who may steer: sign-in, sessions, CSRF, roles and the login limit, over real HTTP.

A real aiohttp server with the access middleware in front of a test page (GET /,
GET /chats) and a test form target (POST /act), and a real PostgreSQL for the accounts.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from yarl import URL

from piyasa_bot.console.access import ConsoleAccess, ConsoleRefused, is_loopback, open_access
from piyasa_bot.console.accounts import version_of
from piyasa_bot.console.errors import error_pages
from piyasa_bot.console.login import local_path
from piyasa_bot.console.passwords import hash_password
from piyasa_bot.console.render import VIEWER_KEY
from piyasa_bot.console.server import STATIC
from piyasa_bot.console.sessions import COOKIE, LIFETIME, SessionSigner
from piyasa_bot.console.viewer import Role
from piyasa_bot.db import console_users
from tests.log_capture import capture_log_lines  # noqa: F401  # the log_lines fixture

SECRET = b"s" * 32
AYSE_PASSWORD = "ayse-long-password"
OMER_PASSWORD = "omer-long-password"

Console = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@cache
def hashed(password: str) -> str:
    return hash_password(password)  # once per password and test process: argon2 takes its time by design


async def add_user(pool: asyncpg.Pool, name: str, role: Role, password: str) -> None:
    await console_users.put_user(pool, name, role, hashed(password))


async def page(request: web.Request) -> web.Response:
    viewer = request[VIEWER_KEY]
    return web.Response(text=f"page for {viewer.name} ({viewer.role.value}) csrf={viewer.csrf}")


async def act(request: web.Request) -> web.Response:
    form = await request.post()
    return web.Response(text=f"done: {form.get('what')} by {request[VIEWER_KEY].name}")


@pytest.fixture
async def console(pool: asyncpg.Pool) -> AsyncIterator[Console]:
    """`await console(host)`: a client of a console app on a real server; accounts read afresh on each request."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(host: str = "127.0.0.1") -> TestClient[web.Request, web.Application]:
        access = await open_access(pool, host, SECRET, fresh_for=0)
        app = web.Application(middlewares=[error_pages, access.middleware])
        access.add_routes(app)
        app.router.add_get("/", page)
        app.router.add_get("/chats", page)
        app.router.add_post("/act", act)
        app.router.add_static("/static", STATIC)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def sign_in(
    client: TestClient[Any, Any], user: str, password: str, next_path: str = "/"
) -> aiohttp.ClientResponse:
    return await client.post(
        "/login", data={"user": user, "password": password, "next": next_path}, allow_redirects=False
    )


async def csrf_of(client: TestClient[Any, Any]) -> str:
    response = await client.get("/")
    assert response.status == 200
    match = re.search(r"csrf=(\S+)", await response.text())
    assert match is not None
    return match.group(1)


async def with_cookie(
    client: TestClient[Any, Any], method: str, path: str, cookie: str, **kwargs: Any
) -> tuple[int, str]:
    """A request with this cookie alone, from a browser that keeps none (the client's own jar untouched)."""
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser,
        browser.request(
            method, client.make_url(path), headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False, **kwargs
        ) as response,
    ):
        return response.status, await response.text()


def cookie_of(client: TestClient[Any, Any]) -> str:
    return next(morsel.value for morsel in client.session.cookie_jar if morsel.key == COOKIE)


async def test_a_page_without_a_session_sends_to_the_sign_in_form_and_back_after_it(
    pool: asyncpg.Pool, console: Console, log_lines: io.StringIO
) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    away = await client.get("/chats?chat=-100", allow_redirects=False)
    assert away.status == 303
    assert (away.headers["Location"], URL(away.headers["Location"]).query["next"]) == (
        "/login?next=/chats?chat%3D-100",
        "/chats?chat=-100",
    )
    form = await client.get(away.headers["Location"])
    body = await form.text()
    assert form.status == 200
    assert '<form id="login" method="post" action="/login"' in body
    assert 'name="password" type="password"' in body and 'name="next" value="/chats?chat=-100"' in body
    signed_in = await sign_in(client, "ayse", AYSE_PASSWORD, "/chats?chat=-100")
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/chats?chat=-100"
    cookie = signed_in.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http here: a Secure cookie would never come back
    assert int(cookie["max-age"]) == LIFETIME
    assert await (await client.get("/chats")).text() == f"page for ayse (operator) csrf={await csrf_of(client)}"
    signed = [json.loads(line) for line in log_lines.getvalue().splitlines() if "console.signed_in" in line]
    assert [(line["user"], line["role"], line["client"]) for line in signed] == [("ayse", "operator", "127.0.0.1")]
    assert AYSE_PASSWORD not in log_lines.getvalue() and "$argon2" not in log_lines.getvalue()


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401_and_neither_is_logged(
    pool: asyncpg.Pool, console: Console, log_lines: io.StringIO
) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    wrong = await sign_in(client, "ayse", "not-her-password-1")
    unknown = await sign_in(client, "typed-a-password-here", AYSE_PASSWORD)
    bodies = [await wrong.text(), await unknown.text()]
    assert [wrong.status, unknown.status] == [401, 401]
    assert all("wrong user name or password" in body for body in bodies)
    assert all(COOKIE not in response.cookies for response in (wrong, unknown))
    assert all(AYSE_PASSWORD not in body and "not-her-password-1" not in body for body in bodies)
    assert (await client.get("/", allow_redirects=False)).status == 303  # still not signed in
    failures = [json.loads(line) for line in log_lines.getvalue().splitlines() if "sign_in_failed" in line]
    assert [(f["user"], f["client"]) for f in failures] == [("ayse", "127.0.0.1"), ("<not an account>", "127.0.0.1")]
    assert "typed-a-password-here" not in log_lines.getvalue()
    assert AYSE_PASSWORD not in log_lines.getvalue() and "not-her-password-1" not in log_lines.getvalue()


async def test_the_sixth_failed_sign_in_in_ten_minutes_is_refused_even_with_the_right_password(
    pool: asyncpg.Pool, console: Console
) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    statuses = [(await sign_in(client, "ayse", f"guess-number-{n}")).status for n in range(5)]
    refused = await sign_in(client, "ayse", AYSE_PASSWORD)
    assert statuses == [401] * 5
    assert refused.status == 429 and COOKIE not in refused.cookies
    assert "too many failed sign-ins, try again in 10 minutes" in await refused.text()


async def test_a_viewer_reads_every_page_but_changes_nothing(pool: asyncpg.Pool, console: Console) -> None:
    await add_user(pool, "omer", Role.VIEWER, OMER_PASSWORD)
    client = await console()
    assert (await sign_in(client, "omer", OMER_PASSWORD)).status == 303
    csrf = await csrf_of(client)
    refused = await client.post("/act", data={"what": "pause", "csrf": csrf})
    assert refused.status == 403
    assert "viewers see every page but change nothing" in await refused.text()
    signed_out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/login"
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_change_needs_the_sessions_csrf_token_and_a_page_of_this_console(
    pool: asyncpg.Pool, console: Console
) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    await sign_in(client, "ayse", AYSE_PASSWORD)
    csrf = await csrf_of(client)
    missing = await client.post("/act", data={"what": "pause"})
    wrong = await client.post("/act", data={"what": "pause", "csrf": csrf[:-1] + "0"})
    non_ascii = await client.post("/act", data={"what": "pause"}, headers={"X-CSRF-Token": "çok"})
    assert [missing.status, wrong.status, non_ascii.status] == [403, 403, 403]
    assert "token (CSRF)" in await missing.text() and "Reload the page and try again." in await missing.text()
    by_form = await client.post("/act", data={"what": "pause", "csrf": csrf})
    by_header = await client.post("/act", data={"what": "resume"}, headers={"X-CSRF-Token": csrf})
    assert [await by_form.text(), await by_header.text()] == ["done: pause by ayse", "done: resume by ayse"]
    own_origin = f"http://{client.server.host}:{client.server.port}"
    same = await client.post("/act", data={"what": "pace", "csrf": csrf}, headers={"Origin": own_origin})
    foreign = await client.post("/act", data={"what": "pace", "csrf": csrf}, headers={"Origin": "https://evil.test"})
    assert same.status == 200 and foreign.status == 403
    assert "came from a page of another site" in await foreign.text()


async def test_a_forged_tampered_or_expired_cookie_is_refused(pool: asyncpg.Pool, console: Console) -> None:
    await add_user(pool, "omer", Role.VIEWER, OMER_PASSWORD)
    client = await console()
    await sign_in(client, "omer", OMER_PASSWORD)
    genuine = cookie_of(client)
    name, role, expires, nonce, signature = genuine.split("|")
    stored = await console_users.credentials(pool, "omer")
    assert stored is not None
    version = version_of(stored.updated_at)
    forged = SessionSigner(b"another secret, guessed").cookie(SessionSigner(SECRET).new("omer", "viewer"), version)
    expired = SessionSigner(SECRET, clock=lambda: time.time() - LIFETIME - 60)
    cookies = {
        "genuine": genuine,
        "forged": forged,
        "promoted": f"{name}|operator|{expires}|{nonce}|{signature}",
        "prolonged": f"{name}|{role}|{int(expires) + 3600}|{nonce}|{signature}",
        "expired": expired.cookie(expired.new("omer", "viewer"), version),
        "garbled": "omer|viewer|²|x|y",
        "empty": "",
    }
    statuses = {kind: (await with_cookie(client, "GET", "/", value))[0] for kind, value in cookies.items()}
    assert statuses == {kind: 200 if kind == "genuine" else 303 for kind in cookies}


async def test_a_removed_user_a_new_role_or_a_new_password_ends_the_sessions_before(
    pool: asyncpg.Pool, console: Console
) -> None:
    client = await console()
    for name in ("ayse", "omer", "kemal"):
        await add_user(pool, name, Role.OPERATOR, AYSE_PASSWORD)
    cookies = {}
    for name in ("ayse", "omer", "kemal"):
        await sign_in(client, name, AYSE_PASSWORD)
        cookies[name] = cookie_of(client)
    await console_users.remove_user(pool, "ayse")
    await console_users.put_user(pool, "omer", Role.VIEWER, hashed(AYSE_PASSWORD))
    await console_users.put_user(pool, "kemal", Role.OPERATOR, hashed(OMER_PASSWORD))
    statuses = {name: (await with_cookie(client, "GET", "/", cookie))[0] for name, cookie in cookies.items()}
    assert statuses == {"ayse": 303, "omer": 303, "kemal": 303}
    assert (await sign_in(client, "kemal", OMER_PASSWORD)).status == 303  # the new password works


async def test_a_signed_out_cookie_is_refused_though_a_copy_of_it_outlived_the_browser(
    pool: asyncpg.Pool, console: Console
) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    await sign_in(client, "ayse", AYSE_PASSWORD)
    copy, csrf = cookie_of(client), await csrf_of(client)
    signed_out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert signed_out.status == 303 and signed_out.cookies[COOKIE].value == ""
    assert (await with_cookie(client, "GET", "/", copy))[0] == 303


async def test_the_console_beyond_this_machine_starts_only_once_an_operator_exists(pool: asyncpg.Pool) -> None:
    await add_user(pool, "omer", Role.VIEWER, OMER_PASSWORD)
    with pytest.raises(ConsoleRefused) as refused:
        await open_access(pool, "0.0.0.0", SECRET)
    assert str(refused.value) == (
        "the console listens on 0.0.0.0, beyond this machine: add an operator first with "
        "`python -m piyasa_bot console-user add NAME --role operator`"
    )
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    assert isinstance(await open_access(pool, "0.0.0.0", SECRET), ConsoleAccess)
    assert [is_loopback(host) for host in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost")] == [True] * 5
    assert [is_loopback(host) for host in ("0.0.0.0", "", "::", "192.168.1.10", "console.example")] == [False] * 5


async def test_on_loopback_without_accounts_the_local_operator_steers_but_only_with_the_csrf_token(
    console: Console,
) -> None:
    client = await console("127.0.0.1")
    first = await client.get("/")
    assert first.status == 200 and (await first.text()).startswith("page for local (operator) csrf=")
    assert first.cookies[COOKIE]["httponly"] and first.cookies[COOKIE]["samesite"] == "Strict"
    csrf = await csrf_of(client)  # the same session, the same token: the cookie came back
    assert first.cookies[COOKIE].value == cookie_of(client)
    hostile = await client.post("/act", data={"what": "pause"})  # what another site's page can send
    stale, _ = await with_cookie(client, "POST", "/act", "x", data={"what": "pause", "csrf": csrf})
    assert [hostile.status, stale] == [403, 403]
    assert await (await client.post("/act", data={"what": "pause", "csrf": csrf})).text() == "done: pause by local"
    no_sign_out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert no_sign_out.status == 303 and no_sign_out.headers["Location"] == "/"


async def test_every_response_carries_the_security_headers(pool: asyncpg.Pool, console: Console) -> None:
    await add_user(pool, "ayse", Role.OPERATOR, AYSE_PASSWORD)
    client = await console()
    responses = {
        "redirect": await client.get("/chats", allow_redirects=False),
        "login": await client.get("/login"),
        "failed": await sign_in(client, "ayse", "not-her-password-1"),
        "missing": await client.get("/static/no-such-file.css"),
        "static": await client.get("/static/console.css"),
    }
    assert {kind: response.status for kind, response in responses.items()} == {
        "redirect": 303,
        "login": 200,
        "failed": 401,
        "missing": 404,
        "static": 200,
    }
    for kind, response in responses.items():
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'"), kind
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], kind
        assert response.headers["X-Frame-Options"] == "DENY", kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Referrer-Policy"] == "same-origin", kind
    assert all(responses[kind].headers["Cache-Control"] == "no-store" for kind in ("redirect", "login", "failed"))
    assert "no-store" not in responses["static"].headers.get("Cache-Control", "")


async def test_a_hash_made_with_older_parameters_is_renewed_at_sign_in(pool: asyncpg.Pool, console: Console) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(AYSE_PASSWORD)
    await console_users.put_user(pool, "ayse", Role.OPERATOR, old)
    client = await console()
    assert (await sign_in(client, "ayse", AYSE_PASSWORD)).status == 303
    renewed = await console_users.credentials(pool, "ayse")
    assert renewed is not None and renewed.password_hash != old
    assert renewed.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert (await client.get("/", allow_redirects=False)).status == 200  # the session survives the renewal


def test_after_sign_in_the_browser_goes_only_to_a_page_of_this_console() -> None:
    assert local_path("/chats/-100?since=5") == "/chats/-100?since=5"
    refused = ["https://evil.test/", "//evil.test/", "/\\evil.test", "evil", "", None, "/login?next=//x", "/a\nb"]
    assert [local_path(target) for target in refused] == ["/"] * len(refused)
