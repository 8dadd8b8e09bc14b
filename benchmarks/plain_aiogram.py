"""The baseline for the ingest benchmark: aiogram used the plain way.

`Dispatcher.start_polling(*bots)` over one shared AiohttpSession, and a message
handler that writes every copy it gets with ONE
`INSERT ... ON CONFLICT DO NOTHING` through an asyncpg pool. No de-duplication
before the database, no batching: what a straightforward aiogram bot farm does.

    PLAIN_BOT_TOKENS=tok1,tok2,... python benchmarks/plain_aiogram.py \
        --api http://127.0.0.1:PORT --dsn postgresql://...

The schema must already be there (benchmarks/ingest.py applies the project's
migrations first). Tokens come from the environment, never from argv.
SIGTERM / SIGINT stop polling (aiogram's own signal handling).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

TOKENS_ENV = "PLAIN_BOT_TOKENS"

INSERT = """
INSERT INTO messages (chat_id, id_scope, telegram_message_id, bot_id, from_user_id, text,
                      reply_to_message_id, is_incoming, kind, copy_key, received_by, sent_at)
VALUES ($1, 0, $2, NULL, $3, $4, $5, true, $6, NULL, NULL, $7)
ON CONFLICT DO NOTHING
"""


async def store(message: Message, pool: asyncpg.Pool) -> None:
    sender = message.from_user or message.sender_chat
    reply = message.reply_to_message
    await pool.execute(
        INSERT,
        message.chat.id,
        message.message_id,
        sender.id if sender else None,
        message.text if message.text is not None else message.caption,
        reply.message_id if reply else None,
        str(message.content_type),
        message.date,
    )


async def main(args: argparse.Namespace) -> int:
    tokens = [token for token in os.environ.get(TOKENS_ENV, "").split(",") if token]
    if not tokens:
        print(f"{TOKENS_ENV} is empty", file=sys.stderr)
        return 2
    pool = await asyncpg.create_pool(args.dsn, min_size=1, max_size=args.pool_size, command_timeout=30)
    assert pool is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(args.api.rstrip("/")), limit=2 * len(tokens) + 16)
    bots = [Bot(token=token, session=session) for token in tokens]
    dispatcher = Dispatcher()
    dispatcher.message.register(store)
    try:
        await dispatcher.start_polling(*bots, polling_timeout=args.polling_timeout, pool=pool)
    finally:
        try:
            await asyncio.wait_for(pool.close(), timeout=10)
        except Exception as error:  # noqa: BLE001 - reporting, shutting down anyway
            print(f"pool close: {type(error).__name__}: {error}", file=sys.stderr)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="Bot API base URL (the emulator)")
    parser.add_argument("--dsn", required=True, help="PostgreSQL DSN of a database with the project's schema")
    parser.add_argument(
        "--polling-timeout",
        type=int,
        default=25,
        help="getUpdates timeout in s (default 25, as the piyasa runner; aiogram's own default is 10)",
    )
    parser.add_argument("--pool-size", type=int, default=10, help="asyncpg pool max_size (default 10, as the runner)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiogram logs every handled update at INFO; the runner under test silences it too.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    raise SystemExit(asyncio.run(main(parse_args())))
