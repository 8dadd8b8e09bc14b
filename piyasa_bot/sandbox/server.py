"""The Bot API over HTTP: /bot{token}/{method}, answered the way Telegram answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .faults import (
    Fault,
    FaultPlan,
    answer_fault,
    choose_fault,
    cut_inside_character,
    html_page,
    proxy_fault,
    without_first_update_id,
)
from .messages import bot_user_dict
from .models import ApiError, RequestRecord, not_found, too_many_requests, unauthorized
from .state import BotAccount, SandboxState

EMULATOR = web.AppKey("emulator", SandboxState)

# Form fields that carry JSON objects (aiogram serializes nested values so).
_JSON_FIELDS = frozenset(
    {"reply_parameters", "entities", "reply_markup", "link_preview_options", "allowed_updates", "reaction"}
)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class RawJson(bytes):
    """A result already encoded as JSON (getUpdates builds its array from stored bytes)."""


Handler = Callable[[SandboxState, BotAccount, dict[str, Any]], Awaitable[Any]]


async def read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in _FORM_TYPES:
            form = await request.post()
            params.update((key, value) for key, value in form.items() if isinstance(value, str))
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):  # not JSON: Telegram takes it as the plain string
                params[key] = json.loads(params[key])
    return params


def _int_param(params: dict[str, Any], key: str, default: int | None) -> int | None:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f'Bad Request: field "{key}" must be a number') from None


async def get_me(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    user = bot_user_dict(state.bot)
    user.update(can_join_groups=True, can_read_all_group_messages=not state.bot.privacy, supports_inline_queries=False)
    return user


async def get_updates(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    limit = min(max(_int_param(params, "limit", 100) or 100, 1), 100)
    try:  # Telegram takes whole seconds; fractions keep tests fast
        timeout = 0.0 if emu.closing else max(float(params.get("timeout") or 0), 0.0)
    except (TypeError, ValueError):
        raise ApiError(400, 'Bad Request: field "timeout" must be a number') from None
    if emu.longest_poll is not None:
        timeout = min(timeout, emu.longest_poll)
    batch = await state.queue.poll(_int_param(params, "offset", None), limit, timeout)
    return RawJson(b"[" + b",".join(batch) + b"]")


async def send_message(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return emu.send_message(state, params)


async def set_message_reaction(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return emu.set_message_reaction(state, params)


async def send_chat_action(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    emu.member_chat(state, params.get("chat_id"))
    return True


async def get_chat(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return emu.member_chat(state, params.get("chat_id")).as_dict


async def leave_chat(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return emu.leave_chat(state, params)


async def get_webhook_info(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return {"url": "", "has_custom_certificate": False, "pending_update_count": len(state.queue)}


async def always_true(emu: SandboxState, state: BotAccount, params: dict[str, Any]) -> Any:
    return True


# lower-case name -> (canonical name for logs and stats, handler)
METHODS: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler)
    for name, handler in [
        ("getMe", get_me),
        ("getUpdates", get_updates),
        ("sendMessage", send_message),
        ("sendChatAction", send_chat_action),
        ("setMessageReaction", set_message_reaction),
        ("getChat", get_chat),
        ("leaveChat", leave_chat),
        ("getWebhookInfo", get_webhook_info),
        ("deleteWebhook", always_true),
        ("close", always_true),
        ("logOut", always_true),
    ]
}


def _body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class _Dropped(Exception):
    """The connection was closed or reset on purpose: there is no answer to write."""


def _close(request: web.Request, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:  # linger 0: the kernel answers with RST instead of a clean FIN
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


def _proxy_answer(emu: SandboxState, fault: Fault, plan: FaultPlan, request: web.Request) -> web.Response:
    """What a misconfigured proxy in front of the Bot API answers: the API never sees the request."""
    emu.journal.count_fault(fault.value)
    if fault is Fault.HTML:
        return web.Response(
            text=html_page(plan.html_status, request.path), status=plan.html_status, content_type="text/html"
        )
    return web.Response(
        status=302,
        headers={"Location": request.path_qs},
        content_type="text/html",
        text=f'<html><body>Moved <a href="{request.path_qs}">here</a></body></html>',
    )


async def _apply_faults(emu: SandboxState, plan: FaultPlan, method: str, request: web.Request) -> None:
    """Faults that come before the method's effect: a failed send delivers nothing."""
    if plan.slow_ms:
        await asyncio.sleep(plan.slow_ms / 1000)
    fault = choose_fault(plan, emu.rng, method.lower())
    if fault is Fault.DROP:
        emu.journal.count_fault(fault.value)
        _close(request, reset=False)
        raise _Dropped()
    if fault is Fault.BAD_GATEWAY:
        emu.journal.count_fault(fault.value)
        raise ApiError(502, "Bad Gateway")
    if fault is Fault.RETRY_AFTER:
        emu.rate_limited["injected"] += 1
        raise too_many_requests(max(1, int(plan.retry_after)))


def _break_answer(
    emu: SandboxState, plan: FaultPlan, method: str, result: Any, body: bytes, request: web.Request
) -> bytes:
    """Faults that come after the effect (updates taken, message posted): the answer is what breaks."""
    fault = answer_fault(plan, emu.rng, method.lower(), isinstance(result, RawJson) and result != b"[]")
    if fault is None:
        return body
    emu.journal.count_fault(fault.value)
    if fault is Fault.CUT_UPDATES:
        return cut_inside_character(body)
    if fault is Fault.NO_UPDATE_ID:
        return without_first_update_id(body)
    if fault is Fault.CUT_SEND:
        return body[: len(body) // 2]
    _close(request, reset=True)  # RESET_AFTER_SEND
    raise _Dropped()


# piyasa_bot.telegram.runner_user_agent: "piyasa_bot (runner host:pid:hex)".
_RUNNER_AGENT = re.compile(r"piyasa_bot \(runner (?P<runner>[^()]+)\)")


def runner_of(request: web.Request) -> str | None:
    """The fleet runner that made this request, as its User-Agent names it (None: not named)."""
    found = _RUNNER_AGENT.search(request.headers.get("User-Agent", ""))
    return found["runner"] if found else None


async def handle_bot_api(request: web.Request) -> web.StreamResponse:
    arrived_at = time.time()
    emu = request.app[EMULATOR]
    state = emu.bot_for_token(request.match_info["token"])
    method, handler = METHODS.get(request.match_info["method"].lower()) or (request.match_info["method"], None)
    plan = emu.faults_for(state)
    params: dict[str, Any] = {}

    def record(status: int) -> None:
        name = state.bot.name if state else None
        emu.record(RequestRecord(name, method, status, time.time(), params, runner_of(request), arrived_at))

    try:
        params = await read_params(request)
        if state is not None and handler is get_updates:
            state.queue.note_call()
        proxy = proxy_fault(plan, emu.rng)
        if proxy is not None:
            answer = _proxy_answer(emu, proxy, plan, request)
            record(answer.status)
            return answer
        if state is None:
            raise unauthorized()
        if handler is None:
            raise not_found()
        await _apply_faults(emu, plan, method, request)
        result = await handler(emu, state, params)
        status = 200
        encoded = result if isinstance(result, RawJson) else _body(result)
        body = _break_answer(emu, plan, method, result, b'{"ok":true,"result":' + encoded + b"}", request)
    except ApiError as error:
        status, body = error.status, _body(error.payload())
    except _Dropped:
        record(0)
        # The transport is closed; aiohttp finds nothing to write to.
        raise web.HTTPServiceUnavailable() from None
    record(status)
    return web.Response(body=body, status=status, content_type="application/json")


def add_bot_api_routes(app: web.Application) -> None:
    app.router.add_route("*", "/bot{token}/{method}", handle_bot_api)
