"""Who may look and who may steer: the console's access middleware, built by `open_access`.

Every page needs a signed-in session except /login and /static/; a viewer
reads, an operator also changes things. Every request that changes something
(any method but GET and HEAD) carries the CSRF token bound to its session and,
when the browser says where it came from (Origin), comes from this console.

A console on 127.0.0.1 without any account lets its local operator in without
signing in, but not without the CSRF token: a hostile web page can still make
the operator's own browser POST to 127.0.0.1. Beyond 127.0.0.1 the console
does not start until an operator account exists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from piyasa_bot.console.accounts import FRESH_FOR, Account, AccountBook
from piyasa_bot.console.headers import security_headers
from piyasa_bot.console.login import SignIn
from piyasa_bot.console.login_limit import LoginLimit
from piyasa_bot.console.refused import ConsoleRefused
from piyasa_bot.console.render import VIEWER_KEY
from piyasa_bot.console.sessions import COOKIE, LOCAL, SESSION_KEY, Session, SessionSigner, attach
from piyasa_bot.console.viewer import Role, Viewer
from piyasa_bot.db import console_users

__all__ = ["ConsoleAccess", "ConsoleRefused", "is_loopback", "open_access"]

SAFE_METHODS = frozenset({"GET", "HEAD"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
LOCAL_OPERATOR = "local"

NO_CSRF = (
    "This change did not come with the console's token (CSRF): the page may be older than your session, "
    "or the request came from another site. Reload the page and try again."
)
FOREIGN_ORIGIN = "This change came from a page of another site (its Origin is not this console): refused."
VIEWERS_DO_NOT_STEER = "You are signed in as a viewer: viewers see every page but change nothing. Ask an operator."
UNREADABLE_FORM = "The form could not be read."


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    bare = host.strip().strip("[]").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


async def open_access(pool: asyncpg.Pool, host: str, secret: bytes, *, fresh_for: float = FRESH_FOR) -> ConsoleAccess:
    """The access control for a console on `host`; ConsoleRefused when it would be open beyond this machine."""
    loopback = is_loopback(host)
    if not loopback and await console_users.count_operators(pool) == 0:
        raise ConsoleRefused(
            f"the console listens on {host}, beyond this machine: add an operator first with "
            "`python -m piyasa_bot console-user add NAME --role operator`"
        )
    signer = SessionSigner(secret)
    return ConsoleAccess(
        signer, AccountBook(pool, fresh_for=fresh_for), SignIn(pool, signer, LoginLimit()), loopback=loopback
    )


class ConsoleAccess:
    """The `Access` of piyasa_bot.console.server: a middleware and the sign-in routes."""

    def __init__(self, signer: SessionSigner, accounts: AccountBook, sign_in: SignIn, *, loopback: bool) -> None:
        self._signer = signer
        self._accounts = accounts
        self._sign_in = sign_in
        self._loopback = loopback

    @property
    def middleware(self) -> Middleware:
        return self._middleware

    def add_routes(self, app: web.Application) -> None:
        self._sign_in.add_routes(app)
        app.on_response_prepare.append(security_headers)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        changes = request.method not in SAFE_METHODS
        if changes:
            _refuse_foreign_origin(request)
        if request.path == "/login" or request.path.startswith("/static/"):
            return await handler(request)
        accounts = await self._accounts.current()
        if not accounts and self._loopback:
            return await self._as_local_operator(request, handler)
        session = self._signer.read(request.cookies.get(COOKIE), lambda s: _account_version(accounts, s))
        if session is None:
            raise web.HTTPSeeOther(_login_location(request))
        viewer = Viewer(session.name, Role(session.role), self._signer.csrf(session))
        if changes:
            await self._require_csrf(request, session)
            if not viewer.may_steer and request.path != "/logout":
                raise web.HTTPForbidden(text=VIEWERS_DO_NOT_STEER)
        request[VIEWER_KEY] = viewer
        request[SESSION_KEY] = session
        return await handler(request)

    async def _as_local_operator(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """No account and only this machine can connect: the operator, with a session of no one for CSRF."""
        session = self._signer.read(request.cookies.get(COOKIE), lambda s: "" if s.anonymous else None)
        new = session is None
        if session is None:
            session = self._signer.new("", LOCAL)
        if request.method not in SAFE_METHODS:
            await self._require_csrf(request, session)  # a new session has no token anyone could know
        request[VIEWER_KEY] = Viewer(LOCAL_OPERATOR, Role.OPERATOR, self._signer.csrf(session), can_sign_out=False)
        request[SESSION_KEY] = session
        try:
            response = await handler(request)
        except web.HTTPException as raised:  # a redirect or an error page carries the cookie as well
            if new:
                attach(raised, self._signer.cookie(session, ""), secure=request.secure)
            raise
        if new and not response.prepared:  # a stream (live view) has sent its headers: the next page brings it
            attach(response, self._signer.cookie(session, ""), secure=request.secure)
        return response

    async def _require_csrf(self, request: web.Request, session: Session) -> None:
        token = request.headers.get("X-CSRF-Token")
        if token is None and request.content_type in FORM_TYPES:
            try:
                form = await request.post()  # kept by aiohttp: the handler reads the same form again
            except ValueError:
                raise web.HTTPBadRequest(text=UNREADABLE_FORM) from None
            value = form.get("csrf")
            token = value if isinstance(value, str) else None
        if not self._signer.csrf_matches(session, token):
            raise web.HTTPForbidden(text=NO_CSRF)


def _account_version(accounts: Mapping[str, Account], session: Session) -> str | None:
    """The version a user's session must be signed for: None when the user is gone or has another role now."""
    account = accounts.get(session.name)
    if account is None or session.anonymous or account.role.value != session.role:
        return None
    return account.version


def _refuse_foreign_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text=FOREIGN_ORIGIN)


def _login_location(request: web.Request) -> str:
    """/login, with the page to come back to when there is one (a form's target is not a page)."""
    if request.method in SAFE_METHODS and request.path != "/":
        return "/login?" + urlencode({"next": request.path_qs})
    return "/login"
