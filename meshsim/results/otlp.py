"""A run's requests as OpenTelemetry spans: OTLP JSON, as the collector's file exporter writes it.

Every hop attempt becomes a ``CLIENT`` span in the caller (``http.request.resend_count`` on a
retry, per the HTTP semantic conventions) and, when the attempt reached the pod, a ``SERVER``
span in the callee, its child. The server span covers what the pod did (queueing, work, its own
calls): the caller's view minus the wire (sidecars and network, :class:`Wire`), so the gap
between the two spans is what a real trace shows as network and proxy time. Attempts the
caller's proxy answered itself (overflow, no healthy host, no route, an injected abort, a pod
that is down) and attempts the caller gave up on have no server span.

Sampling keeps whole traces (one per workload request), chosen by a seeded draw, and says so in
each span's W3C ``tracestate`` the way OpenTelemetry probability sampling does
(``ot=th:<rejection threshold>``), so an importer can scale the counts back up.

Times are seconds of simulated time after :data:`EPOCH_NS`; ids are derived from the run's
seed and the request and call ids, so the same run exports the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from meshsim.model import Call, CallStep, Model, Parallel

EPOCH_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: simulated time 0
SCOPE = {"name": "meshsim", "version": ""}
SPAN_KIND_SERVER, SPAN_KIND_CLIENT = 2, 3
STATUS_UNSET, STATUS_ERROR = 0, 2
# Flags of an answer the caller's own proxy made: the request never reached a pod.
LOCAL_REPLIES = frozenset({"UO", "UH", "NR", "NC", "FI", "UF", "DENY"})
_MAX_THRESHOLD = 1 << 56


@dataclass(frozen=True)
class Wire:
    """What the frames do not record about a hop: time on the wire around a pod (one-way
    network latency and each side's sidecar) and the request a caller sends a callee.

    ``overhead`` maps a service or workload name to its per-traversal sidecar overhead (absent:
    no sidecar). Outbound: caller's sidecar + network + callee's sidecar; the answer: network.
    ``requests`` maps ``caller>callee`` to the method and path of the call (the workload's
    heaviest request template; a service's first call to that callee).
    """

    latency: float = 0.0
    overhead: Mapping[str, float] = field(default_factory=dict)
    requests: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def outbound(self, caller: str, callee: str) -> float:
        return self.overhead.get(caller, 0.0) + self.latency + self.overhead.get(callee, 0.0)

    def request(self, caller: str, callee: str) -> tuple[str, str | None]:
        return self.requests.get(f"{caller}>{callee}", ("GET", None))

    def as_json(self) -> dict[str, Any]:
        return {"latency": self.latency, "overhead": dict(self.overhead),
                "requests": {k: list(v) for k, v in self.requests.items()}}

    @classmethod
    def from_json(cls, data: object) -> Wire:
        if not isinstance(data, Mapping):
            return cls()
        overhead = data.get("overhead") or {}
        requests = data.get("requests") or {}
        return cls(float(data.get("latency") or 0.0),
                   {str(k): float(v) for k, v in dict(overhead).items()},
                   {str(k): (str(v[0]), str(v[1])) for k, v in dict(requests).items()})


@dataclass(frozen=True)
class SpanSource:
    """What a run gives the exporter: its frames and wire, however the run was obtained."""

    requests: pd.DataFrame
    calls: pd.DataFrame
    attempts: pd.DataFrame
    wire: Wire
    seed: int


class NoAttempts(ValueError):
    """The run did not record attempts, so it has no spans to give."""


def threshold(sample: float) -> str:
    """The ``ot=th:`` value of a sampling probability (OpenTelemetry's TraceState spec):
    the rejection threshold in 56-bit hex with trailing zeros removed; ``0`` keeps all."""
    value = _MAX_THRESHOLD - round(sample * _MAX_THRESHOLD)
    if value <= 0:
        return "0"
    return f"{min(value, _MAX_THRESHOLD - 1):014x}".rstrip("0") or "0"


def sampled_requests(ids: np.ndarray, sample: float, seed: int) -> np.ndarray:
    """A seeded choice of whole traces: each request kept with probability ``sample``."""
    if sample >= 1.0:
        return np.ones(len(ids), dtype=bool)
    order = np.argsort(ids, kind="stable")
    draws = np.empty(len(ids))
    draws[order] = np.random.default_rng([seed, 0x07E1]).random(len(ids))
    return draws < sample


def traces_data(source: SpanSource, *, sample: float = 1.0, seed: int | None = None
                ) -> dict[str, Any]:
    """One OTLP ``TracesData`` object (``{"resourceSpans": [...]}``) of the run's spans; the
    sample is drawn with ``seed`` (default: the run's)."""
    if not len(source.attempts):
        raise NoAttempts("the run recorded no attempts (record_attempts off), so it has no "
                         "spans to export")
    if not 0.0 < sample <= 1.0:
        raise ValueError(f"the sample fraction must be in (0, 1], got {sample}")
    state = f"ot=th:{threshold(sample)}"
    keep = source.requests["id"].to_numpy()[
        sampled_requests(source.requests["id"].to_numpy(), sample,
                         source.seed if seed is None else seed)]
    attempts = source.attempts[source.attempts["request_id"].isin(keep)
                               & ~source.attempts["mirror"].astype(bool)]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for resource, span in _spans(source, attempts, state):
        groups.setdefault(resource, []).append(span)
    return {"resourceSpans": [
        {"resource": {"attributes": _resource(*key)},
         "scopeSpans": [{"scope": dict(SCOPE), "spans": spans}]}
        for key, spans in sorted(groups.items())
    ]}


def _spans(source: SpanSource, attempts: pd.DataFrame, state: str
           ) -> Iterator[tuple[tuple[str, str, str], dict[str, Any]]]:
    """(resource key, span) for every client and server span of the kept attempts."""
    service_of = _service_of_caller(source.requests, source.attempts)
    subset_of = _subset_of_pod(source.attempts)
    parents = _parent_attempts(source.calls, attempts)
    call_start = dict(zip(source.calls["call_id"].astype(int), source.calls["start"],
                          strict=True))
    wire, seed = source.wire, source.seed
    rows: Iterator[Any] = attempts.itertuples(index=False)
    for row in rows:
        caller = str(row.caller)
        caller_service = service_of.get(caller, caller)
        trace = _trace_id(seed, int(row.request_id))
        parent = parents.get(int(row.call_id))
        client_id = _span_id(int(row.call_id), int(row.attempt), server=False)
        status, flags = int(row.status), str(row.flags or "")
        # The app's request starts with the call (a connection may come first); a retry
        # with its attempt.
        began = call_start.get(int(row.call_id), row.start) if int(row.attempt) == 1 \
            else row.start
        service = str(row.service)
        method, path = wire.request(caller_service, service)
        client = _span(trace, client_id, parent, state, method, SPAN_KIND_CLIENT,
                       float(began), float(row.end),
                       _client_attributes(row, flags, method, path),
                       error=status == 0 or status >= 400)
        yield (caller_service, caller, subset_of.get(caller, "")), client
        if status == 0 or LOCAL_REPLIES.intersection(flags.split(",")):
            continue
        start = float(row.start) + wire.outbound(caller_service, service)
        end = max(start, float(row.end) - wire.latency)
        server = _span(trace, _span_id(int(row.call_id), int(row.attempt), server=True),
                       client_id, state, method, SPAN_KIND_SERVER, start, end,
                       _server_attributes(service, status, method, path), error=status >= 500)
        yield (service, str(row.pod), str(row.subset or "")), server


def _service_of_caller(requests: pd.DataFrame, attempts: pd.DataFrame) -> dict[str, str]:
    """Caller name (a pod, or a workload's client) → its service or workload."""
    out = dict(zip(attempts["pod"].astype(str), attempts["service"].astype(str), strict=True))
    out.update(zip(requests["client"].astype(str), requests["workload"].astype(str),
                   strict=True))
    return out


def _subset_of_pod(attempts: pd.DataFrame) -> dict[str, str]:
    return dict(zip(attempts["pod"].astype(str), attempts["subset"].astype(str), strict=True))


def _parent_attempts(calls: pd.DataFrame, attempts: pd.DataFrame) -> dict[int, str]:
    """Call id → the span id of the server span that made it: the attempt served by the
    calling pod, in the same request, that was running when the call started."""
    inner = calls[calls["depth"] > 0][["call_id", "request_id", "caller", "start"]]
    if inner.empty:
        return {}
    served = attempts[["request_id", "call_id", "pod", "attempt", "start", "end"]].rename(
        columns={"call_id": "parent_call", "start": "p_start", "end": "p_end"})
    served = served.assign(pod=served["pod"].astype(str))
    inner = inner.assign(caller=inner["caller"].astype(str))
    pairs = inner.merge(served, left_on=["request_id", "caller"],
                        right_on=["request_id", "pod"])
    pairs = pairs[(pairs["p_start"] <= pairs["start"]) & (pairs["start"] <= pairs["p_end"])]
    pairs = pairs.sort_values("p_start").drop_duplicates("call_id", keep="last")
    return {int(c): _span_id(int(p), int(a), server=True) for c, p, a in zip(
        pairs["call_id"], pairs["parent_call"], pairs["attempt"], strict=True)}


def _trace_id(seed: int, request_id: int) -> str:
    return f"{seed & (2**64 - 1):016x}{request_id + 1:016x}"


def _span_id(call_id: int, attempt: int, *, server: bool) -> str:
    return f"{((call_id + 1) << 9 | (attempt & 0xFF) << 1 | int(server)) & (2**64 - 1):016x}"


def _nanos(seconds: float) -> str:
    return str(EPOCH_NS + math.floor(seconds * 1e9 + 0.5))


def _span(trace: str, span_id: str, parent: str | None, state: str, name: str, kind: int,
          start: float, end: float, attributes: list[dict[str, Any]], *, error: bool
          ) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": trace, "spanId": span_id, "traceState": state}
    if parent:
        span["parentSpanId"] = parent
    span.update(name=name, kind=kind, startTimeUnixNano=_nanos(start),
                endTimeUnixNano=_nanos(end), attributes=attributes,
                status={"code": STATUS_ERROR} if error else {})
    return span


def _client_attributes(row: Any, flags: str, method: str, path: str | None
                       ) -> list[dict[str, Any]]:
    attributes = [_attr("http.request.method", method),
                  _attr("server.address", str(row.service))]
    if path:
        attributes.append(_attr("url.path", path))
    if int(row.status):
        attributes.append(_attr("http.response.status_code", int(row.status)))
    if int(row.attempt) > 1:
        attributes.append(_attr("http.request.resend_count", int(row.attempt) - 1))
    if flags:
        attributes.append(_attr("response_flags", flags))  # Envoy's tag in Istio's spans
    return attributes


def _server_attributes(service: str, status: int, method: str, path: str | None
                       ) -> list[dict[str, Any]]:
    attributes = [_attr("http.request.method", method), _attr("server.address", service)]
    if path:
        attributes.append(_attr("url.path", path))
    attributes.append(_attr("http.response.status_code", status))
    return attributes


def _resource(service: str, instance: str, version: str) -> list[dict[str, Any]]:
    attributes = [_attr("service.name", service), _attr("service.instance.id", instance)]
    if version:
        attributes.append(_attr("service.version", version))
    return attributes


def _attr(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def wire_of(model: Model) -> Wire:
    """The wire of a run's model: sidecars where the mesh injects them (as the engine wires
    pods: a deployment's sidecar, none for external services or without a mesh)."""
    topology = model.topology
    requests = _requests(model)
    if not model.mesh.has_sidecars:
        return Wire(topology.network_latency, requests=requests)
    overhead = {name: topology.proxy_overhead for name, service in topology.services.items()
                if not service.external and all(d.sidecar for d in service.deployments)}
    if model.policy is not None:
        overhead = {k: v for k, v in overhead.items() if model.policy.sidecars.get(k, True)}
    for workload in model.workloads:
        if workload.target in topology.services:
            overhead[workload.name] = topology.proxy_overhead
    return Wire(topology.network_latency, overhead, requests)


def _requests(model: Model) -> dict[str, tuple[str, str]]:
    """``caller>callee`` → (method, path): each service's first call to a callee, each
    workload's heaviest request template."""
    out: dict[str, tuple[str, str]] = {}
    for workload in model.workloads:
        template = max(workload.requests, key=lambda r: r.weight)
        out[f"{workload.name}>{workload.target}"] = (template.method, template.path)
    for name, service in model.topology.services.items():
        for deployment in service.deployments:
            for call in _flat(deployment.calls):
                out.setdefault(f"{name}>{call.service}", (call.method, call.path))
    return out


def _flat(steps: tuple[CallStep, ...]) -> Iterator[Call]:
    for step in steps:
        if isinstance(step, Parallel):
            yield from _flat(step.calls)
        else:
            yield step
