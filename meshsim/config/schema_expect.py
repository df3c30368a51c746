"""The ``spec.expect`` part of a scenario: SLOs, each a metric with bounds in the metric's unit.

Apart from :mod:`.schema` because a bound is read in the unit of its metric (a duration for
latencies, a share for rates), which no other part of the document needs.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo, field_validator, model_validator

from meshsim.config.fields import Duration, choice, problem
from meshsim.config.schema_types import Strict
from meshsim.errors import UnitError
from meshsim.units import parse_duration, parse_probability, parse_rate

LATENCY_METRICS = ("p50", "p90", "p99", "mean_latency")
METRICS = (
    "success_rate", "p50", "p90", "p99", "rps", "retry_ratio", "mean_latency", "timeouts",
    "overflows", "ejections", "denied", "denied_rate", "client_errors", "client_error_rate",
)
SHARE_METRICS = {"success_rate": "success rate", "denied_rate": "denied rate",
                 "client_error_rate": "client error rate"}


def _bound(metric: str, value: object) -> float:
    """An SLO bound in the unit its metric has."""
    if metric in LATENCY_METRICS:
        return parse_duration(value)
    if metric in SHARE_METRICS:
        return parse_probability(value, SHARE_METRICS[metric])
    if metric == "rps" and isinstance(value, str):
        return parse_rate(value)
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UnitError(f"{metric} bound must be a number >= 0, got {value!r}")
    return float(value)


def _window_shape(value: Any) -> Any:
    if value is not None and (not isinstance(value, list) or len(value) != 2):
        raise problem(f"expected a window [start, end] like [150s, 300s], got {value!r}")
    return value


class ExpectSpec(Strict):
    metric: Annotated[str, choice(*METRICS)]
    service: str
    subset: str | None = None
    window: Annotated[list[Duration] | None, BeforeValidator(_window_shape)] = None
    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _unit(cls, value: Any, info: ValidationInfo) -> Any:
        metric = info.data.get("metric")
        if value is None or metric is None:
            return value
        try:
            bound = _bound(metric, value)
        except (UnitError, ValueError) as exc:
            raise problem(str(exc)) from None
        if not math.isfinite(bound):
            raise problem(f"{metric} bound must be a finite number, got {value!r}")
        return bound

    @model_validator(mode="after")
    def _bounds(self) -> ExpectSpec:
        if self.min is None and self.max is None:
            raise problem("an expectation needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise problem(f"min ({self.min:g}) is greater than max ({self.max:g})", ["min"])
        if self.window is not None and self.window[0] >= self.window[1]:
            raise problem("window start must be before its end", ["window"])
        return self
