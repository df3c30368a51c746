"""Through a Linkerd multicluster gateway the server sees the gateway's identity
(linkerd-gateway.linkerd-multicluster), not the client's: a Server that admits only the
client's ServiceAccount denies gateway-mode mirror traffic until it admits the gateway."""

from __future__ import annotations

from pathlib import Path

from paths import ROOT

import meshsim
from meshsim.results import Results
from meshsim.sim.linkerd.multicluster import GATEWAY_IDENTITY

SCENARIO = ROOT / "scenarios" / "multicluster" / "linkerd-gateway.yaml"

SERVER = """
---
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {name: reviews-http, namespace: default}
spec:
  podSelector: {matchLabels: {app: reviews}}
  port: 80
  proxyProtocol: HTTP/1
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: allow-clients, namespace: default}
spec:
  server: {name: reviews-http}
  client:
    meshTLS:
      serviceAccounts:
{accounts}
"""
FRONTEND = "        - {name: frontend, namespace: default}\n"
GATEWAY = "        - {name: linkerd-gateway, namespace: linkerd-multicluster}\n"


def run(tmp_path: Path, accounts: str) -> Results:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.read_text() + SERVER.replace("{accounts}\n", accounts))
    scenario = meshsim.load(path, overrides={"spec.faults": [], "spec.duration": "6s"})
    return meshsim.simulate(scenario)


def mirror_statuses(results: Results) -> set[int]:
    att = results.attempts
    return set(att[att.service == "reviews-west"].status.astype(int))


def test_gateway_identity_is_the_gateways_service_account() -> None:
    assert GATEWAY_IDENTITY == (
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local")


def test_a_server_allowing_only_the_client_denies_traffic_via_the_gateway(
        tmp_path: Path) -> None:
    results = run(tmp_path, FRONTEND)
    assert mirror_statuses(results) == {403}
    deny = results.events[results.events.kind.astype(str) == "authz-deny"]
    assert not deny.empty
    assert all(GATEWAY_IDENTITY in str(d) for d in deny.detail)


def test_allowing_the_gateway_identity_lets_it_in(tmp_path: Path) -> None:
    results = run(tmp_path, FRONTEND + GATEWAY)
    assert mirror_statuses(results) == {200}
    assert "authz-deny" not in set(results.events.kind.astype(str))


def test_allowing_the_gateway_alone_is_enough(tmp_path: Path) -> None:
    """The client's own identity never reaches west's server through the gateway."""
    assert mirror_statuses(run(tmp_path, GATEWAY)) == {200}
