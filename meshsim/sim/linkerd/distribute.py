"""Backend distribution in front of the per-backend queues, and the route's load shed.

Follows ``linkerd/distribute/src/service/{random,first}.rs`` and ``params.rs`` in
linkerd/linkerd2-proxy, plus ServiceProfile ``dstOverrides`` conversion in
``linkerd/service-profiles/src/proto.rs`` (reference/linkerd.md §6.1–§6.2, C13). A pick only
considers backends whose queue is ready (:meth:`.queue.BalancerQueue.ready`); if none is ready
the route's load-shed layer answers 503 at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Distribution(Generic[K]):
    """First-available for one backend, weighted random-available for two or more.

    ``rand`` returns a uniform float in [0, 1). A single backend ignores its weight (even 0).
    With ≥2 backends, a backend found not ready has its weight zeroed for this pick only and
    the draw repeats; when no non-zero weight remains the pick fails (load shed).
    """

    def __init__(self, backends: Sequence[tuple[K, int]], rand: Callable[[], float]) -> None:
        if not backends:
            raise ValueError("a distribution needs at least one backend")
        if len(backends) >= 2 and not any(w > 0 for _, w in backends):
            raise ValueError("all-zero weights with >= 2 backends (undefined upstream)")
        self.backends = list(backends)
        self._rand = rand

    def pick(self, ready: Callable[[K], bool]) -> K | None:
        """The backend to send to, or ``None`` = load-shed (503)."""
        if len(self.backends) == 1:
            key = self.backends[0][0]
            return key if ready(key) else None
        weights = [w for _, w in self.backends]
        while True:
            cumulative: list[int] = []
            total = 0
            for w in weights:
                total += w
                cumulative.append(total)
            if total <= 0:
                return None
            chosen = min(int(self._rand() * total), total - 1)
            idx = bisect.bisect_right(cumulative, chosen)
            key = self.backends[idx][0]
            if ready(key):
                return key
            weights[idx] = 0


def profile_backends(apex: K, overrides: Sequence[tuple[K, int]]) -> list[tuple[K, int]]:
    """ServiceProfile ``dstOverrides`` → backends: zero weights dropped; none left → apex.

    Weights are the controller's decimillis (``MilliValue() × 10``); only ratios matter. The
    apex gets traffic only when listed or when no override remains.
    """
    kept = [(k, w) for k, w in overrides if w > 0]
    return kept if kept else [(apex, 1)]
