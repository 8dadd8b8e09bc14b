"""Inside the runner's process during a soak: the Python heap every few seconds, a census of objects.

    python -m benchmarks.soak_heap --stats heap.jsonl [--every 10] [--census-every 60] -- <piyasa_bot arguments>

Starts a daemon thread, then runs `python -m piyasa_bot <arguments>` in this
process. Each line of `--stats` is one JSON sample: time, pymalloc's bytes in
allocated blocks and in arenas, glibc malloc's bytes in use and held free,
tracemalloc's traced bytes (with --tracemalloc N); every `--census-every` s
also the number of live gc-tracked objects per type (the frozen start-up
generation is not counted) and, with tracemalloc, the allocation sites that
grew most since the first census after `--warmup-end`. Only the standard
library is imported here, so the process is the runner's plus this thread.
A census walks every tracked object while holding the GIL (a fraction of a
second once a minute).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import json
import os
import re
import runpy
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any


def _pymalloc() -> dict[str, int]:
    """pymalloc's own figures, read from sys._debugmallocstats (it writes to the C stderr)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    for line in text.splitlines():  # a log line written meanwhile goes where it was going
        if line.startswith("{"):
            print(line, file=sys.stderr)
    found = {}
    for key, pattern in (
        ("pymalloc_arenas", r"\d+ arenas \* \d+ bytes/arena\s*=\s*([\d,]+)"),
        ("pymalloc_allocated", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
    ):
        match = re.search(pattern, text)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    return found


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc() -> dict[str, int]:
    """glibc's malloc: bytes in use (heap and mmapped) and bytes it holds free (fragmentation)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    return {"malloc_in_use": info.uordblks + info.hblkhd, "malloc_free": info.fordblks}


def _census(collect: bool) -> dict[str, int]:
    if collect:
        gc.collect()  # count what is reachable, not garbage waiting for a full collection
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():  # not the frozen generation: what start-up built is not counted
        kind = type(obj)
        counts[f"{kind.__module__}.{kind.__qualname__}"] += 1
    return {name: n for name, n in counts.items() if n >= 20}


def _where(traceback: tracemalloc.Traceback) -> str:
    """The allocating line first, then its callers; paths from the package or library folder on."""
    frames = []
    for frame in reversed(traceback):  # tracemalloc keeps the oldest frame first
        path = frame.filename
        for marker in ("/site-packages/", "/piyasa_bot/", "/lib/python3"):
            if marker in path:
                path = path[path.index(marker) + 1 :]
                break
        frames.append(f"{path}:{frame.lineno}")
    return " < ".join(frames)


def _sample_forever(path: Path, every: float, census_every: float, warmup_end: float, collect: bool) -> None:
    baseline: tracemalloc.Snapshot | None = None
    next_census = time.time()
    with open(path, "a", encoding="utf-8") as out:
        while True:
            sample: dict[str, Any] = {"t": time.time(), "blocks": sys.getallocatedblocks(), **_pymalloc(), **_malloc()}
            if tracemalloc.is_tracing():
                sample["traced"] = tracemalloc.get_traced_memory()[0]
            if sample["t"] >= next_census:
                next_census += census_every
                sample["census"] = _census(collect)
                if tracemalloc.is_tracing() and sample["t"] >= warmup_end:
                    snapshot = tracemalloc.take_snapshot()
                    if baseline is None:
                        baseline = snapshot
                    else:
                        grouping = "traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno"
                        sample["sites"] = [
                            {"where": _where(s.traceback), "kib": round(s.size_diff / 1024, 1), "count": s.count_diff}
                            for s in snapshot.compare_to(baseline, grouping)[:15]
                        ]
            out.write(json.dumps(sample) + "\n")
            out.flush()
            time.sleep(every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak_heap", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--census-every", type=float, default=60.0)
    parser.add_argument("--warmup-end", type=float, default=0.0, help="epoch seconds")
    parser.add_argument("--tracemalloc", type=int, default=0, help="frames to keep; 0: off")
    parser.add_argument("--collect", action="store_true")
    parser.add_argument("runner", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    threading.Thread(
        target=_sample_forever,
        name="soak-sampler",
        daemon=True,
        args=(args.stats, args.every, args.census_every, args.warmup_end, args.collect),
    ).start()
    sys.argv = ["piyasa_bot", *[a for a in args.runner if a != "--"]]
    runpy.run_module("piyasa_bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
