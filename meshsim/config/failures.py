"""Compile the mapping form of ``errors`` into the model's :class:`ErrorModel`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from meshsim.config.distributions import LatencySpec
from meshsim.config.schema_failures import ErrorsSpec
from meshsim.config.yamlsrc import PathKey, YamlPath
from meshsim.errors import ScenarioError
from meshsim.model.distributions import Distribution
from meshsim.model.failures import Burst, ErrorLatency, ErrorModel, Outcome
from meshsim.model.grpc import grpc_answer

LatencyOf = Callable[[LatencySpec, YamlPath], Distribution]
ErrorAt = Callable[[str, Sequence[PathKey]], ScenarioError]


def error_model(
    spec: ErrorsSpec, path: YamlPath, replicas: int | None, latency_of: LatencyOf,
    error_at: ErrorAt,
) -> ErrorModel:
    """``replicas`` bounds the bad pods; None means a fault, whose target names its pods."""
    return ErrorModel(
        rate=spec.rate,
        outcomes=_outcomes(spec),
        latency=_latency(spec, path, latency_of),
        pods=_pods(spec, path, replicas, error_at),
        burst=None if spec.burst is None else Burst(spec.burst.onFor, spec.burst.offFor),
        per_queued=spec.perQueued,
    )


def _outcomes(spec: ErrorsSpec) -> tuple[tuple[Outcome, float], ...]:
    """``status`` and ``grpcStatus`` weigh together; a gRPC status is carried as
    ``grpc_answer(code)`` (HTTP 200 with that grpc-status, model/grpc.py)."""
    mix: dict[Outcome, float] = {}
    if spec.status is not None:
        mix.update((cast(Outcome, key), weight) for key, weight in spec.status.items())
    if spec.grpcStatus is not None:
        mix.update((grpc_answer(code), weight) for code, weight in spec.grpcStatus.items())
    if not mix:
        return ((500, 1.0),)
    total = sum(mix.values())
    return tuple((key, weight / total) for key, weight in mix.items() if weight > 0)


def _latency(spec: ErrorsSpec, path: YamlPath, latency_of: LatencyOf) -> ErrorLatency:
    if spec.latency in ("normal", "immediate"):
        return cast(ErrorLatency, spec.latency)
    return latency_of(spec.latency, (*path, "latency"))


def _pods(
    spec: ErrorsSpec, path: YamlPath, replicas: int | None, error_at: ErrorAt
) -> tuple[int, ...] | None:
    if spec.pods is None and spec.badPods is None:
        return None
    field = "pods" if spec.pods is not None else "badPods"
    if replicas is None:
        raise error_at(f"a fault's target already names its pods: drop '{field}' (target a pod "
                       "like 'ratings-0' instead)", (*path, field))
    if spec.badPods is not None:
        if spec.badPods > replicas:
            raise error_at(f"badPods is {spec.badPods} but there are only {replicas} pod(s)",
                           (*path, field))
        return tuple(range(spec.badPods))
    assert spec.pods is not None
    for i, index in enumerate(spec.pods):
        if index >= replicas:
            raise error_at(f"pod index {index} is out of range: there are {replicas} pod(s), "
                           f"indexes 0 to {replicas - 1}", (*path, "pods", i))
    return tuple(sorted(set(spec.pods)))
