"""Service-level objectives a scenario expects (``spec.expect``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Metric = Literal[
    "success_rate", "p50", "p90", "p99", "rps", "retry_ratio", "mean_latency", "timeouts",
    "overflows", "ejections", "denied", "denied_rate", "client_errors", "client_error_rate",
]


@dataclass(frozen=True)
class Expectation:
    metric: Metric
    service: str
    subset: str | None = None
    window: tuple[float, float] | None = None  # None = after warm-up to the end
    min: float | None = None
    max: float | None = None
    label: str = ""  # as written, for messages
