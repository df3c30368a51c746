"""The ``spec.workload`` part of a scenario: where requests come from, at what rate, and which.

Apart from :mod:`.schema` because its shapes (a rate or a schedule of steps, one request or a
weighted mix) are read only here.
"""

# Pydantic copies a field's default for each instance; ruff sees that only for classes whose
# BaseModel base is defined in the same file, and Strict is in schema_types.
# ruff: noqa: RUF012

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from meshsim.config import limits
from meshsim.config.fields import (
    Duration,
    Rate,
    choice,
    number,
    problem,
    sized,
    sized_within,
    whole,
    within,
)
from meshsim.config.schema_topology import WherePlacement
from meshsim.config.schema_types import Labels, Name, Strict


class RequestSpec(Strict):
    method: str = "GET"
    path: str = "/"
    headers: Labels = {}
    weight: Annotated[float, Field(gt=0, le=limits.WEIGHT.maximum), number()] = 1.0


class RateStepSpec(Strict):
    at: Duration
    rate: Rate


def _schedule_shape(value: Any) -> Any:
    """``rate: 400/s`` is a one-step schedule starting at 0s."""
    return value if isinstance(value, list) else [{"at": 0.0, "rate": value}]


def _requests_shape(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class WorkloadSpec(Strict):
    name: Name
    target: str
    rate: Annotated[
        list[RateStepSpec], Field(min_length=1), sized_within(limits.SCHEDULE),
        sized(limits.SCHEDULE), BeforeValidator(_schedule_shape),
    ]
    arrival: Annotated[Literal["poisson", "constant"], choice("poisson", "constant")] = "poisson"
    clients: Annotated[int, within(limits.CLIENTS, ge=1), whole(limits.CLIENTS)] = 1
    timeout: Duration = 0.0  # 0 = the calling app never gives up
    request: Annotated[
        list[RequestSpec], Field(min_length=1), sized_within(limits.REQUESTS),
        sized(limits.REQUESTS), BeforeValidator(_requests_shape),
    ] = [RequestSpec()]
    placement: WherePlacement | None = None  # where the clients run (spec.topology)

    @field_validator("rate")
    @classmethod
    def _increasing(cls, steps: list[RateStepSpec]) -> list[RateStepSpec]:
        for index in range(1, len(steps)):
            if steps[index].at <= steps[index - 1].at:
                raise problem(
                    "schedule steps must be in increasing order of 'at'", [index, "at"]
                )
        return steps
