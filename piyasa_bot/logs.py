"""Logging: structlog for our lines, the same stream for aiogram's and asyncpg's.

A console renderer on a terminal, JSON lines otherwise. Every line passes
`redact_secrets` (the process-wide redactor of `piyasa_bot.redaction`) last, so
a bot token never reaches the output, not even inside the URL of an aiohttp
exception. `redact` and `register_secrets` are re-exported from there.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from piyasa_bot.redaction import DEFAULT, redact, register_secrets

# `redact` and `register_secrets` stay importable from here until every caller uses piyasa_bot.redaction.
__all__ = ["configure_logging", "redact", "redact_secrets", "register_secrets"]


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: DEFAULT.value(value) for key, value in event_dict.items()}


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, stream: Any = None, cache_loggers: bool = True
) -> None:
    """Configure structlog and the stdlib root logger.

    `cache_loggers=False` is for tests that configure logging in-process: a cached logger keeps
    the processors of its first use, which `structlog.testing.capture_logs` in a later test cannot replace.
    """
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=cache_loggers,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; that belongs at DEBUG here.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
