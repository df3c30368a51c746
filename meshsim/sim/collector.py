"""Python's cyclic garbage collector, paced for a run.

A run allocates a handful of objects per request and frees them by reference counting as the
request finishes. CPython still starts a young-generation collection every 700 net allocations,
and while thousands of requests are in flight each of those collections walks live objects that
are about to die anyway. A larger first threshold makes the collections rarer without letting
garbage build up: whatever is cyclic is still found, only in bigger batches. The collector
never changes what a simulation computes (nothing in meshsim depends on when objects are
freed); the thresholds are restored when the run ends, also on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A young-generation pass walks every object allocated since the last one that is still
# alive, and finds no garbage (finished requests are freed by reference counting): 10,000
# left 3 % (mesh-30) to 7 % (mesh-30-overloaded, whose queues keep requests alive) of a
# run's CPU in the collector; 100,000 leaves none in 10 s runs of either (three runs each,
# gc.callbacks), and bounds any cyclic garbage to 100,000 objects before it is collected.
RUN_THRESHOLDS = (100_000, 10, 10)


@contextmanager
def paced_collector(thresholds: tuple[int, int, int] = RUN_THRESHOLDS) -> Iterator[None]:
    """Collect less often for the duration of the ``with`` block (never more often than now)."""
    before = gc.get_threshold()
    paced = (max(new, old) if old else 0 for new, old in zip(thresholds, before, strict=True))
    gc.set_threshold(*paced)
    try:
        yield
    finally:
        gc.set_threshold(*before)
