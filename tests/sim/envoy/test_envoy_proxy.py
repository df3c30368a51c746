"""Envoy semantics through the real engine, from hand-built policies (translator-free).

Each test sets up the observable effect of one seed example or one Envoy rule and checks it
in the recorded frames; random shares are checked within four binomial standard errors.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from builders import deployment, model

from meshsim.metrics import Recording
from meshsim.model import Constant, Model, RequestTemplate
from meshsim.model.clusters import (
    CircuitBreakers,
    ClusterPolicy,
    LoadBalancer,
    Subset,
)
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import (
    Backend,
    FaultInjection,
    HashKey,
    HeaderMatch,
    Mirror,
    RetryPolicy,
    Route,
    RouteMatch,
    StringMatch,
)
from meshsim.sim import Simulation

MS = 1e-3
BIG = 2**32 - 1
ISTIO_CB = CircuitBreakers(BIG, BIG, BIG, BIG)


def run(m: Model) -> Recording:
    return Simulation(m).run()


def names(rec: Recording, codes: np.ndarray) -> np.ndarray:
    return np.asarray(rec.names, dtype=object)[codes]


def binomial_ok(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


def versions(service: str = "reviews", **kw: object) -> list:
    return [
        deployment(service, version="v1", latency=Constant(2 * MS), concurrency=64, replicas=2),
        deployment(service, version="v2", latency=Constant(2 * MS), concurrency=64, replicas=1),
    ]


SUBSETS = {
    ("reviews", "v1"): Subset("reviews", "v1", {"version": "v1"}),
    ("reviews", "v2"): Subset("reviews", "v2", {"version": "v2"}),
}


def with_policy(m: Model, **policy: object) -> Model:
    base = {"default_cluster": ClusterPolicy(circuit_breakers=ISTIO_CB), "subsets": SUBSETS}
    base.update(policy)
    return replace(m, policy=TrafficPolicy(**base))  # type: ignore[arg-type]


def jason_mix(m: Model) -> Model:
    wl = replace(m.workloads[0], requests=(
        RequestTemplate(headers={"end-user": "jason"}, weight=1),
        RequestTemplate(headers={"end-user": "alice"}, weight=3),
    ))
    return replace(m, workloads=(wl,))


def test_header_match_routes_jason_to_v2_only() -> None:
    routes = (
        Route("jason", matches=(RouteMatch(headers=(
            HeaderMatch("end-user", StringMatch("exact", "jason")),)),),
            backends=(Backend("reviews", "v2"),)),
        Route("rest", backends=(Backend("reviews", "v1"),)),
    )
    m = jason_mix(with_policy(model(versions(), rate=200, duration=20, mesh="istio"),
                              routes={"reviews": routes}))
    rec = run(m)
    att = rec.attempts
    # The template chosen shows in the pod reached: v2 pods only for jason.
    pods = names(rec, att["pod"])
    v2 = np.char.startswith(pods.astype(str), "reviews-v2")
    share = v2.mean()
    assert 0.15 < share < 0.35  # jason is 1/4 of the mix
    calls = rec.calls
    subset = names(rec, calls["subset"])
    assert set(subset) == {"v1", "v2"}


def test_weighted_split_90_10_is_binomial() -> None:
    split = (Backend("reviews", "v1", 90), Backend("reviews", "v2", 10))
    routes = (Route("split", backends=split),)
    rec = run(with_policy(model(versions(), rate=500, duration=40, mesh="istio", seed=3),
                          routes={"reviews": routes}))
    subset = names(rec, rec.calls["subset"])
    n = len(subset)
    assert binomial_ok(int(np.sum(subset == "v2")), n, 0.10)


def test_retries_stay_in_the_cluster_chosen_once_per_request() -> None:
    deps = versions()
    deps[1] = replace(deps[1], errors=1.0)
    routes = (Route("split", backends=(Backend("reviews", "v1", 50), Backend("reviews", "v2", 50)),
                    retry=RetryPolicy(num_retries=3, retry_on=frozenset({"5xx"}))),)
    rec = run(with_policy(model(deps, rate=100, duration=10, mesh="istio"),
                          routes={"reviews": routes}))
    att = rec.attempts
    by_call: dict[int, set[str]] = {}
    for call_id, pod in zip(att["call_id"], names(rec, att["pod"]), strict=True):
        by_call.setdefault(int(call_id), set()).add(pod.split("-")[1])
    assert all(len(v) == 1 for v in by_call.values())
    flags = Counter(names(rec, rec.requests["flags"]))
    assert flags["URX"] == np.sum(rec.requests["status"] == 500)  # v2 exhausted its retries
    assert np.all(rec.requests["attempts"][rec.requests["status"] == 500] == 4)


def test_connection_pool_overflow_is_immediate_503_uo_and_never_retried() -> None:
    deps = [deployment("api", latency=Constant(50 * MS), concurrency=100)]
    cb = CircuitBreakers(max_connections=1, max_pending_requests=1, max_requests=BIG,
                         max_retries=BIG)
    routes = (Route("r", backends=(Backend("api"),),
                    retry=RetryPolicy(num_retries=3, retry_on=frozenset({"5xx", "reset"}))),)
    m = with_policy(model(deps, rate=100, duration=10, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    routes={"api": routes}, clusters={("api", None): ClusterPolicy(
                        circuit_breakers=cb)})
    rec = run(m)
    req = rec.requests
    flags = names(rec, req["flags"])
    uo = flags == "UO"
    assert uo.sum() > 0 and np.all(req["status"][uo] == 503)
    assert np.all(req["attempts"][uo] == 1)  # never retried
    # Overflow is local: answered without any network round trip.
    assert np.allclose(req["end"][uo] - req["start"][uo], 0.0)


def test_s14_second_stream_pending_third_overflows() -> None:
    """max_connections 1, max_pending 1: while the connection is being set up request 1 is
    pending; request 2 (sent right after) overflows."""
    deps = [deployment("api", latency=Constant(10 * MS), concurrency=10)]
    cb = CircuitBreakers(max_connections=1, max_pending_requests=1, max_requests=BIG,
                         max_retries=BIG)
    m = with_policy(model(deps, rate=2000, duration=0.0012, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    clusters={("api", None): ClusterPolicy(circuit_breakers=cb)})
    rec = run(replace(m, duration=0.1))
    req = rec.requests
    order = np.argsort(req["start"])
    flags = names(rec, req["flags"])[order]
    assert list(flags[:2]) == ["", "UO"]


@pytest.mark.parametrize(("retry_on", "expect_retry"), [("5xx", True), ("connect-failure", False)])
def test_per_try_timeout_is_retried_only_under_5xx_gateway_error_or_reset(
    retry_on: str, expect_retry: bool
) -> None:
    deps = [deployment("api", latency=Constant(80 * MS), concurrency=100)]
    routes = (Route("r", backends=(Backend("api"),), retry=RetryPolicy(
        num_retries=2, retry_on=frozenset({retry_on}), per_try_timeout=0.05)),)
    rec = run(with_policy(model(deps, rate=20, duration=5, mesh="istio"),
                          routes={"api": routes}))
    req = rec.requests
    assert np.all(req["status"] == 504)
    flags = set(names(rec, req["flags"]))
    if expect_retry:
        assert flags == {"UT,URX"} and np.all(req["attempts"] == 3)
    else:
        assert flags == {"UT"} and np.all(req["attempts"] == 1)


def test_route_timeout_covers_all_attempts_and_backoff() -> None:
    deps = [deployment("api", latency=Constant(30 * MS), concurrency=100, errors=1.0)]
    routes = (Route("r", backends=(Backend("api"),), timeout=0.1, retry=RetryPolicy(
        num_retries=10, retry_on=frozenset({"5xx"}))),)
    rec = run(with_policy(model(deps, rate=20, duration=5, mesh="istio"),
                          routes={"api": routes}))
    req = rec.requests
    assert np.all(req["status"] == 504)
    assert np.allclose(req["end"] - req["start"], 0.1)
    assert set(names(rec, req["flags"])) == {"UT"}


def test_mirror_doubles_v2_load_while_callers_see_only_v1() -> None:
    routes = (Route("r", backends=(Backend("reviews", "v1"),),
                    mirrors=(Mirror("reviews", "v2", 100.0),)),)
    rec = run(with_policy(model(versions(), rate=100, duration=10, mesh="istio"),
                          routes={"reviews": routes}))
    calls = rec.calls
    mirror = calls["mirror"].astype(bool)
    subset = names(rec, calls["subset"])
    assert np.all(subset[~mirror] == "v1")
    assert np.all(subset[mirror] == "v2")
    assert abs(mirror.sum() - (~mirror).sum()) <= 2
    assert len(rec.requests["id"]) == (~mirror).sum()  # mirrored calls are not requests


def test_fault_injection_delay_and_abort_shares() -> None:
    deps = [deployment("ratings", latency=Constant(1 * MS), concurrency=100)]
    fault = FaultInjection(delay_percent=10, delay=0.5, abort_percent=5, abort_status=503)
    routes = (Route("r", backends=(Backend("ratings"),), fault=fault,
                    retry=RetryPolicy(num_retries=2, retry_on=frozenset({"5xx"}))),)
    rec = run(with_policy(model(deps, rate=400, duration=30, mesh="istio", seed=5),
                          routes={"ratings": routes}))
    req = rec.requests
    flags = names(rec, req["flags"])
    n = len(flags)
    delayed = np.array(["DI" in f for f in flags])
    aborted = np.array(["FI" in f for f in flags])
    assert binomial_ok(int(delayed.sum()), n, 0.10)
    assert binomial_ok(int(aborted.sum()), n, 0.05)
    assert np.all(req["status"][aborted] == 503)
    assert np.all(req["attempts"][aborted] == 0)  # aborts never reach the router
    lat = req["end"] - req["start"]
    assert np.all(lat[delayed] >= 0.5 - 1e-9)


@pytest.mark.parametrize("policy", ["ring_hash", "maglev"])
def test_consistent_hash_keeps_a_user_on_one_pod(policy: str) -> None:
    deps = [deployment("cart", latency=Constant(1 * MS), concurrency=100, replicas=5)]
    m = model(deps, rate=300, duration=10, mesh="istio", clients=3)
    wl = replace(m.workloads[0], requests=(RequestTemplate(headers={"x-user-id": "ann"}),))
    m = replace(m, workloads=(wl,))
    lb = LoadBalancer(policy=policy, hash_key=HashKey("header", "x-user-id"))  # type: ignore[arg-type]
    sticky = run(with_policy(m, clusters={("cart", None): ClusterPolicy(load_balancer=lb)}))
    spread = run(with_policy(m))
    # Every proxy builds the same ring, so one user lands on one pod from every client.
    assert len(set(names(sticky, sticky.attempts["pod"]))) == 1
    assert len(set(names(spread, spread.attempts["pod"]))) == 5


def test_no_matching_route_is_404_nr_and_unknown_subset_is_503_nc() -> None:
    only_post = (Route("post", matches=(RouteMatch(method=StringMatch("exact", "POST")),),
                       backends=(Backend("reviews", "v1"),)),)
    rec = run(with_policy(model(versions(), rate=50, duration=2, mesh="istio"),
                          routes={"reviews": only_post}))
    assert set(rec.requests["status"]) == {404}
    assert set(names(rec, rec.requests["flags"])) == {"NR"}
    missing = (Route("r", backends=(Backend("reviews", "v9"),)),)
    rec = run(with_policy(model(versions(), rate=50, duration=2, mesh="istio"),
                          routes={"reviews": missing}))
    assert set(rec.requests["status"]) == {503}
    assert set(names(rec, rec.requests["flags"])) == {"NC"}


def test_subset_matching_no_pod_is_503_uh() -> None:
    subsets = dict(SUBSETS)
    subsets[("reviews", "v3")] = Subset("reviews", "v3", {"version": "v3"})
    routes = (Route("r", backends=(Backend("reviews", "v3"),)),)
    rec = run(with_policy(model(versions(), rate=50, duration=2, mesh="istio"),
                          routes={"reviews": routes}, subsets=subsets))
    assert set(names(rec, rec.requests["flags"])) == {"UH"}


def test_retry_breaker_blocks_retries_with_uo() -> None:
    deps = [deployment("api", latency=Constant(20 * MS), concurrency=100, errors=1.0)]
    routes = (Route("r", backends=(Backend("api"),),
                    retry=RetryPolicy(num_retries=3, retry_on=frozenset({"5xx"}))),)
    cb = CircuitBreakers(BIG, BIG, BIG, max_retries=1)
    rec = run(with_policy(model(deps, rate=500, duration=5, mesh="istio", seed=2),
                          routes={"api": routes},
                          clusters={("api", None): ClusterPolicy(circuit_breakers=cb)}))
    flags = Counter(names(rec, rec.requests["flags"]))
    assert flags["UO"] > 0 and flags["URX"] > 0


# -- mirrors, HTTP/1 pools and faults (reference/envoy-istio.md) ---------------------------------

SUBSETS_WITH_V3 = {
    **SUBSETS,
    ("reviews", "v3"): Subset("reviews", "v3", {"version": "v3"}),  # matches no pod
}


def one_pod_versions() -> list:
    return [
        deployment("reviews", version="v1", latency=Constant(2 * MS), concurrency=64),
        deployment("reviews", version="v2", latency=Constant(2 * MS), concurrency=64),
    ]


@pytest.mark.parametrize(("subset", "flag"), [("v9", "NC"), ("v3", "UH")])
def test_mirror_not_sent_when_primary_is_nc_or_uh(subset: str, flag: str) -> None:
    routes = (Route("r", backends=(Backend("reviews", subset),),
                    mirrors=(Mirror("reviews", "v2", 100.0),)),)
    rec = run(with_policy(model(one_pod_versions(), rate=50, duration=2, mesh="istio"),
                          routes={"reviews": routes}, subsets=SUBSETS_WITH_V3))
    assert set(names(rec, rec.requests["flags"])) == {flag}
    assert int(rec.calls["mirror"].sum()) == 0


def test_mirror_not_sent_when_first_attempt_overflows() -> None:
    cb = CircuitBreakers(max_connections=1, max_pending_requests=1, max_requests=BIG,
                         max_retries=BIG)
    deps = [
        deployment("reviews", version="v1", latency=Constant(50 * MS), concurrency=100),
        deployment("reviews", version="v2", latency=Constant(1 * MS), concurrency=100),
    ]
    routes = (Route("r", backends=(Backend("reviews", "v1"),),
                    mirrors=(Mirror("reviews", "v2", 100.0),)),)
    m = with_policy(model(deps, rate=100, duration=2, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    routes={"reviews": routes}, subsets=SUBSETS_WITH_V3,
                    clusters={("reviews", "v1"): ClusterPolicy(circuit_breakers=cb)})
    rec = run(m)
    flags = names(rec, rec.requests["flags"])
    uo = int(np.sum(flags == "UO"))
    assert uo > 0
    # ±3 for requests still in flight when the run ends
    assert abs(int(rec.calls["mirror"].sum()) - (len(flags) - uo)) <= 3


def test_http1_max_requests_does_not_overflow_streams_that_can_pend() -> None:
    deps = [deployment("api", latency=Constant(15 * MS), concurrency=100)]
    cb = CircuitBreakers(max_connections=1, max_pending_requests=BIG, max_requests=1,
                         max_retries=BIG)
    m = with_policy(model(deps, rate=100, duration=1, mesh="istio", latency=1 * MS,
                          arrival="constant"),
                    clusters={("api", None): ClusterPolicy(circuit_breakers=cb)},
                    default_retry=None, subsets=SUBSETS_WITH_V3)
    rec = run(m)
    flags = set(names(rec, rec.requests["flags"]))
    assert "UO" not in flags
    assert np.all(rec.requests["status"] == 200)


def test_no_cluster_after_fault_delay_keeps_di_flag() -> None:
    routes = (Route("r", backends=(Backend("reviews", "v9"),),
                    fault=FaultInjection(delay_percent=100, delay=0.01)),)
    rec = run(with_policy(model(one_pod_versions(), rate=50, duration=1, mesh="istio"),
                          routes={"reviews": routes}, subsets=SUBSETS_WITH_V3))
    assert set(rec.requests["status"]) == {503}
    flags = {frozenset(str(f).split(",")) for f in names(rec, rec.requests["flags"])}
    assert flags == {frozenset({"DI", "NC"})}
