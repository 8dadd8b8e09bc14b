"""Give the C heap's free pages back to the system now and then (glibc's malloc_trim).

A soak at 34 messages a second showed the Python heap flat after its first
ten minutes while the process grew ~0.8 MiB a minute: memory glibc held
*free* (mallinfo2's fordblks) went from 4 to 20 MiB in 20 minutes, scattered
between live blocks by the bodies of getUpdates answers (bytes objects of
every size, allocated by malloc, not pymalloc). glibc returns such pages only
from the top of the heap on its own; `malloc_trim(0)` hands back every free
page anywhere in it (madvise), in about a millisecond for this heap.

The hour's soak with the trimmer alone still grew ~0.2 MiB a minute after
the warm-up, all of it in free memory between live blocks. glibc raises its
mmap threshold each time a large block is freed (up to 32 MiB), after which
medium-sized buffers (getUpdates bodies, asyncpg's read buffers) come from
the heap and leave holes when freed; fixing the threshold (mallopt
M_MMAP_THRESHOLD, which turns the raising off) keeps blocks of 128 KiB and
more in their own mappings, returned whole when freed. M_ARENA_MAX 2: the
loop's thread and the few helper threads share two arenas instead of one
each, so free memory is not stranded in arenas nobody allocates from.

Elsewhere than glibc (musl, macOS) there is nothing to call, and the task
does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

TRIM_EVERY = 60.0  # seconds
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, fixed
ARENA_MAX = 2
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # <malloc.h>


def configure_allocator() -> bool:
    """Fix glibc's mmap threshold and cap its arenas (see the module's docstring); False elsewhere."""
    mallopt = _libc("mallopt", [ctypes.c_int, ctypes.c_int])
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_ARENA_MAX, ARENA_MAX))


def _glibc_trim() -> Callable[[int], int] | None:
    return _libc("malloc_trim", [ctypes.c_size_t])


def _libc(name: str, argtypes: list[type]) -> Callable[..., int] | None:
    """glibc's function `name` (returning int), or None where the C library has none."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = argtypes, ctypes.c_int
    return function


class MallocTrimmer:
    """A background task that calls malloc_trim(0) every `every` seconds (where glibc has it)."""

    def __init__(self, every: float = TRIM_EVERY) -> None:
        self.every = every
        self.trims = 0
        self._trim = _glibc_trim()
        self._task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self._trim is not None

    def trim(self) -> None:
        if self._trim is not None:
            self._trim(0)
            self.trims += 1

    def start(self) -> None:
        if self._trim is not None and self._task is None:
            configure_allocator()
            self._task = asyncio.create_task(self._run(), name="malloc-trim")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.trim()
