"""Why the console will not start: a sentence for the operator, never a secret."""

from __future__ import annotations


class ConsoleRefused(Exception):
    """The runner ends with this message (e.g. a console beyond 127.0.0.1 without an operator account)."""
