"""A local Telegram Bot API emulator for tests, `simulate` and `loadtest`."""

from .crowd import Crowd, CrowdPost, CrowdResult, CrowdSpec, Person
from .emulator import Emulator
from .faults import FaultPlan
from .limits import EmulatorLimits, limits_for
from .models import PostedMessage, ReactionRecord, RequestRecord, SandboxBot, SentMessage

__all__ = [
    "Crowd",
    "CrowdPost",
    "CrowdResult",
    "CrowdSpec",
    "Emulator",
    "EmulatorLimits",
    "FaultPlan",
    "Person",
    "PostedMessage",
    "ReactionRecord",
    "RequestRecord",
    "SandboxBot",
    "SentMessage",
    "limits_for",
]
