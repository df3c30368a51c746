"""How a service fails when it fails: the error model of a service, version, pod or fault.

The short form (``errors: 0.01``) stays a plain probability of an HTTP 500 after the normal
latency (``Deployment.errors``); an :class:`ErrorModel` exists only when the mapping form sets
more than ``rate``, so scenarios that do not use it run exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from meshsim.model.distributions import Distribution

# What a failing pod does instead of answering 200: an HTTP status it sends, a reset of the
# stream after the headers were due (Envoy flag UR), or a refused connection (UF).
Transport = Literal["reset", "connect-failure"]
Outcome = int | Transport
TRANSPORT_OUTCOMES: tuple[Transport, ...] = ("reset", "connect-failure")

ErrorLatency = Literal["normal", "immediate"] | Distribution


@dataclass(frozen=True)
class Burst:
    """An on/off process: errors only while on; on and off periods are exponential."""

    on: float  # mean seconds on
    off: float  # mean seconds off
    start_on: bool = False


@dataclass(frozen=True)
class ErrorModel:
    """``rate`` of requests fail with ``outcomes`` (weights summing to 1), after ``latency``.

    ``pods`` are the indexes of the bad pods (None = every pod). With ``per_queued`` the rate
    rises with the pod's queue: ``min(1, rate + per_queued * waiting)`` at arrival.
    """

    rate: float
    outcomes: tuple[tuple[Outcome, float], ...] = ((500, 1.0),)
    latency: ErrorLatency = "normal"
    pods: tuple[int, ...] | None = None
    burst: Burst | None = None
    per_queued: float = 0.0

    def applies_to(self, index: int) -> bool:
        return self.pods is None or index in self.pods

    def describe(self) -> str:
        mix = ",".join(f"{o}:{w:g}" for o, w in self.outcomes)
        text = f"rate={self.rate:g} status={mix}"
        if self.pods is not None:
            text += f" pods={list(self.pods)}"
        if self.burst is not None:
            text += f" burst={self.burst.on:g}s/{self.burst.off:g}s"
        if self.per_queued:
            text += f" perQueued={self.per_queued:g}"
        return text
