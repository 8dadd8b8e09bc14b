"""Diagnostics only: log every garbage collection of this process.

Put this folder on PYTHONPATH of the process under test (`benchmarks.ingest
--runner-env PYTHONPATH=benchmarks/diag --runner-env GC_LOG=/tmp/gc.jsonl`)
and at exit one JSON line is appended to $GC_LOG with every collection:
wall time at start, generation, wall ms, CPU ms, objects collected, and for
full (generation 2) collections the number of objects the collector tracks.
Nothing happens unless GC_LOG is set.
"""

import atexit
import gc
import json
import os
import time

_path = os.environ.get("GC_LOG")
if _path:
    _events = []
    _started = [0.0, 0.0, 0.0, 0]

    def _callback(phase, info):
        if phase == "start":
            tracked = len(gc.get_objects()) if info["generation"] == 2 else 0
            _started[:] = [time.perf_counter(), time.process_time(), time.time(), tracked]
        else:
            _events.append(
                (
                    _started[2],
                    info["generation"],
                    (time.perf_counter() - _started[0]) * 1000,
                    (time.process_time() - _started[1]) * 1000,
                    info["collected"],
                    _started[3],
                )
            )

    def _dump():
        gc.callbacks.remove(_callback)
        with open(_path, "a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "objects_at_exit": len(gc.get_objects()),
                        "threshold": gc.get_threshold(),
                        "events": _events,
                    }
                )
                + "\n"
            )

    gc.callbacks.append(_callback)
    atexit.register(_dump)

# GC_FREEZE_AFTER_IMPORT=SECONDS: once the runner's modules are imported, wait
# that long (startup finishing) and move every object alive then into the
# permanent generation (gc.freeze()), as a candidate fix would do at startup.
_freeze_after = os.environ.get("GC_FREEZE_AFTER_IMPORT")
if _freeze_after:
    import sys
    import threading

    def _freeze_later():
        while "piyasa_bot.commands.run" not in sys.modules and "aiogram.dispatcher.dispatcher" not in sys.modules:
            time.sleep(0.2)
        time.sleep(float(_freeze_after))
        gc.collect()
        gc.freeze()
        print(
            f"sitecustomize: gc.freeze() at {time.time():.2f}, frozen {gc.get_freeze_count()}",
            file=sys.stderr,
            flush=True,
        )

    threading.Thread(target=_freeze_later, daemon=True).start()
