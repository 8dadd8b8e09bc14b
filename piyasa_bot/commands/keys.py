"""`keygen`, `encrypt-token` and `rotate-key`: tokens at rest."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from piyasa_bot.crypto import SecretKeyError, generate_key

if TYPE_CHECKING:
    from piyasa_bot.settings import Settings


def keygen(out: TextIO = sys.stdout) -> int:
    print(generate_key(), file=out)
    return 0


def encrypt_token(settings: Settings, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    from piyasa_bot.bootstrap import secret_cipher

    cipher = secret_cipher(settings)
    if cipher is None:
        raise SecretKeyError("PIYASA_SECRET_KEY is not set; create one with `python -m piyasa_bot keygen`")
    token = stdin.readline().strip()
    if not token:
        raise SecretKeyError('no token on standard input (try: echo "$TOKEN" | python -m piyasa_bot encrypt-token)')
    print(cipher.encrypt(token), file=out)
    return 0


async def rotate_key(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Re-encrypt every stored token with the newest key, all or nothing."""
    # Imported here: `keygen` and `encrypt-token` answer at once without the database's modules.
    import asyncpg

    from piyasa_bot.bootstrap import database_dsn, secret_cipher
    from piyasa_bot.db import queries
    from piyasa_bot.db.migrate import apply_migrations

    cipher = secret_cipher(settings)
    if cipher is None:
        raise SecretKeyError("PIYASA_SECRET_KEY is not set: put the new key first, then the old ones")
    conn = await asyncpg.connect(database_dsn(settings))
    try:
        await apply_migrations(conn)
        async with conn.transaction():
            stored = await queries.stored_tokens(conn)
            # Decrypt everything first: one undecryptable token changes nothing.
            rotated = [(bot_id, cipher.rotate(value)) for bot_id, value in stored]
            for bot_id, value in rotated:
                await queries.replace_token(conn, bot_id, value)
    finally:
        await conn.close()
    print(f"re-encrypted {len(rotated)} stored token(s) with the newest key", file=out)
    return 0
