"""Signing in and out: GET and POST /login, POST /logout.

A failed sign-in says the same for an unknown user and a wrong password, and
takes as long: an unknown name is verified against a dummy hash. The log
names the client's address and the user, never the password; a name that is
no account is not logged either (it may be a password typed in the wrong box).
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from aiohttp import web

from piyasa_bot.console import passwords
from piyasa_bot.console.accounts import version_of
from piyasa_bot.console.login_limit import LoginLimit, address_key, minutes, name_key
from piyasa_bot.console.render import VIEWER_KEY, render
from piyasa_bot.console.sessions import SESSION_KEY, SessionSigner, attach, detach
from piyasa_bot.console.urls import is_local_path
from piyasa_bot.db import console_users
from piyasa_bot.db.console_users import Credentials

log = structlog.get_logger(__name__)

WRONG = "wrong user name or password"
MAX_PATH = 2000
VERIFYING_AT_ONCE = 2  # each argon2 verification holds 64 MiB for its tens of milliseconds


def local_path(target: str | None) -> str:
    """`target` when it is a path on this console, else "/": a sign-in never sends the browser elsewhere."""
    if target is None or not is_local_path(target, max_length=MAX_PATH) or target.startswith("/login"):
        return "/"
    return target


def client_of(request: web.Request) -> str:
    return request.remote or "unknown"


class SignIn:
    def __init__(self, pool: asyncpg.Pool, signer: SessionSigner, limit: LoginLimit) -> None:
        self._pool = pool
        self._signer = signer
        self._limit = limit
        self._verifying = asyncio.Semaphore(VERIFYING_AT_ONCE)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/login", self.form)
        app.router.add_post("/login", self.sign_in)
        app.router.add_post("/logout", self.sign_out)

    async def form(self, request: web.Request) -> web.Response:
        return _page(request, user="", next_path=local_path(request.query.get("next")))

    async def sign_in(self, request: web.Request) -> web.Response:
        form = await request.post()
        user, password = _text(form.get("user")).strip(), _text(form.get("password"))
        next_path = local_path(_text(form.get("next")))
        client = client_of(request)
        keys = (address_key(client), name_key(user))
        known, matches = None, False
        # Checked and counted under the semaphore: concurrent attempts overshoot the limit by one at most.
        async with self._verifying:
            wait = self._limit.retry_after(*keys)
            if wait is None:
                known = await self._account(user)
                matches = await self._verified(known, password)
                if not matches:
                    self._limit.failed(*keys)
        if wait is not None:
            log.warning("console.sign_in_refused", client=client, reason="too many failed sign-ins")
            error = f"too many failed sign-ins, try again in {minutes(wait)} minutes"
            return _page(request, user=user, next_path=next_path, status=429, error=error)
        if not matches or known is None:
            log.warning("console.sign_in_failed", user=known.name if known else "<not an account>", client=client)
            return _page(request, user=user, next_path=next_path, status=401, error=WRONG)
        self._limit.succeeded(name_key(user))
        session = self._signer.new(known.name, known.role.value)
        response = web.Response(status=303, headers={"Location": next_path})
        attach(response, self._signer.cookie(session, version_of(known.updated_at)), secure=request.secure)
        log.info("console.signed_in", user=known.name, role=known.role.value, client=client)
        return response

    async def sign_out(self, request: web.Request) -> web.Response:
        """Reached through the access middleware: a valid session and its CSRF token, or not here at all."""
        viewer = request[VIEWER_KEY]
        if not viewer.can_sign_out:  # the local operator of a console without accounts has no session to end
            return web.Response(status=303, headers={"Location": "/"})
        self._signer.sign_out(request[SESSION_KEY])
        response = web.Response(status=303, headers={"Location": "/login"})
        detach(response)
        log.info("console.signed_out", user=viewer.name, client=client_of(request))
        return response

    async def _account(self, user: str) -> Credentials | None:
        return await console_users.credentials(self._pool, user) if console_users.name_problem(user) is None else None

    async def _verified(self, known: Credentials | None, password: str) -> bool:
        """Whether `password` is the account's; an unknown user costs the same verification as a known one."""
        stored = known.password_hash if known is not None else None
        if not await asyncio.to_thread(_verify, stored, password) or known is None:
            return False
        if passwords.needs_rehash(known.password_hash):  # hashed with older parameters: renew it now
            renewed = await asyncio.to_thread(passwords.hash_password, password)
            await console_users.renew_hash(self._pool, known.name, known.password_hash, renewed)
        return True


def _verify(stored: str | None, password: str) -> bool:
    """Run in a thread (argon2 releases the GIL): the event loop goes on meanwhile."""
    if stored is None:
        passwords.verify_password(passwords.dummy_hash(), password)
        return False
    return passwords.verify_password(stored, password)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""  # a file field where text was expected reads as nothing


def _page(
    request: web.Request, *, user: str, next_path: str, status: int = 200, error: str | None = None
) -> web.Response:
    return render(request, "login.html", status=status, user=user, next=next_path, error=error)
