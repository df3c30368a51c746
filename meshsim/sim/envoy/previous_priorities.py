"""Envoy's ``previous_priorities`` retry priority: a retry avoids priorities already tried.

Istio emits it for a VirtualService's ``retries.retryRemoteLocalities: true``
(``pilot/pkg/networking/core/route/retry/retry.go``, ``UpdateFrequency: 2``); upstream is
``source/extensions/retry/priority/previous_priorities/previous_priorities.cc``. Every attempt's
host is remembered (the first included). A retry whose count of remembered hosts is below the
update frequency uses the cluster's own priority load; a count that is a multiple of it excludes
the priorities of every remembered host and pours 100 % over the remaining priorities by their
health (``distributeLoad``); any other count reuses the last adjusted load. If nothing is left,
the exclusions and remembered hosts reset and the load is recomputed over every priority.

One instance per request with the plugin configured (built by the retry state only then), so
requests without ``retryRemoteLocalities`` pay nothing. Degraded hosts are not modelled.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any


def adjusted_load(health: Sequence[int], excluded: Sequence[bool]) -> tuple[int, ...] | None:
    """``adjustForAttemptedPriorities``' rebalancing: excluded priorities get no load, the rest
    share 100 % by health (capped total availability, leftovers to the first in order).
    None when no priority is left available."""
    adjusted = [0 if excluded[i] else h for i, h in enumerate(health)]
    total = min(100, sum(adjusted))
    if total == 0:
        return None
    load = [0] * len(adjusted)
    remaining = 100
    while remaining:
        for i, h in enumerate(adjusted):
            delta = min(remaining, h * 100 // total)
            load[i] += delta
            remaining -= delta
    return tuple(load)


class PreviousPriorities:
    """One request's ``PreviousPrioritiesRetryPriority``."""

    def __init__(self, update_frequency: int) -> None:
        self.update_frequency = update_frequency
        self.attempted: list[Hashable] = []
        self.excluded: list[bool] = []
        self.load: tuple[int, ...] | None = None  # the last adjusted load

    def host_attempted(self, host: Hashable) -> None:
        """``onHostAttempted``."""
        self.attempted.append(host)

    def priority_load(self, original: Sequence[int], health: Sequence[int],
                      priority_of: Mapping[Any, int]) -> Sequence[int]:
        """``determinePriorityLoad`` for the next pick of a retry."""
        count = len(self.attempted)
        if count < self.update_frequency:
            return original
        if count % self.update_frequency == 0:
            if len(self.excluded) < len(health):
                self.excluded.extend([False] * (len(health) - len(self.excluded)))
            for host in self.attempted:
                p = priority_of.get(host, -1)
                if 0 <= p < len(self.excluded):
                    self.excluded[p] = True
            load = adjusted_load(health, self.excluded)
            if load is None:  # every priority tried: start over from the original spill
                self.excluded = [False] * len(self.excluded)
                self.attempted.clear()
                load = adjusted_load(health, self.excluded)
            if load is None:
                return original
            self.load = load
        return self.load if self.load is not None else original
