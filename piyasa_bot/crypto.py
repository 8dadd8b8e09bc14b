"""Encrypting bot tokens at rest with the Fernet key(s) in PIYASA_SECRET_KEY.

PIYASA_SECRET_KEY holds one or more Fernet keys, comma-separated, newest
first. Encryption always uses the newest key; decryption tries every key
(MultiFernet), so a key can be rotated without a flag day: prepend the new
key, run `rotate-key`, then drop the old one.

An encrypted token is written "enc:<fernet token>" so a reader (and
`bots.yaml`) can tell it apart from a `${ENV}` reference or a plain token.
No message raised here ever contains a key or a token.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:"
SETTING = "PIYASA_SECRET_KEY"


class SecretKeyError(ValueError):
    """A key that cannot be used or a value that cannot be decrypted; names the problem, never the secret."""


def generate_key() -> str:
    """A fresh Fernet key, ready to put in PIYASA_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def _split(value: str) -> str:
    return value.removeprefix(PREFIX)


class TokenCipher:
    """Encrypts with the newest key, decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError(f"{SETTING} is set but holds no key")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("utf-8")))
            except (ValueError, TypeError):
                # `from None`: the chained cryptography/binascii error adds nothing and must not travel.
                raise SecretKeyError(
                    f"{SETTING}: key {number} of {len(keys)} is not a valid Fernet key (32 url-safe base64 bytes)"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._key_count = len(fernets)

    @classmethod
    def from_setting(cls, value: str | None) -> TokenCipher | None:
        """The cipher for PIYASA_SECRET_KEY's value, or None when it is unset or empty."""
        if value is None or not value.strip():
            return None
        # Spaces around commas are forgiven; an empty slot ("a,,b") is an error, not silently skipped,
        # so "key 2 of 3" always means the second thing the operator wrote.
        parts = [part.strip() for part in value.split(",")]
        for number, part in enumerate(parts, start=1):
            if not part:
                raise SecretKeyError(f"{SETTING}: key {number} of {len(parts)} is empty (a stray comma?)")
        return cls(parts)

    @property
    def key_count(self) -> int:
        return self._key_count

    def encrypt(self, token: str) -> str:
        """`enc:<fernet>` encrypted with the newest key."""
        return PREFIX + self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str) -> str:
        """The plain token from `enc:<fernet>` or a bare fernet token."""
        try:
            plain = self._fernet.decrypt(_split(value.strip()).encode("utf-8"))
        except InvalidToken:
            raise SecretKeyError(f"cannot be decrypted with any key in {SETTING}") from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretKeyError("decrypts to something that is not text") from None

    def rotate(self, value: str) -> str:
        """The same token re-encrypted with the newest key, in the form it came in (`enc:` kept or bare)."""
        value = value.strip()
        try:
            rotated = self._fernet.rotate(_split(value).encode("utf-8")).decode("ascii")
        except InvalidToken:
            raise SecretKeyError(f"cannot be decrypted with any key in {SETTING}") from None
        return PREFIX + rotated if value.startswith(PREFIX) else rotated

    @staticmethod
    def is_encrypted(value: str) -> bool:
        return value.strip().startswith(PREFIX)

    def __repr__(self) -> str:
        # Never the keys themselves: a repr ends up in logs and tracebacks.
        return f"TokenCipher(keys={self._key_count})"
