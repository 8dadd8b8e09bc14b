"""Who is looking at the console, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads every page, changes nothing
    OPERATOR = "operator"  # also steers: pause, pace, disable


@dataclass(frozen=True)
class Viewer:
    name: str
    role: Role
    csrf: str  # the token every state-changing form carries, bound to this session
    can_sign_out: bool = True  # False for the local operator of a console on 127.0.0.1 without accounts

    @property
    def may_steer(self) -> bool:
        return self.role is Role.OPERATOR
