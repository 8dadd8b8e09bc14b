"""Logging: structlog for our lines, the same stream for aiogram's and asyncpg's.

A console renderer on a terminal, JSON lines otherwise. Every line passes
`redact_secrets` last, so a bot token never reaches the output, not even
inside the URL of an aiohttp exception.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

import structlog

# Anything shaped like a bot token, bare or inside a Bot API URL path.
_TOKEN_SHAPE = re.compile(r"(?:bot)?\d{4,}:[A-Za-z0-9_-]{20,}")
_known_secrets: set[str] = set()


def register_secrets(secrets: Iterable[str]) -> None:
    """Make these exact strings redacted too (tokens of any shape, keys)."""
    _known_secrets.update(secret for secret in secrets if len(secret) >= 8)


def redact(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "<secret>")
    return _TOKEN_SHAPE.sub("<token>", text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(item) for item in value]
    return value


def redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {key: _redact_value(value) for key, value in event_dict.items()}


def configure_logging(level: str = "INFO", *, json: bool | None = None, stream: Any = None) -> None:
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
        cache_logger_on_first_use=True,
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
