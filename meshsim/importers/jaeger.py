"""Jaeger JSON trace files: what the Jaeger UI downloads and its query API answers.

``{"data": [{"traceID", "spans": [...], "processes": {"p1": {"serviceName", "tags"}}}]}``;
times in microseconds, the span kind and errors as tags (``span.kind``, ``error``), the parent
as a ``CHILD_OF`` reference. Jaeger has no published schema for this JSON, so the shape is
checked here, field by field, with the JSON path of whatever is missing or wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshsim.importers.spans import (
    METHOD_KEYS,
    ORIGIN_NS,
    PEER_KEYS,
    RESEND_KEYS,
    STATUS_KEYS,
    Kind,
    Span,
    TraceFileError,
    first,
    http_status,
    located,
    path_of,
    service_and_namespace,
)

_KINDS: dict[str, Kind] = {"server": "server", "client": "client", "producer": "producer",
                           "consumer": "consumer", "internal": "internal"}


def is_jaeger(data: object) -> bool:
    return isinstance(data, dict) and "data" in data


class _Reader:
    def __init__(self, file: str, line: int | None) -> None:
        self.file, self.line = file, line

    def fail(self, path: str, message: str) -> TraceFileError:
        return located(self.file, path, message, self.line)

    def need(self, data: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...]
             ) -> Any:
        if key not in data:
            raise self.fail(path, f"missing {key!r}")
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(f"{path}.{key}", f"expected {_name(kind)}, got {value!r:.40}")
        return value

    def tags(self, data: Mapping[str, Any], path: str) -> dict[str, object]:
        raw = data.get("tags", [])
        if not isinstance(raw, list):
            raise self.fail(f"{path}.tags", "expected a list of {key, type, value}")
        out: dict[str, object] = {}
        for i, tag in enumerate(raw):
            if not isinstance(tag, dict) or "key" not in tag or "value" not in tag:
                raise self.fail(f"{path}.tags[{i}]", "expected {key, type, value}")
            out[str(tag["key"])] = tag["value"]
        return out


def read(objects: list[tuple[int | None, Any]], file: str) -> list[Span]:
    spans: list[Span] = []
    for line, data in objects:
        reader = _Reader(file, line)
        traces = reader.need(data, "data", "", list)
        for t, trace in enumerate(traces):
            spans.extend(_trace(reader, trace, f"data[{t}]"))
    return spans


def _trace(reader: _Reader, trace: object, path: str) -> list[Span]:
    if not isinstance(trace, dict):
        raise reader.fail(path, "expected a trace object {traceID, spans, processes}")
    processes = reader.need(trace, "processes", path, dict)
    services: dict[str, tuple[str, dict[str, object]]] = {}
    for key, process in processes.items():
        where = f"{path}.processes.{key}"
        if not isinstance(process, dict):
            raise reader.fail(where, "expected {serviceName, tags}")
        services[key] = (reader.need(process, "serviceName", where, str),
                         reader.tags(process, where))
    spans = reader.need(trace, "spans", path, list)
    return [_span(reader, span, f"{path}.spans[{i}]", services) for i, span in enumerate(spans)]


def _span(reader: _Reader, span: object, path: str,
          services: Mapping[str, tuple[str, dict[str, object]]]) -> Span:
    if not isinstance(span, dict):
        raise reader.fail(path, "expected a span object")
    trace = reader.need(span, "traceID", path, str)
    span_id = reader.need(span, "spanID", path, str)
    start = reader.need(span, "startTime", path, (int, float))
    duration = reader.need(span, "duration", path, (int, float))
    process = reader.need(span, "processID", path, str)
    if process not in services:
        raise reader.fail(f"{path}.processID", f"no process {process!r} in this trace's "
                          f"processes ({', '.join(sorted(services)) or 'none'})")
    service, process_tags = services[process]
    service, namespace = service_and_namespace(service, _text(first(
        process_tags, ("k8s.namespace.name", "service.namespace"))))
    tags = reader.tags(span, path)
    kind = _KINDS.get(str(tags.get("span.kind", "")).lower(), "unspecified")
    status = http_status(first(tags, STATUS_KEYS))
    error = str(tags.get("error", "")).lower() == "true" or tags.get("otel.status_code") == \
        "ERROR" or (status is not None and status >= (500 if kind == "server" else 400))
    sample = _sample(process_tags, tags)
    origin = ORIGIN_NS // 1000  # microseconds
    return Span(
        trace=trace, span_id=span_id, parent=_parent(reader, span, path), service=service,
        kind=kind, start=(start - origin) / 1e6,
        end=(start + duration - origin) / 1e6, error=error, status=status,
        method=_text(first(tags, METHOD_KEYS)), path=path_of(tags),
        peer=_text(first(tags, PEER_KEYS)), resend=http_status(first(tags, RESEND_KEYS)) or 0,
        instance=_text(first(process_tags, ("service.instance.id", "k8s.pod.name",
                                            "hostname"))),
        version=_text(process_tags.get("service.version")),
        namespace=namespace,
        sample=sample,
    )


def _parent(reader: _Reader, span: Mapping[str, Any], path: str) -> str | None:
    refs = span.get("references", [])
    if not isinstance(refs, list):
        raise reader.fail(f"{path}.references", "expected a list of {refType, spanID}")
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict) or "spanID" not in ref:
            raise reader.fail(f"{path}.references[{i}]", "expected {refType, traceID, spanID}")
        if ref.get("refType", "CHILD_OF") == "CHILD_OF":
            return str(ref["spanID"])
    parent = span.get("parentSpanID")  # older exports
    return str(parent) if parent and set(str(parent)) != {"0"} else None


def _sample(process_tags: Mapping[str, object], tags: Mapping[str, object]) -> float | None:
    """Jaeger clients tag the root span (or process) ``sampler.type``/``sampler.param``."""
    for source in (tags, process_tags):
        if source.get("sampler.type") == "probabilistic":
            try:
                return float(str(source.get("sampler.param")))
            except ValueError:
                return None
    return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list", dict: "an object", int: "a number",
             float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))
