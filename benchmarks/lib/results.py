"""A benchmark's results: a JSON file and a Markdown file named after the run, the Markdown printed."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def write_results(out: Path, name: str, started: float, result: dict[str, Any], text: str, *, tag: str = "") -> Path:
    """`out`/`name`-<UTC time of `started`>[`tag`].json and .md; returns the stem (without a suffix)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}{tag}"
    stem.with_name(stem.name + ".json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    stem.with_name(stem.name + ".md").write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {stem}.json, {stem}.md", file=sys.stderr)
    return stem
