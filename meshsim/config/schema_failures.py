"""The ``errors`` field of a service, version or fault: a probability, or an error model.

``errors: 0.01`` is the short form (HTTP 500 after the normal latency) and is read as
``{rate: 0.01}``; the mapping adds the status mix, resets and refused connections, error
latency, bad pods, bursts and a rate that rises with the queue (docs/failures.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, model_validator

from meshsim.config import limits
from meshsim.config.distributions import LatencySpec, parse_latency
from meshsim.config.fields import (
    PositiveDuration,
    Probability,
    did_you_mean,
    number,
    problem,
    quoted,
    sized,
    sized_within,
    whole,
    within,
)
from meshsim.config.schema_types import Strict
from meshsim.model.failures import TRANSPORT_OUTCOMES
from meshsim.model.grpc import GRPC_CODES, GRPC_NAMES

LATENCY_WORDS = ("normal", "immediate")


def _errors_shape(value: Any) -> Any:
    """The short form is the mapping with only a rate (validated by the rate's own type)."""
    return value if isinstance(value, dict) else {"rate": value}


def _error_latency(value: Any) -> str | LatencySpec:
    if isinstance(value, str) and value in LATENCY_WORDS:
        return value
    if isinstance(value, str) and "(" not in value and not value[:1].isdigit():
        raise problem(
            f"expected 'normal', 'immediate' or a distribution, got {value!r}"
            f"{did_you_mean(value, LATENCY_WORDS)}"
        )
    return parse_latency(value)


def _outcome_key(key: Any) -> int | str:
    """An HTTP status (100-599) or a transport outcome; YAML gives numbers as int or text."""
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        if not 100 <= key <= 599:
            raise problem(f"{key} is not an HTTP status (100-599)", [key])
        return key
    if key in TRANSPORT_OUTCOMES:
        return str(key)
    raise problem(
        f"expected an HTTP status or one of {quoted(TRANSPORT_OUTCOMES)}, got {key!r}"
        f"{did_you_mean(key, TRANSPORT_OUTCOMES)}", [key],
    )


def _status_mix(value: Any) -> dict[int | str, float]:
    if not isinstance(value, dict):
        raise problem("expected a mapping of status to weight, like {503: 0.7, 500: 0.3}")
    if not value:
        raise problem("needs at least one status")
    mix: dict[int | str, float] = {}
    for key, weight in value.items():
        outcome = _outcome_key(key)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise problem(f"a weight is a number at least 0, got {weight!r}", [key])
        mix[outcome] = float(weight)
    if sum(mix.values()) <= 0:
        raise problem("the weights add up to 0: give at least one a positive weight")
    return mix


def _grpc_key(key: Any) -> int:
    """A non-OK gRPC status: its name as grpc spells it (``UNAVAILABLE``) or its number."""
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int) and not isinstance(key, bool):
        if key not in GRPC_NAMES or key == 0:
            raise problem(f"{key} is not a non-OK gRPC status code (1-16)", [key])
        return key
    names = tuple(name for name in GRPC_CODES if name != "OK")
    if isinstance(key, str) and key in names:
        return GRPC_CODES[key]
    raise problem(f"expected a gRPC status name like UNAVAILABLE or a code 1-16, got {key!r}"
                  f"{did_you_mean(str(key), names)}", [key])


def _grpc_mix(value: Any) -> dict[int, float]:
    if not isinstance(value, dict):
        raise problem("expected a mapping of gRPC status to weight, like "
                      "{UNAVAILABLE: 0.7, INTERNAL: 0.3}")
    if not value:
        raise problem("needs at least one gRPC status")
    mix: dict[int, float] = {}
    for key, weight in value.items():
        code = _grpc_key(key)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise problem(f"a weight is a number at least 0, got {weight!r}", [key])
        mix[code] = float(weight)
    if sum(mix.values()) <= 0:
        raise problem("the weights add up to 0: give at least one a positive weight")
    return mix


class BurstSpec(Strict):
    """Errors come in bursts: on for ``onFor`` on average, then off for ``offFor``
    (not ``on``/``off``: YAML reads those words as booleans)."""

    onFor: PositiveDuration
    offFor: PositiveDuration


ErrorLatency = Annotated[Any, PlainValidator(_error_latency)]


class ErrorsSpec(Strict):
    rate: Probability = 0.0
    status: Annotated[
        dict[int | str, float], PlainValidator(_status_mix), sized(limits.ENTRIES)
    ] | None = None
    grpcStatus: Annotated[
        dict[int, float], PlainValidator(_grpc_mix), sized(limits.ENTRIES)
    ] | None = None
    latency: ErrorLatency = "normal"
    pods: Annotated[
        list[Annotated[int, within(limits.REPLICAS, ge=0), whole(limits.REPLICAS)]],
        sized_within(limits.REPLICAS), sized(limits.REPLICAS),
    ] | None = None
    badPods: Annotated[int, within(limits.REPLICAS, ge=1), whole(limits.REPLICAS)] | None = None
    burst: BurstSpec | None = None
    perQueued: Annotated[float, Field(ge=0), number()] = 0.0

    @model_validator(mode="after")
    def _consistent(self) -> ErrorsSpec:
        if self.pods is not None and self.badPods is not None:
            raise problem("give either 'pods' (indexes) or 'badPods' (a count), not both",
                          ["badPods"])
        return self

    @property
    def short(self) -> bool:
        """Only a rate: the short form, plain 500s after the normal latency."""
        return self.model_fields_set <= {"rate"}


ErrorsField = Annotated[ErrorsSpec, BeforeValidator(_errors_shape)]
