"""Flagger's ``service.gateways``/``hosts``: the generated routes on Istio ingress gateways."""

from __future__ import annotations

from pathlib import Path

from rollout_config_helpers import find, line_of, load, policy

from meshsim.config.rollout.gateways import gateway_ref, vs_hosts
from meshsim.model.policy import gateway_for
from meshsim.model.routes import Backend

GATEWAY = """\
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: public-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 80, name: http, protocol: HTTP}
      hosts: ["*.example.com"]
---
"""


def text(gateways: str, hosts: str = "[app.example.com]", target: str = "app.example.com",
         gateway: str = GATEWAY) -> str:
    return (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
        "  mesh: istio\n  duration: 60s\n  services:\n"
        "    frontend: {namespace: test, latency: exponential(2ms), calls: [podinfo]}\n"
        "    podinfo: {namespace: test, latency: exponential(5ms), "
        "versions: {primary: {}, canary: {}}}\n"
        f"  workload:\n    - {{name: internet, target: {target}, rate: 10/s}}\n---\n"
        f"{gateway}"
        "apiVersion: flagger.app/v1beta1\nkind: Canary\n"
        "metadata: {name: podinfo, namespace: test}\nspec:\n"
        "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n"
        f"  service:\n    port: 9898\n    gateways: {gateways}\n    hosts: {hosts}\n"
        "  analysis: {interval: 10s, stepWeight: 20}\n"
    )


def test_gateway_refs_resolve_as_istio_reads_them() -> None:
    assert gateway_ref("public-gateway", "test") == "test/public-gateway"
    assert gateway_ref("istio-system/public-gateway", "test") == "istio-system/public-gateway"
    fqdn = "public-gateway.istio-system.svc.cluster.local"  # the Flagger docs' form
    assert gateway_ref(fqdn, "test") == "istio-system/public-gateway"


def test_generated_hosts_add_the_apex_unless_listed() -> None:
    from meshsim.config.manifest.nodes import Node
    from meshsim.config.manifests import classify
    from meshsim.config.yamlsrc import load_stream

    def service(hosts: str) -> Node:
        doc = load_stream(f"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {{name: p}}"
                          f"\nspec: {{service: {{hosts: {hosts}}}}}\n", "c.yaml")[0]
        return Node.root(classify(doc, doc.data, "istio", set()))["spec"]["service"]

    assert vs_hosts(service("[app.example.com]"), "podinfo") == ["app.example.com", "podinfo"]
    assert vs_hosts(service("['*']"), "podinfo") == ["*"]


def test_routes_bound_to_the_gateway_and_mesh(tmp_path: Path) -> None:
    s = load(tmp_path, text("[public-gateway.istio-system.svc.cluster.local, mesh]"))
    p = policy(s)
    gateway = p.gateways["istio-system/public-gateway"]
    (route,) = gateway.routes["app.example.com"]
    rollout = s.model.rollouts[0]
    assert rollout.target.routes == (route.name,)
    assert route.backends == (Backend("podinfo", "primary", 100), Backend("podinfo", "canary", 0))
    assert p.routes["podinfo"] == (route,)  # 'mesh' listed: the sidecars split too
    assert gateway_for(p, "app.example.com") is gateway
    assert "podinfo" not in gateway.routes  # the apex matches no server host (*.example.com)
    assert not [w for w in s.warnings if w.code in ("unmodelled", "no-effect")]


def test_without_mesh_the_sidecars_reach_the_primary_only(tmp_path: Path) -> None:
    src = text("[istio-system/public-gateway]")
    s = load(tmp_path, src)
    p = policy(s)
    (mesh_route,) = p.routes["podinfo"]
    assert mesh_route.backends == (Backend("podinfo", "primary"),)
    assert mesh_route.name not in s.model.rollouts[0].target.routes
    assert len(p.gateways["istio-system/public-gateway"].routes["app.example.com"]) == 1
    warning = find(s.warnings, "without 'mesh' in gateways")
    assert warning.location.line == line_of(src, "gateways:")


def test_a_gateway_the_scenario_lacks_is_a_located_warning(tmp_path: Path) -> None:
    src = text("[missing-gateway, mesh]", target="frontend")
    s = load(tmp_path, src)
    warning = find(s.warnings, "'missing-gateway' (test/missing-gateway) is not in the scenario")
    assert warning.location.line == line_of(src, "gateways:")
    assert warning.location.path == "Canary/podinfo spec.service.gateways[0]"
    assert "istio-system/public-gateway" in warning.message  # the Gateways it knows
    assert "not split" in warning.message


def test_a_host_no_server_accepts_is_a_warning(tmp_path: Path) -> None:
    src = text("[istio-system/public-gateway, mesh]", hosts="[app.other.org]",
               target="frontend")
    s = load(tmp_path, src)
    warning = find(s.warnings, "'app.other.org' matches no server host")
    assert warning.code == "unused"
    assert not policy(s).gateways["istio-system/public-gateway"].routes


def test_a_workload_may_target_a_host_only_flagger_binds(tmp_path: Path) -> None:
    # No VirtualService of the user's serves app.example.com: Flagger's does.
    s = load(tmp_path, text("[istio-system/public-gateway, mesh]"))
    assert s.model.workloads[0].target == "app.example.com"


def test_user_catch_all_on_the_same_host_is_flagged(tmp_path: Path) -> None:
    user_vs = (
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
        "metadata: {name: site, namespace: test}\nspec:\n  hosts: [app.example.com]\n"
        "  gateways: [istio-system/public-gateway]\n"
        "  http:\n    - route: [{destination: {host: frontend}}]\n---\n"
    )
    s = load(tmp_path, text("[istio-system/public-gateway, mesh]", gateway=GATEWAY + user_vs))
    routes = policy(s).gateways["istio-system/public-gateway"].routes["app.example.com"]
    assert [r.backends[0].service for r in routes] == ["frontend", "podinfo"]
    assert find(s.warnings, "already routes host 'app.example.com'").code == "overridden"
