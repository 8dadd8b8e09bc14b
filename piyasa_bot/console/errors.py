"""Every error a page can meet, as a page: a clear 4xx naming the problem, a 5xx without a trace.

A stack trace may carry a value from a query or the environment; the operator
sees the status and a sentence, the log the error's kind and its redacted text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from piyasa_bot.console.render import render
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.redaction import redact

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise  # a redirect
        return render(
            request,
            "error.html",
            status=error.status,
            reason=error.reason,
            message=error.text if error.text and not error.text.startswith(f"{error.status}:") else error.reason,
        )
    except DATABASE_ERRORS as error:
        log.warning("console.database_unavailable", path=request.path, error=type(error).__name__)
        return render(
            request,
            "error.html",
            status=503,
            reason="Service Unavailable",
            message="The database did not answer in time; the page will work again once it does.",
        )
    except Exception as error:
        log.error("console.error", path=request.path, error=f"{type(error).__name__}: {redact(str(error))}")
        return render(
            request,
            "error.html",
            status=500,
            reason="Internal Server Error",
            message="The console could not show this page; the runner's log says why (console.error).",
        )
