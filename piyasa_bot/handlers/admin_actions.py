"""What each admin command does, and the short Turkish answer it gives.

/pause, /resume and /pace go through the runner's Steering (steering.py), as the
console does: the change is stored, so that a restart and a bots.yaml reload keep it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from piyasa_bot.db import queries
from piyasa_bot.roster import ChatConfig
from piyasa_bot.steering import (
    MAX_PACE,
    ChatState,
    ConversationOff,
    InvalidPace,
    NotSaved,
    PaceRefused,
    SteeringError,
    parse_pace,
)

if TYPE_CHECKING:
    from piyasa_bot.conversation import Director
    from piyasa_bot.deps import Deps

NO_CONVERSATION = "Sohbet bu çalıştırmada kapalı (yalnızca kayıt)."
PACE_USAGE = f"Kullanım: /pace <saatte mesaj>, 0 ile {MAX_PACE:g} arası (0: sustur)."
PACE_REFUSED = "bots.yaml bu sohbetin temposunu 0 veriyor; önce oradaki pace değerini değiştirin."
NOT_SAVED = "Değişiklik kaydedilemedi (veritabanı yanıt vermedi); hiçbir şey değişmedi. Tekrar deneyin."


@dataclass(frozen=True)
class Controls:
    chat: ChatConfig  # the bots.yaml entry
    chat_id: int  # the id Telegram uses now (differs after a supergroup upgrade)
    deps: Deps
    director: Director | None  # None when the runner only records
    by: str  # who gave the command, as the stored change names them


async def status(args: str, ctx: Controls) -> str:
    pairs = await queries.bot_chat_states(ctx.deps.pool, ctx.chat_id)
    steering = ctx.deps.steering
    active = sum(
        1
        for name, state, paired in pairs
        if paired
        and state != "disabled"
        and not steering.is_disabled(name)
        and (ctx.director is None or ctx.director.is_active(name))
    )
    people, bots = await queries.chat_activity(ctx.deps.pool, ctx.chat_id)
    lines = [
        f"Durum: {ctx.chat.title or ctx.chat_id}",
        f"Etkin bot: {active}/{len(pairs)}",
        f"Son 1 saatte mesaj: {people + bots} (insan {people}, bot {bots})",
        f"Gönderim kuyruğu: {ctx.deps.outbox.backlog_of(ctx.chat_id)}",
    ]
    if ctx.director is None:
        lines.append(NO_CONVERSATION)
    else:
        state = steering.chat_state(ctx.chat.id)
        lines.append(_conversation(state))
        if state.differs_from_yaml:
            lines.append(_stored(state))
    disabled = [name for name, _, _ in pairs if steering.is_disabled(name)]
    if disabled:
        lines.append(f"Kapatılmış bot (operatör): {', '.join(disabled)}")
    return "\n".join(lines)


def _conversation(state: ChatState) -> str:
    if state.paused:
        return "Sohbet: duraklatıldı (/resume ile devam)."
    if state.pace == 0:
        return "Sohbet: susturuldu (tempo 0)."
    return f"Sohbet: açık, saatte ~{state.pace:g} mesaj."


def _stored(state: ChatState) -> str:
    """The override bots.yaml does not say, and who set it: it lasts across restarts."""
    changes = ["duraklatıldı"] if state.paused else []
    if state.pace_differs and state.pace_override is not None:
        changes.append(f"tempo {state.pace_override:g} (bots.yaml: {state.yaml_pace:g})")
    when = state.updated_at.strftime("%Y-%m-%d %H:%M UTC") if state.updated_at is not None else "?"
    return f"Kalıcı ayar: {', '.join(changes)}; son değiştiren {state.updated_by}, {when}."


async def pause(args: str, ctx: Controls) -> str:
    if ctx.director is None:
        return NO_CONVERSATION
    if ctx.deps.steering.chat_state(ctx.chat.id).paused:
        return "Sohbet zaten duraklatılmış. Devam için /resume."
    try:
        await ctx.deps.steering.pause(ctx.chat.id, ctx.by)
    except SteeringError as error:
        return _refusal(error)
    return "Sohbet duraklatıldı. Devam için /resume."


async def resume(args: str, ctx: Controls) -> str:
    if ctx.director is None:
        return NO_CONVERSATION
    try:
        await ctx.deps.steering.resume(ctx.chat.id, ctx.by)
    except SteeringError as error:
        return _refusal(error)
    return "Sohbet devam ediyor."


async def pace(args: str, ctx: Controls) -> str:
    try:
        requested = parse_pace(args)
    except InvalidPace:
        return PACE_USAGE
    if ctx.director is None:
        return NO_CONVERSATION
    try:
        state = await ctx.deps.steering.set_pace(ctx.chat.id, requested, ctx.by)
    except SteeringError as error:
        return _refusal(error)
    if requested == 0:
        return "Sohbet susturuldu (tempo 0). Açmak için /pace <saatte mesaj>."
    note = " Sohbet duraklatılmış; devam için /resume." if state.paused else ""
    return f"Tempo: saatte {requested:g} mesaj.{note}"


def _refusal(error: SteeringError) -> str:
    match error:
        case PaceRefused():
            return PACE_REFUSED
        case ConversationOff():
            return NO_CONVERSATION
        case InvalidPace():
            return PACE_USAGE
        case NotSaved():
            return NOT_SAVED
    return f"Yapılamadı: {error}"  # UnknownTarget cannot come from a chat's own command


Action = Callable[[str, Controls], Awaitable[str]]
ACTIONS: dict[str, Action] = {"status": status, "pause": pause, "resume": resume, "pace": pace}
