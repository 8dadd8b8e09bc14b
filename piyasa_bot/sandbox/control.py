"""The control API (/control/...): drive the emulator from another process."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from .crowd import Crowd, CrowdSpec
from .faults import FaultPlan
from .limits import limits_for
from .server import EMULATOR


class CrowdSlot:
    """The one crowd a control client may run at a time, and its task."""

    def __init__(self) -> None:
        self.crowd: Crowd | None = None
        self.task: asyncio.Task | None = None

    async def close(self, app: web.Application) -> None:
        if self.crowd is not None:
            self.crowd.stop()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


CROWD = web.AppKey("crowd", CrowdSlot)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error":"body must be JSON"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error":"body must be a JSON object"}', content_type="application/json")
    return body


def _client_errors(handler: Handler) -> Handler:
    """Wrong names or fields from a control client are its mistake: 400, not 500."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (KeyError, ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)

    return guarded


async def add_bot(request: web.Request) -> web.Response:
    body = await _json(request)
    bot = request.app[EMULATOR].add_bot(body["name"], body.get("username"), bool(body.get("privacy", True)))
    return web.json_response({"id": bot.id, "name": bot.name, "username": bot.username, "token": bot.token})


async def add_chat(request: web.Request) -> web.Response:
    body = await _json(request)
    emu = request.app[EMULATOR]
    emu.add_chat(int(body["id"]), body.get("title", ""), body.get("type", "supergroup"), body.get("members", []))
    return web.json_response({"id": int(body["id"]), "members": [b.name for b in emu.members(int(body["id"]))]})


async def change_member(request: web.Request) -> web.Response:
    body = await _json(request)
    emu = request.app[EMULATOR]
    by_user = int(body["by_user"]) if body.get("by_user") is not None else None  # tell the bot, as Telegram does
    if body.get("remove"):
        emu.remove_member(int(body["chat_id"]), body["name"], by_user, bool(body.get("kicked")))
    else:
        emu.add_member(int(body["chat_id"]), body["name"], by_user)
    return web.json_response({"ok": True})


async def post(request: web.Request) -> web.Response:
    body = await _json(request)
    posted = request.app[EMULATOR].post(
        int(body["chat_id"]),
        int(body["user_id"]),
        body["text"],
        body.get("first_name", "Kullanıcı"),
        reply_to_message_id=body.get("reply_to_message_id"),
        entities=body.get("entities"),
        username=body.get("username"),
    )
    return web.json_response(posted.to_json())


async def sent(request: web.Request) -> web.Response:
    since = int(request.query.get("since", 0))
    messages = request.app[EMULATOR].sent_since(since)
    return web.json_response({"messages": [m.to_json() for m in messages], "next": since + len(messages)})


async def reactions(request: web.Request) -> web.Response:
    """Bots' reactions from index `since` on (message ids in the people's numbering)."""
    since = int(request.query.get("since", 0))
    found = request.app[EMULATOR].reactions()[since:]
    return web.json_response({"reactions": [r.to_json() for r in found], "next": since + len(found)})


async def posted(request: web.Request) -> web.Response:
    """People's messages from index `since` on, with who received them (no per-bot copies)."""
    since = int(request.query.get("since", 0))
    messages = request.app[EMULATOR].posted[since:]
    rows = [
        {
            "chat_id": m.chat_id,
            "message_id": m.message_id,
            "user_id": m.user_id,
            "available_at": m.available_at,
            "recipients": len(m.recipients),
        }
        for m in messages
    ]
    return web.json_response({"messages": rows, "next": since + len(rows)})


async def set_limits(request: web.Request) -> web.Response:
    body = await _json(request)
    limits = limits_for(float(body["global_per_second"]), int(body["per_bot_chat_per_minute"]))
    request.app[EMULATOR].use_limits(limits)
    return web.json_response(asdict(limits))


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[EMULATOR].stats())


async def set_faults(request: web.Request) -> web.Response:
    """Fields of a FaultPlan to set; with "bot": that bot's own plan (which then replaces the global one
    for it); "clear": true first resets the plan (a bot's: it is back under the global plan)."""
    body = await _json(request)
    emu = request.app[EMULATOR]
    bot, clear = body.pop("bot", None), bool(body.pop("clear", False))
    if bot is not None:
        if clear:
            emu.clear_bot_faults(str(bot))
            if not body:
                return web.json_response({"bot": bot, "plan": None})
        plan = emu.bot_faults(str(bot))
    else:
        plan = emu.faults
        if clear:
            plan.update(asdict(FaultPlan()))
    plan.update(body)
    return web.json_response({"bot": bot, "plan": asdict(plan)} if bot is not None else asdict(plan))


async def get_faults(request: web.Request) -> web.Response:
    """The global plan and every bot's own."""
    emu = request.app[EMULATOR]
    return web.json_response(
        {"global": asdict(emu.faults), "bots": {name: asdict(plan) for name, plan in emu.bot_fault_plans().items()}}
    )


async def revoke(request: web.Request) -> web.Response:
    request.app[EMULATOR].revoke((await _json(request))["name"])
    return web.json_response({"ok": True})


async def wait_confirmed(request: web.Request) -> web.Response:
    body = await _json(request)
    try:
        await request.app[EMULATOR].wait_confirmed(float(body.get("timeout", 10.0)))
    except TimeoutError:
        return web.json_response({"confirmed": False})
    return web.json_response({"confirmed": True})


async def polling(request: web.Request) -> web.Response:
    """Who polls: per bot getUpdates calls, the latest one's time, an open long poll, pending updates."""
    emu = request.app[EMULATOR]
    per_bot = {name: status.to_json() for name, status in emu.polling().items()}
    return web.json_response(
        {
            "bots": len(per_bot),
            "polled": emu.bots_polled,
            "waiting": sum(1 for s in per_bot.values() if s["waiting"]),
            "per_bot": per_bot,
        }
    )


async def polls(request: web.Request) -> web.Response:
    """?since=&until= (time.time()): the getUpdates that came in, oldest first, each with the runner that sent it."""
    until = request.query.get("until")
    found = request.app[EMULATOR].journal.polls(float(request.query.get("since", 0)), float(until) if until else None)
    rows = [
        {"bot": r.bot_name, "runner": r.runner, "arrived_at": r.arrived_at, "at": r.at, "status": r.status}
        for r in found
    ]
    return web.json_response({"polls": rows, "conflicts": request.app[EMULATOR].conflicts})


async def wait_polled(request: web.Request) -> web.Response:
    """{"count": N (default every bot), "timeout": s}: answers once N bots have called getUpdates, or at timeout."""
    body = await _json(request)
    emu = request.app[EMULATOR]
    count = int(body["count"]) if body.get("count") is not None else None
    try:
        await emu.wait_bots_polled(count, float(body.get("timeout", 10.0)))
    except TimeoutError:
        return web.json_response({"ready": False, "polled": emu.bots_polled})
    return web.json_response({"ready": True, "polled": emu.bots_polled})


async def start_crowd(request: web.Request) -> web.Response:
    slot = request.app[CROWD]
    if slot.crowd is not None and slot.crowd.running:
        return web.json_response({"error": "a crowd is already running"}, status=409)
    slot.crowd = Crowd(request.app[EMULATOR], CrowdSpec.from_json(await _json(request)))
    slot.task = asyncio.create_task(slot.crowd.run())
    return web.json_response({"started": True, "people": slot.crowd.progress()["people"]})


async def crowd_status(request: web.Request) -> web.Response:
    """?wait=SECONDS waits (at most that long) for the crowd to finish."""
    slot = request.app[CROWD]
    if slot.crowd is None or slot.task is None:
        return web.json_response({"error": "no crowd started"}, status=404)
    wait = float(request.query.get("wait", 0))
    if wait > 0:
        await asyncio.wait({slot.task}, timeout=wait)
    failed = slot.task.done() and not slot.task.cancelled() and slot.task.exception()
    status = {**slot.crowd.progress(), "result": slot.crowd.result.to_dict()}
    if failed:
        status["error"] = repr(failed)
    return web.json_response(status)


def add_control_routes(app: web.Application) -> None:
    slot = app[CROWD] = CrowdSlot()
    app.on_cleanup.append(slot.close)
    app.router.add_post("/control/bots", _client_errors(add_bot))
    app.router.add_post("/control/chats", _client_errors(add_chat))
    app.router.add_post("/control/members", _client_errors(change_member))
    app.router.add_post("/control/post", _client_errors(post))
    app.router.add_get("/control/sent", _client_errors(sent))
    app.router.add_get("/control/stats", _client_errors(stats))
    app.router.add_get("/control/posted", _client_errors(posted))
    app.router.add_get("/control/reactions", _client_errors(reactions))
    app.router.add_post("/control/limits", _client_errors(set_limits))
    app.router.add_post("/control/faults", _client_errors(set_faults))
    app.router.add_get("/control/faults", _client_errors(get_faults))
    app.router.add_post("/control/revoke", _client_errors(revoke))
    app.router.add_post("/control/wait_confirmed", _client_errors(wait_confirmed))
    app.router.add_get("/control/polling", _client_errors(polling))
    app.router.add_get("/control/polls", _client_errors(polls))
    app.router.add_post("/control/wait_polled", _client_errors(wait_polled))
    app.router.add_post("/control/crowd", _client_errors(start_crowd))
    app.router.add_get("/control/crowd", _client_errors(crowd_status))
