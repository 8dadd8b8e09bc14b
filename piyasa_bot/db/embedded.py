"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is unset."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any


def start_embedded(data_dir: Path, database: str = "postgres", *, stop_at_exit: bool = False) -> str:
    """Start (or reuse) a PostgreSQL under `data_dir/pg` and return its DSN.

    By default the server outlives the process (a crashed runner's restart finds
    it running); tests ask for it to stop when they exit.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(data_dir).resolve() / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server: Any = pgserver.get_server(Path(data_dir).resolve() / "pg", cleanup_mode="stop" if stop_at_exit else None)
    uri: str = server.get_uri(database)
    return uri
