"""What handlers need, injected as one typed object through the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from piyasa_bot.ingest.pipeline import Recorder


@dataclass
class Deps:
    recorder: Recorder
