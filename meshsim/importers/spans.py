"""A span as the importers need it, whichever tracer wrote it, and the errors of reading one.

OTLP and Jaeger spans are read into :class:`Span`: the few facts a call graph and a latency
model are built from, named in OpenTelemetry's semantic conventions (older names too:
``http.method``, ``http.status_code``, ``net.peer.name``, ``peer.service``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from meshsim.errors import Location, ScenarioError

Kind = Literal["server", "client", "internal", "producer", "consumer", "unspecified"]

METHOD_KEYS = ("http.request.method", "http.method")
STATUS_KEYS = ("http.response.status_code", "http.status_code")
PEER_KEYS = ("server.address", "peer.service", "net.peer.name", "http.host")
PATH_KEYS = ("url.path", "http.target", "url.full", "http.url", "http.route")
RESEND_KEYS = ("http.request.resend_count", "http.resend_count")
# Span times are read as seconds after this instant (2023-11-14), not after 1970: a float of
# seconds since 1970 resolves only a quarter of a microsecond; this keeps nanoseconds.
ORIGIN_NS = 1_700_000_000 * 10**9


@dataclass(frozen=True)
class Span:
    """One span: who (service, instance, version, namespace), when, what it answered."""

    trace: str
    span_id: str
    parent: str | None
    service: str
    kind: Kind
    start: float  # seconds since the epoch
    end: float
    error: bool
    status: int | None = None  # HTTP status
    method: str | None = None
    path: str | None = None
    peer: str | None = None  # the service a client span called (server.address)
    resend: int = 0  # http.request.resend_count: a retry of the same logical call
    instance: str | None = None  # service.instance.id, k8s.pod.name
    version: str | None = None  # service.version
    namespace: str | None = None  # k8s.namespace.name, service.namespace
    sample: float | None = None  # the probability it was sampled with, when the tracer said

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


class TraceFileError(ScenarioError):
    """A trace file that is not a readable OTLP or Jaeger export, located in the file."""


def located(file: str, path: str, message: str, line: int | None = None) -> TraceFileError:
    return TraceFileError(message, Location(file=file, line=line, path=path))


def first(attributes: Mapping[str, object], keys: tuple[str, ...]) -> object | None:
    """The first of ``keys`` the attributes hold (current convention first, then older)."""
    for key in keys:
        if key in attributes:
            return attributes[key]
    return None


def path_of(attributes: Mapping[str, object]) -> str | None:
    """The request path: ``url.path`` (or the older ``http.target``), else the path of a full
    URL (``url.full``, ``http.url`` as Envoy tags it), else the route template."""
    value = first(attributes, PATH_KEYS)
    if value is None:
        return None
    text = str(value)
    if "://" in text:
        text = urlsplit(text).path or "/"
    return text.split("?")[0] or "/"


def service_and_namespace(service: str, namespace: str | None) -> tuple[str, str | None]:
    """Istio names a sidecar's spans ``<app>.<namespace>`` (its default service-name format):
    split it when the span does not say its namespace otherwise."""
    name, dot, rest = service.partition(".")
    if namespace is None and dot and rest and "." not in rest:
        return name, rest
    return service, namespace


def http_status(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def sample_of_tracestate(state: str) -> float | None:
    """The sampling probability a W3C ``tracestate`` carries for OpenTelemetry:
    ``ot=th:<hex threshold>`` (current spec) or ``ot=p:<n>`` (older, probability 2^-n)."""
    for member in state.split(","):
        key, _, value = member.strip().partition("=")
        if key != "ot":
            continue
        for field in value.split(";"):
            name, _, raw = field.partition(":")
            try:
                if name == "th":
                    return 1.0 - int(raw.ljust(14, "0")[:14], 16) / float(1 << 56)
                if name == "p":
                    return 2.0 ** -int(raw)
            except ValueError:
                return None
    return None
