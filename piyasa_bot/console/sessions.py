"""Signed session cookies and the CSRF token bound to each; the secret that signs them.

A session is stateless: the cookie says `name|role|expires|nonce` and carries
an HMAC-SHA256 of that text and of the account's version (its updated_at), so
a cookie cannot be forged without the secret, and replacing or removing the
user ends every session it had. Nothing is stored server-side but the nonces
of sessions signed out, for as long as they would have lasted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from piyasa_bot.console.refused import ConsoleRefused

if TYPE_CHECKING:
    from piyasa_bot.settings import Settings

log = structlog.get_logger(__name__)

COOKIE = "piyasa_console"
LIFETIME = 12 * 3600  # seconds: a working day, then sign in again
LOCAL = "local"  # the role field of the anonymous session of a console on loopback without accounts
MIN_SECRET = 16  # characters of PIYASA_CONSOLE_SECRET
_HKDF_INFO = b"piyasa_bot console session cookies v1"  # another use of PIYASA_SECRET_KEY never yields this key
_MAX_SIGNED_OUT = 4096


@dataclass(frozen=True)
class Session:
    name: str  # "" for the anonymous session
    role: str  # a Role's value, or LOCAL
    expires: int  # POSIX seconds
    nonce: str

    @property
    def anonymous(self) -> bool:
        return self.role == LOCAL

    def text(self) -> str:
        return f"{self.name}|{self.role}|{self.expires}|{self.nonce}"


# The session a request came with, for the handlers that end it (POST /logout).
SESSION_KEY = web.RequestKey("console_session", Session)

# The version of the account a session was signed for, None when there is no such account now.
AccountVersion = Callable[[Session], str | None]


class SessionSigner:
    """Makes and checks session cookies and their CSRF tokens with one secret."""

    def __init__(self, secret: bytes, *, lifetime: int = LIFETIME, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._clock = clock
        self._signed_out: dict[str, int] = {}  # nonce -> expires, oldest first

    def new(self, name: str, role: str) -> Session:
        return Session(name, role, int(self._clock()) + self._lifetime, secrets.token_urlsafe(16))

    def cookie(self, session: Session, account_version: str) -> str:
        return f"{session.text()}|{self._signature(session, account_version)}"

    def read(self, cookie: str | None, account_version: AccountVersion) -> Session | None:
        """The session `cookie` holds when it is intact, unexpired, not signed out and its account unchanged."""
        if not cookie or len(cookie) > 512:
            return None
        parts = cookie.split("|")
        if len(parts) != 5 or not (parts[2].isascii() and parts[2].isdigit()):
            return None
        name, role, expires, nonce, signature = parts
        session = Session(name, role, int(expires), nonce)
        version = account_version(session)
        if version is None or not hmac.compare_digest(signature.encode(), self._signature(session, version).encode()):
            return None
        if session.expires <= self._clock() or nonce in self._signed_out:
            return None
        return session

    def csrf(self, session: Session) -> str:
        return self._mac(b"csrf", session.nonce)

    def csrf_matches(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf(session).encode())

    def sign_out(self, session: Session) -> None:
        """Refuse this session's cookie from now on, in this process (a copy of it may outlive the browser's)."""
        now = self._clock()
        while self._signed_out:  # the oldest first: expired, or beyond the cap
            nonce, expires = next(iter(self._signed_out.items()))
            if expires > now and len(self._signed_out) < _MAX_SIGNED_OUT:
                break
            del self._signed_out[nonce]
        self._signed_out[session.nonce] = session.expires

    def _signature(self, session: Session, account_version: str) -> str:
        return self._mac(b"session", f"{session.text()}|{account_version}")

    def _mac(self, purpose: bytes, text: str) -> str:
        return hmac.new(self._secret, purpose + b"\0" + text.encode(), hashlib.sha256).hexdigest()


def attach(response: web.StreamResponse, cookie: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE, cookie, max_age=LIFETIME, path="/", httponly=True, samesite="Strict", secure=secure or None
    )


def detach(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


def console_secret(settings: Settings) -> bytes:
    """The key that signs session cookies: PIYASA_CONSOLE_SECRET, else derived from PIYASA_SECRET_KEY, else new.

    Derived from the newest key of PIYASA_SECRET_KEY, sessions end when a key is prepended (rotation).
    With neither set the key is new at every start: sessions end when the runner restarts.
    """
    if settings.console_secret is not None:
        value = settings.console_secret.get_secret_value()
        if len(value) < MIN_SECRET:
            raise ConsoleRefused(
                f"PIYASA_CONSOLE_SECRET is shorter than {MIN_SECRET} characters: "
                "make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value.encode()
    keys = settings.secret_key.get_secret_value() if settings.secret_key is not None else ""
    first = keys.split(",")[0].strip()
    if first:
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(first.encode())
    log.info("console.sessions_end_at_restart", reason="neither PIYASA_CONSOLE_SECRET nor PIYASA_SECRET_KEY is set")
    return _process_secret()


@cache
def _process_secret() -> bytes:
    return os.urandom(32)
