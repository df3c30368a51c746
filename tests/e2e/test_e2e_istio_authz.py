"""End to end: Istio AuthorizationPolicy and PeerAuthentication through the public API.

Denials are decided per request by policy, not drawn at random: every call a policy denies is
denied, so the shares below are exact (0 or 1), whatever the seed. Runs are short (a few
seconds of simulated time, a few hundred requests).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from paths import SCENARIOS

import meshsim

ISTIO = SCENARIOS / "istio"
SECONDS = 4.0


@cache
def run(name: str, overrides: tuple[tuple[str, object], ...] = ()) -> meshsim.Results:
    scenario = meshsim.load(ISTIO / name, overrides=dict(overrides) or None)
    return meshsim.simulate(scenario, duration=SECONDS)


def denials(results: meshsim.Results) -> pd.DataFrame:
    return results.events[results.events["kind"] == "authz-deny"]


def calls_from(results: meshsim.Results, prefix: str) -> pd.DataFrame:
    calls = results.calls
    return calls[calls["caller"].astype(str).str.startswith(prefix)]


# -- zero trust: allow-nothing + frontend may GET reviews ----------------------------------------


def test_stray_caller_gets_403_and_frontend_gets_through() -> None:
    results = run("authorization.yaml")
    stray = calls_from(results, "stray-")
    frontend = calls_from(results, "frontend-")
    assert len(stray) > 40 and len(frontend) > 200
    assert (stray["status"] == 403).all()
    assert (frontend["status"] == 200).all()
    users = calls_from(results, "users-")
    assert (users["status"] == 200).all()


def test_denials_are_not_retried_and_carry_no_response_flag() -> None:
    results = run("authorization.yaml")
    denied = results.attempts[results.attempts["status"] == 403]
    assert len(denied) > 40
    assert (denied["attempt"] == 1).all()
    assert not denied["retry"].any()
    assert (denied["flags"].astype(str) == "").all()
    assert (calls_from(results, "stray-")["attempts"] == 1).all()


def test_denied_requests_never_reach_the_app() -> None:
    # reviews' app takes a whole second; a 403 comes from its sidecar in network time.
    slow = run("authorization.yaml", (("spec.services.reviews.latency", "constant(1s)"),))
    stray = calls_from(slow, "stray-")
    assert len(stray) > 40 and (stray["status"] == 403).all()
    assert stray["latency"].max() < 0.05


def test_one_event_per_denied_caller_and_pod_edge() -> None:
    results = run("authorization.yaml")
    events = denials(results)
    edges = set(zip(events["proxy"].astype(str), events["pod"].astype(str), strict=True))
    assert edges == {("stray-0", "reviews-0"), ("stray-0", "reviews-1")}
    assert len(events) == 2
    assert events["detail"].str.contains("cluster.local/ns/default/sa/stray").all()
    assert events["detail"].str.contains("403 RBAC: access denied").all()


def test_allowing_another_method_denies_frontends_gets() -> None:
    path = "AuthorizationPolicy/reviews-viewer.spec.rules[0].to[0].operation.methods[0]"
    results = run("authorization.yaml", ((path, "POST"),))
    assert (calls_from(results, "frontend-")["status"] == 403).all()
    proxies = set(denials(results)["proxy"].astype(str))
    assert proxies == {"stray-0", "frontend-0", "frontend-1"}


def test_an_audit_policy_has_no_effect_so_allow_nothing_denies_all_of_reviews() -> None:
    results = run("authorization.yaml",
                  (("AuthorizationPolicy/reviews-viewer.spec.action", "AUDIT"),))
    assert (calls_from(results, "frontend-")["status"] == 403).all()
    assert (calls_from(results, "users-")["status"] == 200).all()  # frontend-ingress still


# -- PeerAuthentication STRICT with an uninjected client ------------------------------------------


def test_strict_refuses_the_plaintext_client_only() -> None:
    results = run("mtls-strict.yaml")
    legacy = calls_from(results, "legacy-")
    frontend = calls_from(results, "frontend-")
    assert len(legacy) > 40 and len(frontend) > 200
    assert (legacy["status"] == 503).all()
    assert (legacy["attempts"] == 1).all()  # no sidecar of its own to retry
    assert (frontend["status"] == 200).all()
    batch = calls_from(results, "batch-")
    assert (batch["status"] == 500).all()  # legacy's app fails on its failed required call


def test_strict_refusal_events_name_the_plaintext_edges() -> None:
    events = denials(run("mtls-strict.yaml"))
    edges = set(zip(events["proxy"].astype(str), events["pod"].astype(str), strict=True))
    assert edges == {("legacy-0", "reviews-0"), ("legacy-0", "reviews-1")}
    assert events["detail"].str.contains("STRICT").all()


def test_permissive_accepts_plaintext() -> None:
    results = run("mtls-strict.yaml",
                  (("PeerAuthentication/default.spec.mtls.mode", "PERMISSIVE"),))
    assert (calls_from(results, "legacy-")["status"] == 200).all()
    assert denials(results).empty


def test_disable_leaves_no_principal_for_authorization_to_match(tmp_path: Path) -> None:
    # The zero-trust scenario plus a mesh-wide DISABLE: the users' sidecars now call in
    # plaintext, so frontend-ingress's principal cannot match and the users are denied too.
    text = (ISTIO / "authorization.yaml").read_text() + (
        "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
        "metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: DISABLE}}\n"
    )
    (tmp_path / "disable.yaml").write_text(text)
    # 3 s: a run must last longer than its 2 s warm-up
    results = meshsim.simulate(meshsim.load(tmp_path / "disable.yaml"), duration=3.0)
    users = calls_from(results, "users-")
    assert len(users) > 50 and (users["status"] == 403).all()
    assert calls_from(results, "frontend-").empty  # its app never ran
    assert denials(results)["detail"].str.contains("without mTLS identity").all()
