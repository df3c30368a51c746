"""End to end: the seed's Linkerd examples (scenarios/linkerd/), loaded and simulated via the API.

Each test loads a scenario with ``meshsim.load``, runs ``meshsim.simulate`` and checks the
effect the Linkerd example is meant to have in the result frames. Shares are checked against
binomial bounds of four standard errors, bounds are derived from the algorithm (the retry
budget), and effects that hinge on the random draws run with several seeds.

Where meshsim disagrees with linkerd2-proxy the test states what the proxy does and is marked
``xfail(strict=True)`` with the reason, so it turns into a failure once the engine is fixed.
"""

from __future__ import annotations

import math
from functools import cache

import linkerd_seed
import pandas as pd
import pytest
from paths import ROOT

import meshsim

LINKERD = ROOT / "scenarios" / "linkerd"
Z = 4.0  # standard errors allowed around an expected share

# Warnings each scenario may give on load: (code, last segment of the YAML path).
EXPECTED_WARNINGS = {
    "httproute.yaml": {("approximated", "port")},  # parentRefs port: one port per service
}
SCENARIOS = sorted(p.name for p in LINKERD.glob("*.yaml"))

Overrides = tuple[tuple[str, object], ...]


# -- helpers ---------------------------------------------------------------------------------


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("__list__", *(_freeze(v) for v in value))
    return value


def _thaw(value: object) -> object:
    if isinstance(value, tuple) and value and value[0] == "__list__":
        return [_thaw(v) for v in value[1:]]
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _thaw(v) for k, v in value}
    return value


def frozen(overrides: dict[str, object]) -> Overrides:
    return tuple((k, _freeze(v)) for k, v in overrides.items())


@cache
def _load(name: str, overrides: Overrides = ()) -> meshsim.Scenario:
    thawed = {k: _thaw(v) for k, v in overrides}
    return meshsim.load(LINKERD / name, overrides=thawed or None)


@cache
def run(name: str, seed: int | None = None, duration: float | None = None,
        overrides: Overrides = ()) -> meshsim.Results:
    """Simulate a scenario once per argument set (several tests read the same run)."""
    return meshsim.simulate(_load(name, overrides), seed=seed, duration=duration)


def assert_share(k: int, n: int, p: float, what: str, z: float = Z) -> None:
    """k successes of n within z binomial standard errors of p."""
    assert n > 0, f"{what}: no trials"
    se = math.sqrt(p * (1 - p) / n)
    assert abs(k / n - p) <= z * se, (
        f"{what}: {k}/{n} = {k / n:.4f}, expected {p:.4f} ± {z:g}×{se:.4f}"
    )


def with_workload(results: meshsim.Results, frame: pd.DataFrame) -> pd.DataFrame:
    workloads = results.requests[["id", "workload"]].rename(columns={"id": "request_id"})
    return frame.merge(workloads, on="request_id", how="left")


def primary_calls(results: meshsim.Results) -> pd.DataFrame:
    """The workload's own hop (depth 0, not a mirror copy), with the workload's name."""
    calls = results.calls
    return with_workload(results, calls[(calls["depth"] == 0) & ~calls["mirror"]])


def budget_bound(calls: int, duration: float, ratio: float = 0.2, min_per_s: float = 10.0,
                 reserve: float = 100.0) -> float:
    """Most retries one client proxy's TpsBudget allows: ratio × requests, plus the reserve
    (min_per_s × ttl, refilled as withdrawals age out: min_per_s × duration), plus the cold
    reserve of the first window (100 retries with the defaults, linkerd.md §1.1)."""
    return ratio * calls + min_per_s * duration + reserve


def assert_retries_within_budget(results: meshsim.Results, duration: float,
                                 ratio: float = 0.2) -> pd.DataFrame:
    """Every client proxy's retries within its budget; returns retries and calls per proxy."""
    attempts = results.attempts
    retries = attempts[attempts["retry"]].groupby("caller", observed=True).size()
    calls = results.calls.groupby("caller", observed=True).size()
    table = pd.DataFrame({"retries": retries, "calls": calls}).fillna(0)
    for proxy, row in table.iterrows():
        bound = budget_bound(int(row["calls"]), duration, ratio)
        assert row["retries"] <= bound, f"{proxy}: {row['retries']:.0f} retries > {bound:.0f}"
    return table


# -- every scenario --------------------------------------------------------------------------


def test_there_is_one_scenario_per_linkerd_seed_pattern() -> None:
    assert set(SCENARIOS) >= {
        "service-profile.yaml", "traffic-split.yaml", "authorization.yaml", "httproute.yaml",
        "failure-blackhole.yaml", "retry-storm.yaml",
    }



PASTED = {
    "PROFILE": "service-profile.yaml",
    "SPLIT": "traffic-split.yaml",
    "AUTHZ": "authorization.yaml",
    "HTTPROUTE": "httproute.yaml",
}


@pytest.mark.parametrize("example", sorted(PASTED))
def test_seed_manifests_are_pasted_verbatim(example: str) -> None:
    text = (LINKERD / PASTED[example]).read_text()
    for document in getattr(linkerd_seed, example).split("---\n"):
        assert document.strip("\n") in text, f"{example}: {document[:80]!r}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_loads_with_only_the_expected_warnings(name: str) -> None:
    found = {(w.code, (w.location.path or "").rsplit(".", 1)[-1]) for w in _load(name).warnings}
    assert found == EXPECTED_WARNINGS.get(name, set()), _load(name).warnings


@pytest.mark.parametrize("name", ["traffic-split.yaml", "retry-storm.yaml"])
def test_scenario_meets_its_expectations(name: str) -> None:
    slo = run(name, seed=1).slo()  # the scenarios' own seed; shared with the tests below
    assert len(slo) >= 2
    failed = slo[~slo["passed"]]
    assert failed.empty, "\n".join(failed["description"])


# -- ServiceProfile: retries within the budget, POST never retried, the 5 s route timeout ----

SP = "service-profile.yaml"
SP_DURATION = 30.0
# One workload per route, so each route's requests can be told apart (the frames hold no path).
SP_ROUTES = {
    "spec.workload": [
        {"name": "get-users", "target": "my-service", "rate": "100/s", "clients": 2,
         "request": {"method": "GET", "path": "/api/users"}},
        {"name": "post-users", "target": "my-service", "rate": "50/s", "clients": 2,
         "request": {"method": "POST", "path": "/api/users"}},
        {"name": "get-user", "target": "my-service", "rate": "50/s", "clients": 2,
         "request": {"method": "GET", "path": "/api/users/42"}},
    ],
}
ALL_FAIL = frozen({**SP_ROUTES, "spec.services.my-service.errors": 1.0})
# One second in which my-service answers 8 s late: past GET /api/users/{id}'s 5 s timeout.
SLOW = frozen({**SP_ROUTES, "spec.faults": [
    {"at": "10s", "for": "1s", "target": "my-service", "latency": "+8s"}]})


@pytest.mark.parametrize("seed", [1, 2])
def test_profile_retries_are_bounded_by_the_budget_when_every_attempt_fails(seed: int) -> None:
    results = run(SP, seed=seed, duration=SP_DURATION, overrides=ALL_FAIL)
    requests = results.requests
    assert not requests["ok"].any()  # nothing can succeed
    table = assert_retries_within_budget(results, SP_DURATION)
    gets = table.loc[[p for p in table.index if str(p).startswith("get-")]]
    # Retries happen (the cold reserve alone allows 100 per client proxy) ...
    assert (gets["retries"] >= 100).all(), gets
    # ... but far fewer than the failures: once the reserve is spent, ~20 % of requests.
    assert gets["retries"].sum() < 0.5 * gets["calls"].sum(), gets
    # POST /api/users is not retryable: never retried, and it never touches the budget.
    posts = requests[requests["workload"] == "post-users"]
    assert len(posts) > 1000
    assert (posts["attempts"] == 1).all()
    attempts = with_workload(results, results.attempts)
    assert not attempts.loc[attempts["workload"] == "post-users", "retry"].any()
    # Budget exhausted: the failed response is returned unchanged (the app's 500).
    assert set(requests["status"]) == {500}


def test_profile_retries_recover_most_of_the_ten_percent_errors() -> None:
    results = run(SP, duration=SP_DURATION, overrides=frozen(SP_ROUTES))
    requests = results.requests
    by = requests.groupby("workload")["ok"]
    # POST is not retried: its ~10 % errors reach the client.
    posts = requests[requests["workload"] == "post-users"]
    assert_share(int((~posts["ok"]).sum()), len(posts), 0.10, "POST failures")
    # GETs are retried within the budget (10 % errors ≤ 20 % ratio): ~1 % fail (two failures).
    for workload in ("get-users", "get-user"):
        assert by.mean()[workload] > 0.97, by.mean()
    assert_retries_within_budget(results, SP_DURATION)


@pytest.mark.parametrize("seed", [1, 2])
def test_route_timeout_bounds_get_user_by_id_when_the_pod_is_slow(seed: int) -> None:
    results = run(SP, seed=seed, duration=SP_DURATION, overrides=SLOW)
    requests = results.requests
    by_id = requests[requests["workload"] == "get-user"]
    assert by_id["latency"].max() <= 5.0 + 1e-6
    timed_out = by_id[by_id["status"] == 504]
    assert len(timed_out) > 20  # ~50/s start inside the slow second
    assert timed_out["latency"].between(5.0 - 1e-6, 5.0 + 1e-6).all()
    # Those served in the slow second, or queued behind the slots it held (8 s at most).
    assert timed_out["start"].between(5.0, 11.0 + 8.0).all()
    # The timeout is per route: GET /api/users has none and waits the 8 s out.
    plain = requests[requests["workload"] == "get-users"]
    assert (plain["latency"] > 8.0).sum() > 20
    assert plain["ok"].mean() > 0.95


# -- TrafficSplit 900m / 100m ------------------------------------------------------------------

TS = "traffic-split.yaml"


@pytest.mark.parametrize("seed", [1, 2])
def test_traffic_split_sends_ninety_ten(seed: int) -> None:
    results = run(TS, seed=seed)
    calls = primary_calls(results)
    services = calls["service"].astype(str)
    # The apex is not a backend: it gets nothing.
    assert set(services) == {"my-service-stable", "my-service-canary"}
    assert_share(int((services == "my-service-canary").sum()), len(calls), 0.10, "canary share")
    pods = results.attempts["pod"].astype(str)
    assert set(pods) == {"my-service-stable-0", "my-service-stable-1", "my-service-stable-2",
                         "my-service-canary-0"}
    # Only the canary's own 2 % errors fail; no retries on the profile the split creates.
    failed = calls[~calls["ok"]]
    assert set(failed["service"].astype(str)) <= {"my-service-canary"}
    assert not results.attempts["retry"].any()


def test_traffic_split_weight_zero_rolls_back() -> None:
    results = run(TS, duration=10.0, overrides=frozen(
        {"TrafficSplit/my-service-canary.spec.backends[1].weight": 0}))
    assert set(primary_calls(results)["service"].astype(str)) == {"my-service-stable"}


# -- Server + ServerAuthorization ------------------------------------------------------------

AZ = "authorization.yaml"
# allow-ingress narrowed to an ingress range that holds no pod (meshsim's pods are 10.244.0.10).
NARROW_INGRESS = frozen({"ServerAuthorization/allow-ingress.spec.client.networks[0].cidr":
                         "10.0.0.0/24"})


def _calls_to_my_service(results: meshsim.Results) -> pd.DataFrame:
    calls = results.calls
    return calls[calls["service"] == "my-service"]


def test_seed_authorizations_as_written_admit_every_pod_through_allow_ingress() -> None:
    # `unauthenticated: true` from 10.0.0.0/8 admits any client in that range, meshed or not:
    # reports' pods are in it, so the seed's policy lets reports in (Linkerd ORs the
    # authorizations). Not what the "e.g., from ingress" comment suggests, but what Linkerd does.
    results = run(AZ)
    calls = _calls_to_my_service(results)
    assert set(calls["caller"].astype(str)) == {"frontend-0", "frontend-1", "reports-0"}
    assert (calls["status"] == 200).all()
    assert (results.events["kind"] != "authz-deny").all()


def test_only_frontend_is_authorized_once_ingress_is_narrowed() -> None:
    results = run(AZ, overrides=NARROW_INGRESS)
    calls = _calls_to_my_service(results)
    callers = calls["caller"].astype(str)
    frontend = calls[callers.str.startswith("frontend-")]
    reports = calls[callers.str.startswith("reports-")]
    assert len(frontend) > 3000 and len(reports) > 1000
    assert (frontend["status"] == 200).all()
    assert (reports["status"] == 403).all()
    # Denied by the server's proxy: my-service's app never sees reports' requests.
    attempts = results.attempts
    denied = attempts[attempts["caller"].astype(str).str.startswith("reports-")]
    assert (denied["status"] == 403).all()
    assert not denied["retry"].any()  # a 403 is no failure: nothing retries it
    # One authz-deny event per denied edge (reports-0 → each my-service pod), none for frontend.
    events = results.events[results.events["kind"] == "authz-deny"]
    edges = set(zip(events["proxy"].astype(str), events["pod"].astype(str), strict=True))
    assert edges == {("reports-0", "my-service-0"), ("reports-0", "my-service-1")}
    assert (events["service"] == "my-service").all()
    assert events["detail"].str.contains("reports.my-namespace.serviceaccount").all()
    assert events["detail"].str.contains("my-service-http").all()
    assert (events["time"] < 1.0).all()  # the first denial, at the first requests


def test_removing_allow_frontend_denies_frontend_too() -> None:
    results = run(AZ, duration=5.0, overrides=frozen({
        "ServerAuthorization/allow-frontend.spec.client.meshTLS.serviceAccounts[0].name":
        "someone-else",
        **dict(NARROW_INGRESS)}))
    calls = _calls_to_my_service(results)
    assert (calls["status"] == 403).all()
    proxies = set(results.events.loc[results.events["kind"] == "authz-deny", "proxy"].astype(str))
    assert proxies == {"frontend-0", "frontend-1", "reports-0"}


# -- HTTPRoute -------------------------------------------------------------------------------

HR = "httproute.yaml"


@pytest.fixture(scope="module")
def routed() -> pd.Series:
    results = run(HR)
    calls = primary_calls(results)
    return calls.groupby("workload", observed=True)["service"].agg(lambda s: set(s.astype(str)))


def test_httproute_sends_api_v2_and_the_header_outside_api_to_v2(routed: pd.Series) -> None:
    assert routed["api-v2"] == {"my-service-v2"}
    assert routed["header-v2-root"] == {"my-service-v2"}


def test_httproute_sends_the_rest_of_api_to_v1(routed: pd.Series) -> None:
    assert routed["api-v1"] == {"my-service-v1"}


def test_httproute_longer_path_beats_the_header_match(routed: pd.Series) -> None:
    # /api/users with x-api-version: v2 — the header match's implied path is "/" (1 character),
    # rule 2's PathPrefix /api matches 4; the path length is compared first
    # (linkerd2-proxy http/route/src/http/match.rs), so the request goes to v1.
    assert routed["header-v2"] == {"my-service-v1"}


def test_httproute_unmatched_request_is_answered_404_by_the_client_proxy() -> None:
    results = run(HR)
    health = results.requests[results.requests["workload"] == "health"]
    assert len(health) > 100
    assert (health["status"] == 404).all()
    assert (health["attempts"] == 0).all()
    attempts = with_workload(results, results.attempts)
    assert (attempts["workload"] != "health").all()  # it never reached a pod
    assert results.requests.loc[results.requests["workload"] != "health", "ok"].all()


def test_httproute_path_prefix_matches_whole_segments(routed: pd.Series) -> None:
    assert routed["v2beta"] == {"my-service-v1"}


# -- the failure black hole: P2C/Peak-EWMA and failure accrual -------------------------------

FB = "failure-blackhole.yaml"
BROKEN = "my-service-broken-0"
ACCRUAL = frozen({"Service/my-service.metadata.annotations":
                  {"balancer.linkerd.io/failure-accrual": "consecutive"}})
FB_SEEDS = (1, 2, 3)


def _broken_share(results: meshsim.Results, after: float = 10.0) -> tuple[int, int]:
    attempts = results.attempts
    late = attempts[attempts["start"] >= after]
    return int((late["pod"].astype(str) == BROKEN).sum()), len(late)


@pytest.mark.parametrize("seed", FB_SEEDS)
def test_fast_failing_pod_draws_more_than_its_share_without_accrual(seed: int) -> None:
    results = run(FB, seed=seed)
    k, n = _broken_share(results)
    se = math.sqrt((1 / 3) * (2 / 3) / n)
    assert k / n > 1 / 3 + Z * se, f"broken pod share {k}/{n} = {k / n:.3f}"
    assert k / n > 0.5  # it is picked in most comparisons it takes part in
    assert results.requests["ok"].mean() < 0.6
    assert (results.events["kind"] != "eject").all()


@pytest.mark.parametrize("seed", FB_SEEDS)
def test_failure_accrual_shrinks_the_broken_pods_share(seed: int) -> None:
    without = run(FB, seed=seed)
    results = run(FB, seed=seed, overrides=ACCRUAL)
    k, n = _broken_share(results)
    k0, n0 = _broken_share(without)
    assert k / n < 0.05, f"broken pod share with accrual {k}/{n} = {k / n:.3f}"
    assert k / n < (k0 / n0) / 10
    assert results.requests["ok"].mean() > 0.97
    # Accrual is per client proxy: every client keeps probing the broken pod after each penalty.
    attempts = results.attempts
    probes = attempts[(attempts["pod"].astype(str) == BROKEN) & (attempts["start"] >= 10.0)]
    assert set(probes["caller"].astype(str)) == {f"users-{i}" for i in range(4)}


def test_failure_accrual_ejections_are_events() -> None:
    results = run(FB, overrides=ACCRUAL)
    events = results.events
    ejects = events[events["kind"] == "eject"]
    assert set(ejects["pod"].astype(str)) == {BROKEN}
    assert set(ejects["proxy"].astype(str)) == {f"users-{i}" for i in range(4)}
    assert (events["kind"] == "uneject").any()  # probation after each penalty


# -- the retry storm, held by Linkerd's budget -----------------------------------------------

RS = "retry-storm.yaml"
RS_FAULT_AT, RS_FAULT_END, RS_DURATION = 20.0, 25.0, 45.0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_budgeted_profile_retries_recover_from_the_slowdown(seed: int) -> None:
    results = run(RS, seed=seed)
    row = results.recovery.iloc[0]
    assert row["fault_end"] == pytest.approx(RS_FAULT_END)
    assert row["baseline"] > 0.99
    assert row["recovered"]
    assert row["recovery_time"] <= 2.0
    requests = results.requests
    after = requests[(requests["start"] >= RS_FAULT_END + 2.0)
                     & (requests["start"] < RS_DURATION - 2.0)]
    assert after["ok"].mean() > 0.99
    during = requests[requests["start"].between(RS_FAULT_AT + 0.5, RS_FAULT_END)]
    assert during["ok"].mean() < 0.5  # the slowdown does hurt while it lasts
    # Every hop retried while ratings failed, each client proxy within its budget.
    attempts = results.attempts
    retried = attempts[attempts["retry"]]
    assert set(retried["service"].astype(str)) == {"frontend", "reviews", "ratings"}
    assert retried["start"].between(RS_FAULT_AT, RS_FAULT_END + 2.0).all()
    assert_retries_within_budget(results, RS_DURATION)
    # Budgets compose across hops but bound it: a retry at each of the three hops adds at most
    # ~20 % (plus each client proxy's reserve: 10 users, 3 frontend and 3 reviews proxies), so
    # ratings sees at most ~1.2³ attempts per user request in the storm, and none extra after.
    ratings = attempts[attempts["service"] == "ratings"]
    window = (RS_FAULT_AT, RS_FAULT_END + 2.0)
    storm = int(ratings["start"].between(*window).sum())
    storm_requests = int(requests["start"].between(*window).sum())
    reserves = (10 * 1.2**2 + 3 * 1.2 + 3) * 100
    assert storm < 1.2**3 * storm_requests + reserves, (storm, storm_requests)
    late = ratings[ratings["start"] >= RS_FAULT_END + 5.0]
    assert len(late) / (requests["start"] >= RS_FAULT_END + 5.0).sum() < 1.01
