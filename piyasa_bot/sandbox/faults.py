"""Faults the emulator can inject, decided by one seeded random source.

Three moments, as a real path to Telegram fails:

- before the Bot API sees the request, a misconfigured proxy answers: an HTML
  error page echoing the path (token included) or a redirect to itself;
- before the method's effect: a dropped connection, 502, 429 (nothing happens);
- after the effect, the answer is broken: a getUpdates body cut inside a UTF-8
  character or with an update missing its update_id, a sendMessage whose message
  IS posted but whose connection is reset or whose answer is cut short.

A plan is global (`Emulator.faults`) or a bot's own (`Emulator.bot_faults(name)`),
which then replaces the global one for that bot's requests.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any


@dataclass
class FaultPlan:
    """Mutable on purpose: tests and the control API change it while running. Rates are per request, 0..1."""

    rate_429: float = 0.0  # sendMessage answered 429 + retry_after (not a violation)
    rate_5xx: float = 0.0  # any method answered 502 Bad Gateway
    slow_ms: int = 0  # every answer delayed by this much
    drop_rate: float = 0.0  # sendMessage/getUpdates: connection closed, no answer
    retry_after: int = 1
    html_rate: float = 0.0  # any method: an HTML error page whose text echoes the path, token included
    html_status: int = 404  # that page's status: 404 (a wrong base URL) or 502 (a proxy whose upstream is down)
    redirect_rate: float = 0.0  # any method: 302 to the same URL, a loop (aiohttp gives up: TooManyRedirects)
    cut_updates_rate: float = 0.0  # getUpdates with updates: 200, the body cut inside a UTF-8 character
    no_update_id_rate: float = 0.0  # getUpdates with updates: the first update has no update_id
    reset_after_send_rate: float = 0.0  # sendMessage: the message is posted, then the connection is reset
    cut_send_rate: float = 0.0  # sendMessage: the message is posted, the 200 answer is cut in half

    def update(self, values: Mapping[str, Any]) -> None:
        """Set fields by name (as the control API gets them), checked: ValueError on a wrong name or value."""
        known = {f.name: f for f in fields(self)}
        unknown = values.keys() - known.keys()
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        checked = {name: type(getattr(self, name))(value) for name, value in values.items()}
        for name, value in checked.items():
            if name.endswith("_rate") or name.startswith("rate_"):
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{name} is a probability (0..1), not {value}")
            elif name == "html_status" and not 400 <= value <= 599:
                raise ValueError(f"html_status must be an HTTP error status (400..599), not {value}")
            elif value < 0:
                raise ValueError(f"{name} cannot be negative")
        for name, value in checked.items():
            setattr(self, name, value)


class Fault(Enum):
    DROP = "drop"
    BAD_GATEWAY = "5xx"
    RETRY_AFTER = "429"
    HTML = "html"
    REDIRECT = "redirect"
    CUT_UPDATES = "cut_utf8"
    NO_UPDATE_ID = "no_update_id"
    RESET_AFTER_SEND = "reset_after_send"
    CUT_SEND = "cut_send"


_DROPPABLE = frozenset({"sendmessage", "getupdates"})

# Draws happen only for rates that are set, so a run without faults keeps the
# random sequence (and so the rest of the emulator) reproducible.


def proxy_fault(plan: FaultPlan, rng: random.Random) -> Fault | None:
    """What a misconfigured proxy answers instead of the Bot API, if anything."""
    if plan.html_rate and rng.random() < plan.html_rate:
        return Fault.HTML
    if plan.redirect_rate and rng.random() < plan.redirect_rate:
        return Fault.REDIRECT
    return None


def choose_fault(plan: FaultPlan, rng: random.Random, method: str) -> Fault | None:
    """The fault that stops this request before its effect, if any; `method` is lower-case."""
    if plan.drop_rate and method in _DROPPABLE and rng.random() < plan.drop_rate:
        return Fault.DROP
    if plan.rate_5xx and rng.random() < plan.rate_5xx:
        return Fault.BAD_GATEWAY
    if plan.rate_429 and method == "sendmessage" and rng.random() < plan.rate_429:
        return Fault.RETRY_AFTER
    return None


def answer_fault(plan: FaultPlan, rng: random.Random, method: str, has_updates: bool) -> Fault | None:
    """The fault that breaks a successful answer after its effect, if any; `method` is lower-case."""
    if method == "getupdates" and has_updates:
        if plan.cut_updates_rate and rng.random() < plan.cut_updates_rate:
            return Fault.CUT_UPDATES
        if plan.no_update_id_rate and rng.random() < plan.no_update_id_rate:
            return Fault.NO_UPDATE_ID
    elif method == "sendmessage":
        if plan.reset_after_send_rate and rng.random() < plan.reset_after_send_rate:
            return Fault.RESET_AFTER_SEND
        if plan.cut_send_rate and rng.random() < plan.cut_send_rate:
            return Fault.CUT_SEND
    return None


def cut_inside_character(body: bytes) -> bytes:
    """`body` ending right after the first byte of a multi-byte UTF-8 character (from the middle on).

    An all-ASCII body has no such character: it is cut in half instead.
    """
    middle = len(body) // 2
    leads = [i for i, byte in enumerate(body) if byte >= 0xC0]
    if not leads:
        return body[:middle]
    after = [i for i in leads if i >= middle]
    return body[: (after[0] if after else leads[-1]) + 1]


_FIRST_UPDATE_ID = re.compile(rb'^\{"ok":true,"result":\[\{"update_id":\d+,')


def without_first_update_id(body: bytes) -> bytes:
    """A getUpdates answer whose first update lacks its update_id."""
    return _FIRST_UPDATE_ID.sub(b'{"ok":true,"result":[{', body, count=1)


_REASONS = {404: "Not Found", 502: "Bad Gateway", 503: "Service Unavailable", 500: "Internal Server Error"}


def html_page(status: int, path: str) -> str:
    """An Apache-style error page that echoes the requested path, as a misconfigured proxy's does."""
    reason = _REASONS.get(status, "Error")
    detail = (
        f"The requested URL {path} was not found on this server."
        if status == 404
        else f"The proxy server received an invalid response from an upstream server while serving {path}."
    )
    return (
        f'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>{status} {reason}</title>\n'
        f"</head><body>\n<h1>{reason}</h1>\n<p>{detail}</p>\n<hr>\n<address>Apache Server</address>\n"
        "</body></html>\n"
    )
