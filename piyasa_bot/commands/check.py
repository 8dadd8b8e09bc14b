"""`check`: validate bots.yaml and the environment, then reach every bot with getMe.

Every line it prints passes one `Redactor` that knows the roster's tokens: an
HTML error page or a redirect that echoes the request URL (`/bot<token>/getMe`)
is named for what it is, never printed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, TextIO

from piyasa_bot.redaction import Redactor

if TYPE_CHECKING:  # aiogram is imported only once `check` talks to Telegram (it takes seconds)
    from aiogram.client.session.aiohttp import AiohttpSession

    from piyasa_bot.bootstrap import Prepared
    from piyasa_bot.settings import Settings

BOT_UNREACHABLE = 1


class NotBotApi(Exception):
    """The server answered, but not with the Bot API's JSON (a proxy's or web server's page)."""

    def __init__(self, status: int, html: bool) -> None:
        super().__init__(f"answered {'HTML' if html else 'something other than Bot API JSON'} (status {status})")
        self.status = status


def _session(api_base: str, bots: int) -> AiohttpSession:
    """aiogram's session, keeping the status of an answer it cannot decode (aiogram drops it)."""
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import ClientDecodeError

    class CheckSession(AiohttpSession):
        def check_response(self, bot: Any, method: Any, status_code: int, content: str) -> Any:
            try:
                return super().check_response(bot, method, status_code, content)
            except ClientDecodeError:
                raise NotBotApi(status_code, content.lstrip().startswith("<")) from None

    # Sized as telegram.shared_session sizes the runner's.
    return CheckSession(api=TelegramAPIServer.from_base(api_base.rstrip("/")), limit=2 * bots + 16)


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
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError

    from piyasa_bot.telegram import make_bot

    roster, tokens = prepared.loaded.roster, prepared.loaded.tokens
    redact = Redactor(tokens.values())
    base = redact(settings.telegram_api)
    api = f"the Bot API at {base}"
    wrong_api = "is PIYASA_TELEGRAM_API right?"
    session = _session(settings.telegram_api, len(roster.bots))
    failures = 0

    async def reach(index: int, name: str) -> str:
        bot = make_bot(tokens[name], session)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            return f"FAIL  {name}: bots[{index}].token: the Bot API rejected the token (401 Unauthorized)"
        except NotBotApi as error:
            return f"FAIL  {name}: {api} {error}: {wrong_api}"
        except TelegramNetworkError as error:
            if "TooManyRedirects" in error.message:
                return f"FAIL  {name}: {api} redirects in a loop (too many redirects): {wrong_api}"
            return f"FAIL  {name}: cannot reach {base}: {redact(str(error))}"
        except TelegramAPIError as error:
            return f"FAIL  {name}: bots[{index}]: {redact(str(error))}"
        except Exception as error:  # noqa: BLE001  # still one line, never a traceback with a URL in it
            return f"FAIL  {name}: {api} gave an unusable answer: {redact.error(error)}"
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
