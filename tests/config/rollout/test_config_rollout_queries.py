"""PromQL shapes and Argo condition expressions meshsim reads, and the ones it refuses."""

from __future__ import annotations

import math

import pytest

from meshsim.config.manifest.nodes import Node
from meshsim.config.manifests import Manifest
from meshsim.config.rollout.conditions import parse_condition
from meshsim.config.rollout.promql import QueryError, read_query
from meshsim.errors import ScenarioError
from meshsim.model.rollout import AllOf, AnyOf, Compare, Condition, Not

ISTIO_SR = (
    'sum(irate(istio_requests_total{reporter="source",destination_service=~"svc",'
    'response_code!~"5.*"}[5m])) / sum(irate(istio_requests_total{reporter="source",'
    'destination_service=~"svc"}[5m]))'
)


def test_istio_success_rate() -> None:
    q = read_query(ISTIO_SR)
    assert (q.kind, q.mesh, q.window, q.reporter, q.scale) == ("success_rate", "istio", 300.0,
                                                               "source", 1.0)
    assert q.labels["destination_service"] == ("=~", "svc")


def test_istio_error_rate_scaled_to_percent() -> None:
    q = read_query(ISTIO_SR.replace("!~\"5.*\"", "=~\"5.*\"").replace("reporter=\"source\"",
                                                                      "reporter=\"destination\"")
                   + " * 100")
    assert (q.kind, q.reporter, q.scale) == ("error_rate", "destination", 100.0)


def test_istio_latency_quantile() -> None:
    q = read_query('histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket'
                   '{reporter="destination",destination_workload="svc"}[1m])) by (le))')
    assert (q.kind, q.quantile, q.window, q.buckets_ms[0], q.buckets_ms[-1]) == (
        "latency", 0.99, 60.0, 0.5, 3600000)


def test_linkerd_failure_ratio_and_request_rate() -> None:
    errors = read_query('sum(rate(response_total{deployment="d",direction="outbound",'
                        'classification="failure"}[30s])) / sum(rate(response_total{'
                        'deployment="d",direction="outbound"}[30s]))')
    assert (errors.kind, errors.mesh, errors.reporter, errors.window) == (
        "error_rate", "linkerd", "source", 30.0)
    rate = read_query('sum(rate(response_total{deployment="d"}[1m]))')
    assert (rate.kind, rate.reporter) == ("request_rate", "destination")


@pytest.mark.parametrize(("query", "why"), [
    ("rate(up[1m])", "not a sum(rate(...))"),
    ('sum(rate(istio_requests_total{a="b"}[1m])) / sum(rate(response_total{a="b"}[1m]))',
     "different metrics"),
    ('histogram_quantile(1.5, sum(rate(response_latency_ms_bucket{a="b"}[1m])) by (le))',
     "not in (0, 1]"),
    ('sum(rate(istio_requests_total{reporter="both"}[1m]))', "reporter must be"),
    ('sum(rate(istio_requests_total{a="b"}[soon]))', "not a duration"),
])
def test_unrecognised_queries(query: str, why: str) -> None:
    with pytest.raises(QueryError, match=None) as info:
        read_query(query)
    assert why in str(info.value)


def _node(text: str) -> Node:
    manifest = Manifest("argoproj.io/v1alpha1", "AnalysisTemplate", "t", "default",
                        {"c": text}, {}, "t.yaml", "rollout")
    return Node.root(manifest)["c"]


HAS_DATA = Compare(">=", -math.inf)
CONDITIONS: list[tuple[str, Condition]] = [
    ("result[0] >= 0.95", Compare(">=", 0.95)),
    ("result < 0.5", Compare("<", 0.5)),
    ("0.9 <= result[0]", Compare(">=", 0.9)),
    ("asFloat(result[0]) > 1e3", Compare(">", 1000.0)),
    ("result[0] > 0.9 && result[0] < 1", AllOf((Compare(">", 0.9), Compare("<", 1.0)))),
    # len() tells the empty vector (-inf in the engine) from [NaN]: Argo's len([NaN]) is 1.
    ("len(result) == 0 || result[0] >= 0.99",
     AnyOf((Compare("==", -math.inf), Compare(">=", 0.99)))),
    ("len(result) > 0 && result[0] >= 0.99",
     AllOf((Compare("!=", -math.inf), Compare(">=", 0.99)))),
    ("!(result[0] < 0.5)", Not(Compare("<", 0.5))),
    ("isNaN(result[0]) || (result[0] > 1 && result[0] != 5)",
     AnyOf((Not(HAS_DATA), AllOf((Compare(">", 1.0), Compare("!=", 5.0)))))),
]


@pytest.mark.parametrize(("text", "expected"), CONDITIONS)
def test_conditions(text: str, expected: Condition) -> None:
    assert parse_condition(_node(text)) == expected


def test_no_data_is_nan_and_compares_false() -> None:
    """The engine measures NaN on an empty window: HAS_DATA must be false only for it."""
    assert not (math.nan >= HAS_DATA.threshold)
    assert HAS_DATA.threshold <= 0.0 and HAS_DATA.threshold <= -1e300


@pytest.mark.parametrize("text", ["result[1] > 2", "result.x > 1", "result[0] >", "len(result) > 2",
                                  "result[0] >= 0.9 &&", "sum(result) > 1"])
def test_unreadable_conditions(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_condition(_node(text))
    assert "cannot read condition" in info.value.message
    assert "meshsim understands" in info.value.message
