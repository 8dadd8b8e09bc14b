"""What handlers need, injected as one typed object through the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from piyasa_bot.ingest.pipeline import Recorder

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.roster import Roster
    from piyasa_bot.sending.outbox import Outbox


@dataclass
class Deps:
    recorder: Recorder
    roster: Roster
    outbox: Outbox
    pool: Any  # asyncpg.Pool, for handlers that read (admin /status)
    rooms: ChatRooms | None = None  # None when the runner only records
