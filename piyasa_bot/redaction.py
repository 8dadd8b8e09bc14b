"""The one redactor: what runs before any text is stored, logged or shown.

Two things are replaced: exact secrets the process knows (tokens from the
roster, an LLM key), and anything shaped like a bot token, known or not, in
every form it travels in: bare (`123456:AA…`), in a Bot API path
(`/bot123456:AA…/getMe`), URL-encoded (`bot123456%3AAA…`, also twice
encoded), as an HTML error page or aiohttp's redirect error echoes it. The
password of a URL (`postgresql://user:pw@host`, a proxy's) is replaced too.

A `Redactor` holds the known secrets. Code that has the roster passes one
where it is needed; the log formatter and the database writes, which cannot
be handed one, use the single process-wide `DEFAULT`, to which the runner
registers the roster's tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The one shape of a bot token: the bot's id, a colon, the secret part. Telegram's are 8-10
# digits and 35 characters; the bounds are lower so that a shortened token is still caught.
_BOT_ID, _COLON, _SECRET_PART = r"\d{4,}", r"(?::|%(?:25)?3[Aa])", r"[A-Za-z0-9_-]{20,}"
# As it is written in bots.yaml or the environment.
PLAIN_TOKEN = re.compile(rf"{_BOT_ID}:{_SECRET_PART}")
# Wherever it travels: bare, after `bot` in a URL path, its colon URL-encoded once or twice.
TOKEN_SHAPE = re.compile(rf"(?:bot)?{_BOT_ID}{_COLON}{_SECRET_PART}")
_TOKEN_START = re.compile(r"\d{4}:")  # in every token-shaped secret, so in any text that holds one
_URL_PASSWORD = re.compile(r"(?<=://)([^/@:\s]*):[^/@\s]+@")
MIN_SECRET = 8  # shorter "secrets" are not secrets, and replacing them would mangle messages
TOKEN = "<token>"
SECRET = "<secret>"


def looks_like_token(text: str) -> bool:
    return PLAIN_TOKEN.fullmatch(text) is not None


class Redactor:
    """Replaces the secrets it knows (longest first) by `label`, then every token shape."""

    def __init__(self, secrets: Iterable[str] = (), *, label: str = SECRET) -> None:
        self.label = label
        self._tokens: tuple[str, ...] = ()  # known secrets holding a bot id and colon (tokens)
        self._others: tuple[str, ...] = ()  # any other known secret (an API key, a password)
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Know these exact strings too; shorter than MIN_SECRET ones are ignored."""
        known = {*self._tokens, *self._others} | {secret for secret in secrets if len(secret) >= MIN_SECRET}
        ordered = sorted(known, key=len, reverse=True)
        # Each tuple is replaced in one assignment: safe for a formatter running in another thread.
        self._tokens = tuple(secret for secret in ordered if _TOKEN_START.search(secret))
        self._others = tuple(secret for secret in ordered if not _TOKEN_START.search(secret))

    def __len__(self) -> int:
        return len(self._tokens) + len(self._others)

    def __call__(self, text: str) -> str:
        for secret in self._others:
            if secret in text:
                text = text.replace(secret, self.label)
        # A text without a bot id and colon holds none of the token-shaped secrets: most log
        # lines skip the thousand substring searches of a large roster.
        if self._tokens and _TOKEN_START.search(text):
            for secret in self._tokens:
                if secret in text:
                    text = text.replace(secret, self.label)
        text = TOKEN_SHAPE.sub(TOKEN, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\1:{SECRET}@", text)
        return text

    def optional(self, text: str | None) -> str | None:
        return self(text) if text else text

    def error(self, error: BaseException) -> str:
        """`Kind: message` of an exception, redacted."""
        return self(f"{type(error).__name__}: {error}")

    def value(self, value: Any) -> Any:
        """Strings, exceptions, and the dicts, lists and tuples holding them, redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, BaseException):
            return self.error(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value


# The process-wide redactor: the log formatter's and the database writes'.
DEFAULT = Redactor()


def redact(text: str) -> str:
    """`text` through the process-wide redactor."""
    return DEFAULT(text)


def register_secrets(secrets: Iterable[str]) -> None:
    """Make the process-wide redactor replace these exact strings too (tokens of any shape, keys)."""
    DEFAULT.add(secrets)
