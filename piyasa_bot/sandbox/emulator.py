"""The emulator as a running server: state plus the Bot API and control routes."""

from __future__ import annotations

import ssl
from typing import Self

from aiohttp import web

from .control import add_control_routes
from .faults import FaultPlan
from .limits import EmulatorLimits
from .server import EMULATOR, add_bot_api_routes
from .state import SandboxState


class Emulator(SandboxState):
    """A local Telegram Bot API; use in-process (same loop) or via `python -m piyasa_bot.sandbox`."""

    def __init__(
        self,
        limits: EmulatorLimits | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        longest_poll: float | None = None,
    ):
        super().__init__(limits, faults, seed, longest_poll)
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        app = web.Application()
        app[EMULATOR] = self
        add_bot_api_routes(app)
        add_control_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None) -> str:
        """Serve on host:port (0 picks a free port); returns "http://host:port" ("https://" with ssl_context)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self.closing = False
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.base_url = f"{'https' if ssl_context else 'http'}://{bound_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Answer waiting long polls at once, then close the server."""
        self.closing = True
        for state in self._bots.values():
            state.queue.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()
