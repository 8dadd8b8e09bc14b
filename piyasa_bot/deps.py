"""What handlers need, injected as one typed object through the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from piyasa_bot.ingest.pipeline import Recorder

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms


@dataclass
class Deps:
    recorder: Recorder
    rooms: ChatRooms | None = None  # None until the conversation starts
