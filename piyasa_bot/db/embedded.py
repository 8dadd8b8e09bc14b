"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is unset."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pgserver is imported only when a server is wanted
    from pgserver.postgres_server import PostgresServer


class EmbeddedPostgres:
    """A PostgreSQL under `data_dir/pg`, started on first use.

    By default the server outlives the process, so a crashed runner's restart
    finds it running; tests ask for it to stop when they exit. `stop` and
    `start` exist for outage drills (tests, `loadtest --db-outage`).
    """

    def __init__(self, data_dir: Path, *, stop_at_exit: bool = False) -> None:
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver asks platformdirs for a runtime dir, which needs XDG_RUNTIME_DIR.
        runtime = Path(os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run")))
        runtime.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

            self._server: PostgresServer = get_server(data_dir / "pg", cleanup_mode="stop" if stop_at_exit else None)

    def dsn(self, database: str = "postgres") -> str:
        return self._server.get_uri(database)

    def stop(self) -> None:
        # pgserver makes one function per PostgreSQL binary at import time (setattr), so its
        # typing cannot name them.
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def start(self) -> None:
        self._server.ensure_postgres_running()


def start_embedded(data_dir: Path, database: str = "postgres", *, stop_at_exit: bool = False) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its DSN."""
    return EmbeddedPostgres(data_dir, stop_at_exit=stop_at_exit).dsn(database)
