"""How the runner serves the console: where, and with which key its session cookies are signed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from piyasa_bot.settings import Settings


@dataclass(frozen=True)
class ConsoleOptions:
    port: int = 0  # 0: any free port (tests)
    host: str = "127.0.0.1"
    secret: bytes = field(default=b"", repr=False)  # b"": a new random key for this process


def console_options(settings: Settings) -> ConsoleOptions | None:
    """From PIYASA_CONSOLE_PORT/HOST/SECRET; None when no console port is set."""
    if settings.console_port is None:
        return None
    from piyasa_bot.console.sessions import console_secret  # aiohttp: not for `migrate` and the other light commands

    return ConsoleOptions(port=settings.console_port, host=settings.console_host, secret=console_secret(settings))
