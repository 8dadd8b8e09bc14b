"""Summarise a `py-spy record -f raw` profile: top self time, and inclusive time of chosen frames.

    python benchmarks/diag/pyspy_top.py PROFILE.txt [SUBSTRING ...]

Frames are "function (file)" with line numbers dropped; a SUBSTRING selects
which frames get an inclusive line (e.g. _poll_once ChatRooms.heard).
"""

from __future__ import annotations

import collections
import sys


def main(path: str, keys: list[str]) -> None:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip()
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            samples = int(count)
            total += samples
            frames = [f.rsplit(":", 1)[0] + ")" if ":" in f else f for f in stack.split(";")]
            own[frames[-1]] += samples
            for frame in set(frames):
                inclusive[frame] += samples
    print(f"samples: {total}")
    print("-- self, top 25")
    for frame, samples in own.most_common(25):
        print(f"{100 * samples / total:5.1f}% {frame}")
    if keys:
        print("-- inclusive")
        for frame, samples in inclusive.most_common():
            if any(key in frame for key in keys):
                print(f"{100 * samples / total:5.1f}% {frame}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
