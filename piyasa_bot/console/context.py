"""What the console's pages read and steer through: one object, kept in the application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from piyasa_bot.deps import Deps
    from piyasa_bot.metrics_collector import RunnerView
    from piyasa_bot.steering import Steering


@dataclass(frozen=True)
class ConsoleContext:
    deps: Deps  # the roster as applied now, the pool, the bots, the outbox, the chat rooms
    runner: RunnerView  # the pollers' states, as /metrics reads them

    @property
    def steering(self) -> Steering:
        """Pause, pace, disable: the same stored changes as the admin commands (steering.py)."""
        return self.deps.steering


CONTEXT = web.AppKey("console", ConsoleContext)


def context_of(request: web.Request) -> ConsoleContext:
    return request.app[CONTEXT]
