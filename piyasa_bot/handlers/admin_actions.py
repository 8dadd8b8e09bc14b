"""What each admin command does, and the short Turkish answer it gives."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from piyasa_bot.db import queries
from piyasa_bot.roster import ChatConfig

if TYPE_CHECKING:
    from piyasa_bot.conversation import Director
    from piyasa_bot.deps import Deps

MAX_PACE = 1200.0  # as ChatConfig.pace allows
NO_CONVERSATION = "Sohbet bu çalıştırmada kapalı (yalnızca kayıt)."
PACE_USAGE = f"Kullanım: /pace <saatte mesaj>, 0 ile {MAX_PACE:g} arası (0: sustur)."


@dataclass(frozen=True)
class Controls:
    chat: ChatConfig  # the bots.yaml entry
    chat_id: int  # the id Telegram uses now (differs after a supergroup upgrade)
    deps: Deps
    director: Director | None  # None when the runner only records


async def status(args: str, ctx: Controls) -> str:
    pairs = await queries.bot_chat_states(ctx.deps.pool, ctx.chat_id)
    active = sum(
        1
        for name, state, paired in pairs
        if paired and state != "disabled" and (ctx.director is None or ctx.director.is_active(name))
    )
    people, bots = await queries.chat_activity(ctx.deps.pool, ctx.chat_id)
    return "\n".join(
        [
            f"Durum: {ctx.chat.title or ctx.chat_id}",
            f"Etkin bot: {active}/{len(pairs)}",
            f"Son 1 saatte mesaj: {people + bots} (insan {people}, bot {bots})",
            f"Gönderim kuyruğu: {ctx.deps.outbox.backlog_of(ctx.chat_id)}",
            _conversation(ctx),
        ]
    )


def _conversation(ctx: Controls) -> str:
    director = ctx.director
    if director is None:
        return NO_CONVERSATION
    if director.paused:
        return "Sohbet: duraklatıldı (/resume ile devam)."
    pace = ctx.chat.pace * director.scale
    if pace == 0:
        return "Sohbet: susturuldu (tempo 0)."
    return f"Sohbet: açık, saatte ~{pace:g} mesaj."


async def pause(args: str, ctx: Controls) -> str:
    if ctx.director is None:
        return NO_CONVERSATION
    if ctx.director.paused:
        return "Sohbet zaten duraklatılmış. Devam için /resume."
    ctx.director.pause()
    return "Sohbet duraklatıldı. Devam için /resume."


async def resume(args: str, ctx: Controls) -> str:
    if ctx.director is None:
        return NO_CONVERSATION
    ctx.director.resume()
    return "Sohbet devam ediyor."


async def pace(args: str, ctx: Controls) -> str:
    requested = _number(args)
    if requested is None or not 0 <= requested <= MAX_PACE:
        return PACE_USAGE
    if ctx.director is None:
        return NO_CONVERSATION
    if requested > 0 and ctx.chat.pace == 0:
        return "bots.yaml bu sohbetin temposunu 0 veriyor; önce oradaki pace değerini değiştirin."
    # The director's rate is bots.yaml's pace times a scale: keep the pace, set the scale.
    ctx.director.scale = requested / ctx.chat.pace if requested else 0.0
    if requested == 0:
        return "Sohbet susturuldu (tempo 0). Açmak için /pace <saatte mesaj>."
    note = " Sohbet duraklatılmış; devam için /resume." if ctx.director.paused else ""
    return f"Tempo: saatte {requested:g} mesaj.{note}"


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))  # "1,5" is how a Turkish admin writes 1.5
    except ValueError:
        return None
    return value if math.isfinite(value) else None


Action = Callable[[str, Controls], Awaitable[str]]
ACTIONS: dict[str, Action] = {"status": status, "pause": pause, "resume": resume, "pace": pace}
