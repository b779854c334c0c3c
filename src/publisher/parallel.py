"""Running a pure function over many items on every CPU core.

The build's expensive stages (parsing posts, rendering pages) are pure functions of data already in memory, so
worker processes forked from the build inherit that data and the compiled templates for free and only send
their results back. Forking is used only where it is safe and worth it: on a POSIX system, with more than one
core, from a process with no other threads running, and for enough items to repay starting the workers.
Otherwise the items are simply processed here, in order; the result is the same either way.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
MIN_ITEMS = 64
# Parsing a post or rendering a page takes about a millisecond: for fewer than this many, forking workers (and
# the copies of memory they cause) costs more than the second core gives back. Measured: a 1,000-post site
# builds as fast in one process, with a fifth less CPU; a 4,000-post site a quarter faster with workers.
MIN_PAGES = 2_000
CHUNKS_PER_WORKER = 4  # every worker-th item goes to one chunk, so slow items (tag pages) spread out

_work: tuple | None = None  # (function, items, pieces, shared counter): what forked workers run, inherited at fork


def map_parallel(function: Callable[[T], R], items: Sequence[T], min_items: int = MIN_ITEMS,
                 meanwhile: Callable[[], None] | None = None) -> list[R]:
    """`[function(item) for item in items]`, spread over the cores when that is safe and worth it.

    This process works too, alongside one forked worker per other core: all take the next chunk of items
    from a shared counter until none is left, so a slow chunk never holds the others up. Only the workers'
    results travel (pickled) back to here, a chunk at a time. `meanwhile`, if given, is run here first, while
    the workers make a start (serially, before the items, when nothing is forked).
    """
    if len(items) < min_items or (workers := worker_count()) < 2:
        if meanwhile is not None:
            meanwhile()
        return [function(item) for item in items]
    import multiprocessing  # only where work is spread: a process that never forks does not pay for it
    global _work
    pieces = min(len(items), workers * CHUNKS_PER_WORKER)
    context = multiprocessing.get_context("fork")
    _work = (function, items, pieces, context.Value("i", 0))
    gc.freeze()  # the collector must not touch (and so copy) every inherited object in the workers
    try:
        with context.Pool(workers - 1) as pool:
            from_workers = pool.imap_unordered(_take_chunk, range(pieces))
            if meanwhile is not None:
                meanwhile()
            parts = list(iter(_take_chunk, None))
            parts += [part for part in from_workers if part is not None]
    finally:
        gc.unfreeze()
        _work = None
    results: list = [None] * len(items)
    for start, part in parts:
        results[start::pieces] = part
    return results


def worker_count() -> int:
    """How many worker processes to use: the usable cores, or 1 where forking is not safe."""
    import multiprocessing
    if os.name != "posix" or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _take_chunk(_: int = 0) -> tuple[int, list] | None:
    """Take the next chunk (every `pieces`-th item from a start) off the shared counter and do it; None when
    none is left. Each chunk's results go back as soon as they are done, so no worker piles them up."""
    function, items, pieces, counter = _work
    with counter.get_lock():
        start = counter.value
        counter.value += 1
    if start >= pieces:
        return None
    return start, [function(items[i]) for i in range(start, len(items), pieces)]
