"""One aiohttp application listening on host:port, for /metrics and for the console alike."""

from __future__ import annotations

from aiohttp import web


class PortUnavailable(OSError):
    """The port cannot be bound (taken, or not ours to use); the message says which and for what."""


class HttpSite:
    """`app` served on host:port (port 0: any free port; `port` tells which once started)."""

    def __init__(self, app: web.Application, host: str, port: int, serves: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.serves = serves  # for the error: "/metrics and /healthz", "the console"
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self.stop()
            raise PortUnavailable(
                f"cannot listen on {self.host}:{self.port} for {self.serves}: {error.strerror or error}"
            ) from error
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
