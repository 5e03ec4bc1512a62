"""Memory settings of the bot's long-running processes (docs/adr/0020).

glibc's malloc gives each thread that contends for the main heap an arena of its own, up
to eight per CPU, and memory freed in an arena is seldom given back to the system. A
threaded Python server (gunicorn's request threads, the work processes' pools) so keeps
the high-water mark of every arena it ever used. `MALLOC_ARENA_MAX=2` is the well-known
cap for such servers; the bot sets it itself so that `python -m bot serve` (the Procfile,
the benchmark, a developer's shell) always runs with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

MALLOC_ARENAS = 2
# mallopt's parameter number for the arena cap (glibc's malloc.h).
_M_ARENA_MAX = -8


def give_back_free_memory() -> None:
    """Return the free memory at the top of malloc's heaps to the system (glibc's
    malloc_trim). A work process calls it when it goes idle: what a burst's work
    allocated and freed stays with the process otherwise, counted against the dyno's
    quota for hours."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None)


def limit_malloc_arenas() -> None:
    """Cap this process's malloc arenas, and those of the processes it starts, at
    MALLOC_ARENAS, unless MALLOC_ARENA_MAX is set (glibc has read it already: the
    operator's choice stands). Called first thing, before any thread exists."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    # For processes started with exec from this one; forked ones inherit the cap below.
    os.environ["MALLOC_ARENA_MAX"] = str(MALLOC_ARENAS)
    # Not glibc (musl, macOS): there is no such cap to set, and nothing to do.
    with contextlib.suppress(OSError, AttributeError):
        _libc().mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
