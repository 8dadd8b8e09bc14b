"""A fixture that captures the log lines the package writes (JSON, after redaction)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from piyasa_bot.logs import configure_logging


@pytest.fixture(name="log_lines")
def capture_log_lines() -> Iterator[io.StringIO]:
    """Import into a test module; tests then ask for `log_lines`."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream, cache_loggers=False)
    yield stream
    root.handlers[:], root.level = handlers, level
