"""A roster in the database and a new roster while running: which bots start, which stop.

`register` writes the roster's chats and bots (tokens encrypted) and returns
each bot's database id. `apply_roster` takes an edited bots.yaml to the
running system: bots whose token is new or changed start, bots that are gone
(or whose token changed) stop and their queued messages wait out a grace
period in case the same bot is back (removal_grace.py), then end failed with
the reason, and everything else (chat settings, pairings, limits, the
conversation's directors) follows the new file, under the operator's stored
overrides (steering.py); a changed `market:` section
takes effect at the next start (said in the log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog

from piyasa_bot.db import queries
from piyasa_bot.logs import register_secrets

if TYPE_CHECKING:
    import asyncpg

    from piyasa_bot.crypto import TokenCipher
    from piyasa_bot.ingest.aliases import ChatAliases
    from piyasa_bot.roster import BotConfig
    from piyasa_bot.roster_loader import LoadedRoster
    from piyasa_bot.services import Services

log = structlog.get_logger(__name__)


class Fleet(Protocol):
    """What runs the bots (the runner): starts and stops one bot's polling."""

    def start_bot(self, bot: BotConfig, db_id: int, token: str) -> None: ...

    async def stop_bot(self, name: str) -> None: ...


@dataclass(frozen=True)
class RosterChange:
    added: list[str]  # new, or with a new token
    removed: list[str]  # gone, or with a new token (stopped, then started again as added)

    @classmethod
    def between(cls, old: LoadedRoster, new: LoadedRoster) -> RosterChange:
        before, after = old.tokens, new.tokens
        return cls(
            added=[name for name in after if before.get(name) != after[name]],
            removed=[name for name in before if after.get(name) != before[name]],
        )


async def register(
    pool: asyncpg.Pool, cipher: TokenCipher, aliases: ChatAliases, loaded: LoadedRoster
) -> dict[str, int]:
    """Upsert the roster's chats, bots and pairings in one transaction; bot name -> database id.

    A few statements for the whole roster, not a few per bot (1,000 bots: 2,000 round trips before).
    """
    roster = loaded.roster
    chats = [(chat.id, chat.title) for chat in roster.chats]
    bots = [
        # A chat Telegram renumbered is paired under the id it has now.
        queries.RosterBot(bot.name, cipher.encrypt(loaded.tokens[bot.name]), [aliases.current(c) for c in bot.chats])
        for bot in roster.bots
    ]
    async with pool.acquire() as conn, conn.transaction():
        return await queries.register_roster(conn, chats, bots)


async def apply_roster(
    services: Services, fleet: Fleet, cipher: TokenCipher, old: LoadedRoster, new: LoadedRoster
) -> RosterChange:
    """Take the running system from `old` to `new`; a failure before any bot stops changes nothing."""
    change = RosterChange.between(old, new)
    register_secrets(new.tokens.values())
    ids = await register(services.pool, cipher, services.aliases, new)
    for name in change.removed:
        await fleet.stop_bot(name)
        services.removals.removed(name, old.tokens[name])
    roster = new.roster
    for bot in roster.bots:
        services.listeners.join(bot.name, [services.aliases.current(chat) for chat in bot.chats])
    services.deps.use_roster(roster)
    services.outbox.limits.update(roster.limits)
    for name in change.added:
        fleet.start_bot(roster.bot(name), ids[name], new.tokens[name])
        await services.removals.added(name, new.tokens[name])  # back within the grace: its messages go out
    if services.rooms is not None:
        services.rooms.apply(roster)
    services.deps.steering.reapply()  # the new directors keep the operator's pauses, paces and disabled bots
    if roster.market != old.roster.market:
        # The market's sources, tasks and HTTP session are built once, at start.
        log.warning("roster.market_changed", applies="at the next start of the runner")
    log.info(
        "roster.applied", added=change.added, removed=change.removed, bots=len(roster.bots), chats=len(roster.chats)
    )
    return change
