"""The ``spec.workload`` part of a scenario: where requests come from, at what rate, and which.

Apart from :mod:`.schema` because its shapes (a rate or a schedule of steps, one request or a
weighted mix) are read only here.
"""

# Pydantic copies a field's default for each instance; ruff sees that only for classes whose
# BaseModel base is defined in the same file, and Strict is in schema_types.
# ruff: noqa: RUF012

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, field_validator, model_validator

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
from meshsim.config.schema_clients import ClientSpec
from meshsim.config.schema_topology import WherePlacement
from meshsim.config.schema_types import Labels, Latency, Name, Strict

Count = Annotated[int, within(limits.USERS, ge=1), whole(limits.USERS)]
Executor = Literal["constant-vus", "constant-arrival-rate"]


class RequestSpec(Strict):
    method: str = "GET"
    path: str = "/"
    headers: Labels = {}
    weight: Annotated[float, Field(gt=0, le=limits.WEIGHT.maximum), number()] = 1.0


class RateStepSpec(Strict):
    at: Duration
    rate: Rate
    ramp: StrictBool = False  # climb linearly from the previous step's rate, reaching it at `at`


def _schedule_shape(value: Any) -> Any:
    """``rate: 400/s`` is a one-step schedule starting at 0s."""
    return value if isinstance(value, list) else [{"at": 0.0, "rate": value}]


def _requests_shape(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class WorkloadSpec(Strict):
    name: Name
    target: str
    rate: Annotated[
        list[RateStepSpec] | None, Field(min_length=1), sized_within(limits.SCHEDULE),
        sized(limits.SCHEDULE), BeforeValidator(_schedule_shape),
    ] = None
    arrival: Annotated[Literal["poisson", "constant"], choice("poisson", "constant")] = "poisson"
    clients: Annotated[int, within(limits.CLIENTS, ge=1), whole(limits.CLIENTS)] = 1
    timeout: Duration = 0.0  # 0 = the calling app never gives up
    request: Annotated[
        list[RequestSpec], Field(min_length=1), sized_within(limits.REQUESTS),
        sized(limits.REQUESTS), BeforeValidator(_requests_shape),
    ] = [RequestSpec()]
    placement: WherePlacement | None = None  # where the clients run (spec.topology)
    # -- closed loop (fortio -c/-qps/-n/-t, k6 VUs) and k6's executors ---------------------------
    users: Count | None = None
    connections: Count | None = None  # fortio/hey/wrk's word for users
    thinkTime: Latency | None = None  # between an answer and the user's next request
    qps: Annotated[float, Field(ge=0, le=limits.RATE.maximum), number()] = 0.0
    requests: Annotated[int, Field(ge=0), whole()] = 0  # total over all users; 0 = no limit
    duration: Duration = 0.0  # users stop starting requests after this; 0 = the whole run
    executor: Annotated[Executor | None, choice("constant-vus", "constant-arrival-rate")] = None
    maxVUs: Count | None = None  # constant-arrival-rate: arrivals without a free VU are dropped
    client: ClientSpec | None = None  # the calling app's own timeouts, retries, breaker, hedging

    @model_validator(mode="after")
    def _one_loop(self) -> WorkloadSpec:
        if self.users is not None and self.connections is not None:
            raise problem("give users or connections, not both (they are the same)",
                          ["connections"])
        users = self.users or self.connections
        closed_only: list[str] = [f for f in ("thinkTime", "requests", "duration")
                       if f in self.model_fields_set]
        if self.qps:
            closed_only.append("qps")
        if users is not None:
            if self.rate is not None:
                raise problem("users (a closed loop) and rate (an open loop) exclude each other; "
                              "for k6's constant-arrival-rate give rate and maxVUs", ["rate"])
            if self.maxVUs is not None:
                raise problem("maxVUs caps open-loop arrivals (constant-arrival-rate); "
                              "closed-loop users need none", ["maxVUs"])
            if self.executor == "constant-arrival-rate":
                raise problem("constant-arrival-rate needs rate and maxVUs, not users",
                              ["executor"])
            return self
        if self.rate is None:
            raise problem("a workload needs rate (open loop) or users/connections (closed loop)")
        if closed_only:
            raise problem(f"{closed_only[0]} belongs to a closed loop: give users or connections",
                          [closed_only[0]])
        if self.executor == "constant-vus":
            raise problem("constant-vus needs users (VUs), not rate", ["executor"])
        if self.executor == "constant-arrival-rate" and self.maxVUs is None:
            raise problem("constant-arrival-rate needs maxVUs", ["executor"])
        return self

    @field_validator("rate")
    @classmethod
    def _increasing(cls, steps: list[RateStepSpec] | None) -> list[RateStepSpec] | None:
        if steps is None:
            return None
        if steps[0].ramp and steps[0].at == 0:
            raise problem("a ramp needs a previous point: this step is at 0s", [0, "ramp"])
        for index in range(1, len(steps)):
            if steps[index].at <= steps[index - 1].at:
                raise problem(
                    "schedule steps must be in increasing order of 'at'", [index, "at"]
                )
        return steps
