"""`check`: validate bots.yaml and the environment, then reach every bot with getMe."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError

from piyasa_bot.bootstrap import Prepared
from piyasa_bot.logs import redact
from piyasa_bot.settings import Settings
from piyasa_bot.telegram import make_bot, shared_session

BOT_UNREACHABLE = 1


def basic_group_advice(prepared: Prepared) -> list[str]:
    advice = []
    for index, chat in enumerate(prepared.loaded.roster.chats):
        if not chat.is_supergroup:
            advice.append(
                f"chats[{index}].id: {chat.id} is a basic group; there every bot numbers messages on its own. "
                "Upgrade it to a supergroup (Telegram: group settings > chat history visible) for exact de-duplication"
            )
    return advice


async def reach_bots(settings: Settings, prepared: Prepared, out: TextIO = sys.stdout) -> int:
    roster, tokens = prepared.loaded.roster, prepared.loaded.tokens
    session = shared_session(settings.telegram_api, len(roster.bots))
    failures = 0

    async def reach(index: int, name: str) -> str:
        bot = make_bot(tokens[name], session)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            return f"FAIL  {name}: bots[{index}].token: the Bot API rejected the token (401 Unauthorized)"
        except TelegramNetworkError as error:
            return f"FAIL  {name}: cannot reach {settings.telegram_api}: {redact(str(error))}"
        except TelegramAPIError as error:
            return f"FAIL  {name}: bots[{index}]: {redact(str(error))}"
        privacy = "off" if me.can_read_all_group_messages else "on"
        return f"ok    {name}: @{me.username} (id {me.id}, privacy mode {privacy})"

    try:
        lines = await asyncio.gather(*(reach(i, bot.name) for i, bot in enumerate(roster.bots)))
    finally:
        await session.close()
    for line in lines:
        failures += line.startswith("FAIL")
        print(line, file=out)
    for advice in basic_group_advice(prepared):
        print(f"note  {advice}", file=out)
    for warning in prepared.loaded.warnings:
        print(f"warn  {warning}", file=out)
    print(f"{len(roster.bots) - failures} of {len(roster.bots)} bots reachable", file=out)
    return BOT_UNREACHABLE if failures else 0
