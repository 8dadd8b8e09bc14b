"""Console passwords as argon2id hashes (argon2-cffi, its RFC 9106 default parameters).

Verifying costs tens of milliseconds and 64 MiB by design: callers in the
event loop run it in a thread and bound how many run at once.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error

MIN_LENGTH = 10
MAX_LENGTH = 1024  # a password is typed or pasted; longer is a mistake, not a passphrase

_HASHER = PasswordHasher()


def password_problem(password: str) -> str | None:
    """Why `password` may not be a console password, or None."""
    if not password:
        return "the password is empty"
    if len(password) < MIN_LENGTH:
        return f"the password is shorter than {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password is longer than {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a wrong password and for a hash that is not argon2's."""
    try:
        return _HASHER.verify(password_hash, password)
    except (Argon2Error, ValueError, TypeError):  # InvalidHashError is a ValueError
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (renewed at the next sign-in)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (Argon2Error, ValueError, TypeError):  # InvalidHashError is a ValueError
        return False  # not a hash of ours: verify_password refused it already


@cache
def dummy_hash() -> str:
    """A hash no password is known for: an unknown user name costs the same verification as a known one."""
    return _HASHER.hash("not a password anyone signs in with")
