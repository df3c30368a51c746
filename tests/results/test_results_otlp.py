"""A run's spans as OTLP JSON: valid against the OpenTelemetry proto, one client span per
attempt and a server span per attempt that reached a pod, whole traces sampled by seed."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.trace.v1 import trace_pb2
from paths import SCENARIOS

import meshsim
from meshsim.results.otlp import EPOCH_NS


@pytest.fixture(scope="module")
def results() -> meshsim.Results:
    scenario = meshsim.load(SCENARIOS / "retry-storm.yaml", {
        "spec.warmup": "0s", "spec.duration": "1s", "spec.faults[0].latency": "x1"})
    return meshsim.simulate(scenario)


def _spans(data: dict) -> list[tuple[str, dict]]:
    return [(next(a["value"]["stringValue"] for a in r["resource"]["attributes"]
                  if a["key"] == "service.name"), span)
            for r in data["resourceSpans"] for s in r["scopeSpans"] for span in s["spans"]]


def test_every_attempt_is_a_client_and_a_server_span(results: meshsim.Results) -> None:
    data = results.traces()
    hex_ids = {span["traceId"] for _, span in _spans(data)}
    assert all(len(i) == 32 for i in hex_ids)
    for name in ("traceId", "spanId", "parentSpanId"):  # hex in the file, base64 for protobuf
        for _, span in _spans(data):
            if name in span:
                span[name] = base64.b64encode(bytes.fromhex(span[name])).decode()
    message = json_format.ParseDict(data, trace_pb2.TracesData())
    kinds = Counter((r.resource.attributes[0].value.string_value, s.kind)
                    for r in message.resource_spans for sc in r.scope_spans for s in sc.spans)
    attempts = results.attempts
    assert kinds[("users", trace_pb2.Span.SPAN_KIND_CLIENT)] == (attempts["caller"].astype(str)
                                                                 .str.startswith("users")).sum()
    assert kinds[("ratings", trace_pb2.Span.SPAN_KIND_SERVER)] == (
        attempts["service"] == "ratings").sum()
    assert len(hex_ids) == len(results.requests)
    first = message.resource_spans[0].scope_spans[0].spans[0]
    assert first.start_time_unix_nano >= EPOCH_NS


def test_server_span_is_inside_its_client_span_by_the_wire(results: meshsim.Results) -> None:
    spans = {span["spanId"]: span for _, span in _spans(results.traces())}
    gaps = []
    for span in spans.values():
        if span["kind"] == 2 and "parentSpanId" in span:
            client = spans[span["parentSpanId"]]
            assert int(client["startTimeUnixNano"]) < int(span["startTimeUnixNano"])
            assert int(span["endTimeUnixNano"]) < int(client["endTimeUnixNano"])
            gaps.append(int(client["endTimeUnixNano"]) - int(span["endTimeUnixNano"]))
    assert set(gaps) == {500_000}  # the answer's way back: 0.5 ms of network


def test_sampling_keeps_whole_traces_deterministically(results: meshsim.Results) -> None:
    half = results.traces(sample=0.5)
    traces = {span["traceId"] for _, span in _spans(half)}
    assert 0.4 < len(traces) / len(results.requests) < 0.6
    assert half == results.traces(sample=0.5)
    other = {span["traceId"] for _, span in _spans(results.traces(sample=0.5, seed=9))}
    assert other != traces and 0.4 < len(other) / len(results.requests) < 0.6
    assert {span["traceState"] for _, span in _spans(half)} == {"ot=th:8"}
    per_trace = Counter(span["traceId"] for _, span in _spans(half))
    full = Counter(span["traceId"] for _, span in _spans(results.traces()))
    assert all(per_trace[t] == full[t] for t in traces)


def test_a_stored_run_exports_the_same_spans(results: meshsim.Results, tmp_path: Path) -> None:
    run = results.save(tmp_path / "run", plots=False)
    assert meshsim.api.export_traces(run, sample=0.3) == results.traces(sample=0.3)
