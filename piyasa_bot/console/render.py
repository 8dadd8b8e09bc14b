"""Pages from templates: one Jinja2 environment, autoescaped, for every console page."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from aiohttp import web

from piyasa_bot.console.viewer import Viewer

# Set by the access middleware on every request it lets through (piyasa_bot.console.access).
# A RequestKey, not a str: aiohttp warns about str keys (and the tests turn warnings into errors).
VIEWER_KEY = web.RequestKey("viewer", Viewer)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("piyasa_bot.console", "templates"),
        autoescape=True,  # every value is text, never markup: a message cannot inject a tag
        undefined=jinja2.StrictUndefined,  # a template that names a missing value fails its test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    return env


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """`template` filled with `context`, plus `viewer` (who is looking, None before sign-in), `path` and `status`."""
    viewer = request.get(VIEWER_KEY)
    page = environment().get_template(template).render(viewer=viewer, path=request.path, status=status, **context)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def _clock(moment: datetime | None) -> str:
    """A stored time as the operator reads it: UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "—"
