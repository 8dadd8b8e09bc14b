"""A frozen copy of piyasa_bot/ and sql/ that every process of a benchmark session runs.

The checkout may change while a session runs (other work on the tree); each
run starts a fresh runner, so without a copy the repeats of one case could
measure different code. The copy's content hash goes into the results.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Snapshot:
    def __init__(self) -> None:
        self.folder: Path | None = None
        self.digest = ""
        self.taken_at = ""
        self.keep = False

    def take(self, existing: Path | None = None, keep: bool = False, extra: tuple[str, ...] = ()) -> None:
        """Copy the checkout (or use `existing`, an earlier kept snapshot) and hash it.

        `extra`: more files (paths relative to the checkout) that child processes run from the copy.
        """
        self.keep = keep or existing is not None
        if existing is not None:
            self.folder = existing.resolve()
            if not (self.folder / "piyasa_bot").is_dir() or not (self.folder / "sql").is_dir():
                raise SystemExit(f"--code {existing}: expected piyasa_bot/ and sql/ in it")
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="piyasa-bench-code-", dir="/tmp"))
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / "piyasa_bot", self.folder / "piyasa_bot", ignore=ignore)
            shutil.copytree(ROOT / "sql", self.folder / "sql", ignore=ignore)
            for name in extra:
                (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.folder / name)
        digest = hashlib.sha256()
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql"):
                digest.update(str(path.relative_to(self.folder)).encode() + b"\0" + path.read_bytes())
        self.digest = digest.hexdigest()[:16]
        self.taken_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        # This process's own imports of piyasa_bot (embedded PostgreSQL, migrations, keys) too.
        sys.path.insert(0, str(self.folder))

    def env(self) -> dict[str, str]:
        if self.folder is None:
            return {}
        # Before site-packages, so it wins over the editable install of the checkout.
        return {"PYTHONPATH": os.pathsep.join(filter(None, [str(self.folder), os.environ.get("PYTHONPATH")]))}

    def remove(self) -> None:
        if self.folder is not None and self.keep:
            print(f"code snapshot kept in {self.folder} (reuse it with --code)", file=sys.stderr)
            self.folder = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
