"""OTLP JSON trace files, read against the OpenTelemetry proto definitions.

The collector's file exporter writes one ``TracesData`` JSON object per line; a file holding
one (pretty-printed) object is read too. Each object is parsed with ``google.protobuf``'s
``json_format`` into ``opentelemetry.proto.trace.v1.TracesData``, after turning the hex trace
and span ids into the base64 that proto3 JSON expects (OTLP JSON's one exception to the proto3
mapping, along with integer enums). A field the schema does not have, a bad id or time is one
located error: file, line, and the JSON path of the span.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

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
    sample_of_tracestate,
    service_and_namespace,
)

_KINDS: dict[int, Kind] = {0: "unspecified", 1: "internal", 2: "server", 3: "client",
                           4: "producer", 5: "consumer"}
_ID_BYTES = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
_STATUS_ERROR = 2


def is_otlp(data: object) -> bool:
    return isinstance(data, dict) and "resourceSpans" in data


def read(objects: list[tuple[int | None, Any]], file: str) -> list[Span]:
    """Spans of every ``TracesData`` object (with the line each starts on, for errors)."""
    spans: list[Span] = []
    for line, data in objects:
        message = _parse(data, file, line)
        spans.extend(_spans(message, file, line))
    return spans


def _parse(data: object, file: str, line: int | None) -> trace_pb2.TracesData:
    if not is_otlp(data):
        raise located(file, "", "expected an OTLP TracesData object with 'resourceSpans'",
                      line)
    assert isinstance(data, dict)
    _scope_spans(data)
    _ids_to_base64(data, file, line)
    try:
        return json_format.ParseDict(data, trace_pb2.TracesData())
    except json_format.ParseError:
        pass
    raise _locate(data, file, line)


def _scope_spans(data: dict[str, Any]) -> None:
    """Collectors before OTLP 0.15 (2021) wrote ``instrumentationLibrarySpans`` and
    ``instrumentationLibrary`` where the proto now has ``scopeSpans`` and ``scope``."""
    for resource in _list(data, "resourceSpans"):
        if isinstance(resource, dict) and "instrumentationLibrarySpans" in resource \
                and "scopeSpans" not in resource:
            resource["scopeSpans"] = resource.pop("instrumentationLibrarySpans")
            for scope in _list(resource, "scopeSpans"):
                if isinstance(scope, dict) and "instrumentationLibrary" in scope:
                    scope["scope"] = scope.pop("instrumentationLibrary")


def _ids_to_base64(data: dict[str, Any], file: str, line: int | None) -> None:
    """OTLP JSON writes ids as hex; proto3 JSON reads bytes as base64."""
    for path, span in _span_dicts(data):
        for key, size in _ID_BYTES.items():
            value = span.get(key)
            if value in (None, "") and key == "parentSpanId":
                continue
            try:
                raw = bytes.fromhex(value) if isinstance(value, str) else None
            except ValueError:
                raw = None
            if raw is None or len(raw) != size:
                raise located(file, f"{path}.{key}", f"expected {size * 2} hex digits, got "
                              f"{json.dumps(value)}", line)
            span[key] = base64.b64encode(raw).decode()


def _span_dicts(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, resource in enumerate(_list(data, "resourceSpans")):
        for j, scope in enumerate(_list(resource, "scopeSpans")):
            for k, span in enumerate(_list(scope, "spans")):
                if isinstance(span, dict):
                    yield f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]", span


def _list(data: object, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _locate(data: dict[str, Any], file: str, line: int | None) -> TraceFileError:
    """The first part that does not parse, by its JSON path, with protobuf's reason."""
    parts: list[tuple[str, object, type[Message]]] = []
    for i, resource in enumerate(_list(data, "resourceSpans")):
        base = f"resourceSpans[{i}]"
        if not isinstance(resource, dict):
            return located(file, base, "expected an object", line)
        shell = {k: v for k, v in resource.items() if k != "scopeSpans"}
        parts.append((base, shell, trace_pb2.ResourceSpans))
        for j, scope in enumerate(_list(resource, "scopeSpans")):
            if not isinstance(scope, dict):
                return located(file, f"{base}.scopeSpans[{j}]", "expected an object", line)
            inner = {k: v for k, v in scope.items() if k != "spans"}
            parts.append((f"{base}.scopeSpans[{j}]", inner, trace_pb2.ScopeSpans))
            parts.extend((f"{base}.scopeSpans[{j}].spans[{k}]", span, trace_pb2.Span)
                         for k, span in enumerate(_list(scope, "spans")))
    parts.insert(0, ("", {k: v for k, v in data.items() if k != "resourceSpans"},
                     trace_pb2.TracesData))
    for path, part, kind in parts:
        try:
            json_format.ParseDict(part, kind())
        except json_format.ParseError as exc:
            return located(file, path, _reason(exc), line)
    return located(file, "", "not an OTLP TracesData object", line)


def _reason(exc: Exception) -> str:
    """protobuf's innermost reason: 'Failed to parse a field: Failed to parse b field: X'."""
    text = str(exc).split("\n")[0].rstrip(".")
    return text.rsplit("Failed to parse ", 1)[-1].strip()


def _spans(message: trace_pb2.TracesData, file: str, line: int | None) -> Iterator[Span]:
    for i, resource_spans in enumerate(message.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name")
        if not isinstance(service, str) or not service:
            raise located(file, f"resourceSpans[{i}].resource.attributes",
                          "no service.name: OTLP spans need the resource attribute "
                          "service.name to say which service they belong to", line)
        service, namespace = service_and_namespace(service, _text(first(
            resource, ("k8s.namespace.name", "service.namespace"))))
        who = {
            "instance": _text(first(resource, ("service.instance.id", "k8s.pod.name"))),
            "version": _text(resource.get("service.version")),
            "namespace": namespace,
        }
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                yield _span(span, service, who)


def _span(span: trace_pb2.Span, service: str, who: dict[str, str | None]) -> Span:
    attributes = _attributes(span.attributes)
    status = http_status(first(attributes, STATUS_KEYS))
    kind = _KINDS.get(span.kind, "unspecified")
    error = span.status.code == _STATUS_ERROR or (
        status is not None and status >= (500 if kind == "server" else 400))
    return Span(
        trace=span.trace_id.hex(), span_id=span.span_id.hex(),
        parent=span.parent_span_id.hex() or None, service=service, kind=kind,
        start=(span.start_time_unix_nano - ORIGIN_NS) / 1e9,
        end=(span.end_time_unix_nano - ORIGIN_NS) / 1e9,
        error=error, status=status, method=_text(first(attributes, METHOD_KEYS)),
        path=path_of(attributes), peer=_text(first(attributes, PEER_KEYS)),
        resend=int(http_status(first(attributes, RESEND_KEYS)) or 0),
        sample=sample_of_tracestate(span.trace_state), **who,
    )


def _attributes(values: Any) -> dict[str, object]:
    return {kv.key: _value(kv.value) for kv in values}


def _value(value: common_pb2.AnyValue) -> object:
    which = value.WhichOneof("value")
    if which is None:
        return None
    raw = getattr(value, which)
    return raw if which in ("string_value", "bool_value", "int_value", "double_value") \
        else str(raw)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = ["TraceFileError", "is_otlp", "read"]
