"""Prometheus queries of analysis templates → what they measure, by their common shapes.

meshsim does not run PromQL: it recognises the queries the Istio and Linkerd docs (and Argo's
and Flagger's) publish and measures the same thing on the simulated traffic:

* ``sum(rate(istio_requests_total{...,response_code!~"5.*"}[5m]))``
  ``/ sum(rate(istio_requests_total{...}[5m]))``: success rate (``=~"5.*"`` on top: error rate);
  Linkerd's ``response_total`` with ``classification!="failure"`` or ``="success"`` (success),
  ``="failure"`` (errors);
* ``histogram_quantile(0.99, sum(rate(<bucket>{...}[1m])) by (le))`` over Istio's
  ``istio_request_duration_milliseconds_bucket`` or Linkerd's ``response_latency_ms_bucket``
  (latency, in ms as the metric is);
* ``sum(rate(istio_requests_total{...}[1m]))`` / ``response_total`` alone (requests per second).

``rate``, ``irate`` and ``increase`` are all read as the window's average; an optional ``* 100``
scales the value. The range (``[5m]``) is the window; ``reporter`` (Istio) or ``direction``
(Linkerd) says whose proxy counts. The label selectors are returned for the caller to resolve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.errors import UnitError
from meshsim.model.rollout import MeasureKind, Reporter

# Default histogram bucket bounds in ms: Istio's stats filter (istio_request_duration_milliseconds)
# and linkerd2-proxy's ``latency::BOUNDS`` (response_latency_ms).
ISTIO_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
                    300000, 600000, 1800000, 3600000)
LINKERD_BUCKETS_MS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000,
                      3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)
COUNTERS = {"istio_requests_total": "istio", "response_total": "linkerd"}
HISTOGRAMS = {
    "istio_request_duration_milliseconds_bucket": ("istio", ISTIO_BUCKETS_MS),
    "response_latency_ms_bucket": ("linkerd", LINKERD_BUCKETS_MS),
}
SHAPES = (
    "sum(rate(istio_requests_total{..., response_code!~\"5.*\"}[W])) / "
    "sum(rate(istio_requests_total{...}[W])) (success rate; =~\"5.*\": error rate), "
    "the same over Linkerd's response_total with classification, "
    "histogram_quantile(Q, sum(rate(istio_request_duration_milliseconds_bucket{...}[W])) by (le)) "
    "or over response_latency_ms_bucket, and sum(rate(<counter>{...}[W])) alone (request rate)"
)


class QueryError(Exception):
    """The query is not one of the shapes meshsim reads; the message says what was wrong."""


@dataclass(frozen=True)
class Selector:
    """One ``metric{labels}[window]`` of the query."""

    metric: str
    labels: dict[str, tuple[str, str]]  # name → (operator, value)
    window: float


@dataclass(frozen=True)
class Query:
    kind: MeasureKind
    mesh: str  # "istio" | "linkerd": whose metric names
    window: float
    reporter: Reporter
    labels: dict[str, tuple[str, str]]  # the denominator's (or only) selector
    quantile: float = 0.99
    buckets_ms: tuple[float, ...] = ()
    scale: float = 1.0
    notes: list[str] = field(default_factory=list)


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}\s*\[([^\]]*)\]")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*\"((?:[^\"\\]|\\.)*)\"\s*,?")
_SUM = re.compile(
    r"^\(*\s*sum\s*(?:by\s*\([^)]*\)\s*)?\(\s*(?:rate|irate|increase)\s*\(\s*SEL\s*\)\s*\)"
    r"\s*(?:by\s*\([^)]*\)\s*)?\)*$"
)
_SCALE = re.compile(r"^(.*?)\s*\*\s*100\s*$|^\s*100\s*\*\s*(.*)$", re.S)
_QUANTILE = re.compile(r"^histogram_quantile\s*\(\s*([0-9.]+)\s*,\s*(.*)\)\s*$", re.S)
_HIST_INNER = re.compile(
    r"^sum\s*(?:by\s*\(\s*le\s*\)\s*)?\(\s*(?:rate|irate|increase)\s*\(\s*SEL\s*\)\s*\)"
    r"\s*(?:by\s*\(\s*le\s*\)\s*)?$"
)


def read_query(text: str) -> Query:
    """What ``text`` measures; :class:`QueryError` when it is none of :data:`SHAPES`."""
    body = " ".join(text.split())
    scale = 1.0
    scaled = _SCALE.match(body)
    if scaled:
        body, scale = (scaled.group(1) or scaled.group(2)).strip(), 100.0
    selectors = [_selector(m) for m in _SELECTOR.finditer(body)]
    shape = _SELECTOR.sub("SEL", body)
    quantile = _QUANTILE.match(shape)
    if quantile:
        return _latency(quantile, selectors, scale)
    parts = _split_ratio(shape)
    if not all(_SUM.match(p.strip()) for p in parts) or len(selectors) != len(parts):
        raise QueryError("it is not a sum(rate(...)) of one selector, nor a ratio of two")
    if any(s.metric not in COUNTERS for s in selectors):
        names = ", ".join(sorted({s.metric for s in selectors} - set(COUNTERS)))
        raise QueryError(f"metric {names} is not one meshsim measures")
    if len(parts) == 1:
        only = selectors[0]
        return _query("request_rate", only, only.labels, scale)
    top, bottom = selectors
    if top.metric != bottom.metric:
        raise QueryError("the two sides of the ratio count different metrics")
    return _query(_ratio_kind(top, bottom), bottom, bottom.labels, scale)


def _selector(match: re.Match[str]) -> Selector:
    labels: dict[str, tuple[str, str]] = {}
    text = match.group(2).strip()
    position = 0
    while position < len(text):
        label = _LABEL.match(text, position)
        if label is None or label.end() == position:
            raise QueryError(f"cannot read the label matchers {text!r}")
        labels[label.group(1)] = (label.group(2), label.group(3))
        position = label.end()
    try:
        window = parse_istio_duration(match.group(3).strip())
    except UnitError:
        raise QueryError(f"range [{match.group(3)}] is not a duration") from None
    return Selector(match.group(1), labels, window)


def _split_ratio(shape: str) -> list[str]:
    """Split on a ``/`` outside parentheses (none: the whole query)."""
    depth = 0
    for index, char in enumerate(shape):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "/" and depth == 0:
            return [shape[:index], shape[index + 1:]]
    return [shape]


_FIVE_XX = {("!~", "5.*"), ("!~", "5.."), ("!~", "5[0-9][0-9]"), ("!~", "^5.*")}
_ERRORS = {("=~", "5.*"), ("=~", "5.."), ("=~", "5[0-9][0-9]"), ("=~", "^5.*")}


def _ratio_kind(top: Selector, bottom: Selector) -> MeasureKind:
    extra = {k: v for k, v in top.labels.items() if bottom.labels.get(k) != v}
    if set(extra) - {"response_code", "classification"} or len(extra) != 1:
        raise QueryError("the numerator must be the denominator's selector plus one "
                         "response_code or classification matcher")
    (name, matcher), = extra.items()
    if name == "response_code" and top.metric == "istio_requests_total":
        if matcher in _FIVE_XX:
            return "success_rate"
        if matcher in _ERRORS:
            return "error_rate"
    if name == "classification" and top.metric == "response_total":
        if matcher in {("!=", "failure"), ("=", "success")}:
            return "success_rate"
        if matcher in {("=", "failure"), ("!=", "success")}:
            return "error_rate"
    raise QueryError(f"the numerator's {name}{matcher[0]}\"{matcher[1]}\" is not a 5xx or "
                     "failure split meshsim reads")


def _latency(match: re.Match[str], selectors: list[Selector], scale: float) -> Query:
    quantile = float(match.group(1))
    if not 0.0 < quantile <= 1.0:
        raise QueryError(f"quantile {quantile:g} is not in (0, 1]")
    if len(selectors) != 1 or not _HIST_INNER.match(match.group(2).strip()):
        raise QueryError("histogram_quantile needs sum(rate(<bucket>{...}[W])) by (le)")
    only = selectors[0]
    if only.metric not in HISTOGRAMS:
        raise QueryError(f"histogram {only.metric} is not one meshsim measures")
    _, buckets = HISTOGRAMS[only.metric]
    query = _query("latency", only, only.labels, scale)
    return Query(query.kind, query.mesh, query.window, query.reporter, query.labels,
                 quantile=quantile, buckets_ms=buckets, scale=scale)


def _query(kind: MeasureKind, selector: Selector, labels: dict[str, tuple[str, str]],
           scale: float) -> Query:
    mesh = COUNTERS.get(selector.metric) or HISTOGRAMS[selector.metric][0]
    return Query(kind, mesh, selector.window, _reporter(mesh, labels), labels, scale=scale)


def _reporter(mesh: str, labels: dict[str, tuple[str, str]]) -> Reporter:
    if mesh == "istio":
        op, value = labels.get("reporter", ("=", "destination"))
        if op != "=" or value not in ("source", "destination"):
            raise QueryError('reporter must be ="source" or ="destination"')
        return "source" if value == "source" else "destination"
    op, value = labels.get("direction", ("=", "inbound"))
    if op != "=" or value not in ("inbound", "outbound"):
        raise QueryError('direction must be ="inbound" or ="outbound"')
    return "source" if value == "outbound" else "destination"
