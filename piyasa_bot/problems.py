"""What is wrong with the configuration, each reason where the user reads it (`bots[3].persona.risk`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RosterError(Exception):
    """The roster cannot be used; `problems` lists every reason, one per line in str()."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Refused(Exception):
    """One reason, already worded for the user (the location is added by who catches it)."""
