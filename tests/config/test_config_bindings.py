"""What ``meshsim validate`` lists per service: sidecar or not and why, and the manifests bound."""

from __future__ import annotations

from pathlib import Path

from meshsim.config import Scenario, load_scenario_text

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {{name: bind}}
spec:
  mesh: {mesh}
  duration: 10s
  services:
    web: {{namespace: shop, latency: constant(1ms), calls: [api]{web}}}
    api: {{namespace: shop, latency: constant(1ms), calls: [legacy]}}
    legacy: {{namespace: old, latency: constant(1ms){legacy}}}
  workload:
    - {{name: users, target: web, rate: 10/s}}
"""

ISTIO = """\
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: api, namespace: shop}
spec:
  hosts: [api]
  http: [{route: [{destination: {host: api}}], retries: {attempts: 2}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: legacy, namespace: shop}
spec: {host: legacy.old.svc.cluster.local}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-only, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: mesh-wide, namespace: istio-system}
spec: {mtls: {mode: PERMISSIVE}}
"""

LINKERD = """\
---
apiVersion: v1
kind: Namespace
metadata: {name: old, annotations: {linkerd.io/inject: disabled}}
---
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: api.shop.svc.cluster.local, namespace: shop}
spec:
  routes: [{name: all, condition: {pathRegex: /.*}, isRetryable: true}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: 8080}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web-id, namespace: shop}
spec: {identityRefs: [{kind: ServiceAccount, name: web}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-to-api, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-id}
"""


def scenario(tmp_path: Path, mesh: str, manifests: str, web: str = "",
             legacy: str = "") -> Scenario:
    text = SCENARIO.format(mesh=mesh, web=web, legacy=legacy) + manifests
    return load_scenario_text(text, tmp_path, "bind.yaml")


def rows(s: Scenario) -> dict[str, tuple[str, bool, str, tuple[str, ...]]]:
    return {b.service: (b.namespace, b.sidecar, b.why, b.manifests) for b in s.bindings()}


def test_istio_sidecars_and_the_policies_bound_to_each(tmp_path: Path) -> None:
    pod_opt_out = ", labels: {sidecar.istio.io/inject: 'false'}"
    s = scenario(tmp_path, "istio", ISTIO, web=pod_opt_out)
    found = rows(s)
    # api's only caller lost its sidecar: the VirtualService's retries never apply, and it says so
    (idle,) = [w for w in s.warnings if w.code == "unmeshed"]
    assert idle.message.startswith("VirtualService/api is applied by the proxies of the callers "
                                   "of api, and none of them (web) runs one")
    assert found["web"] == ("shop", False, 'pod label sidecar.istio.io/inject: "false"',
                            ("Namespace/shop", "PeerAuthentication/mesh-wide"))
    assert found["api"] == ("shop", True, "Namespace/shop istio-injection: enabled",
                            ("Namespace/shop", "VirtualService/api", "AuthorizationPolicy/api-only",
                             "PeerAuthentication/mesh-wide"))
    namespace, sidecar, why, manifests = found["legacy"]
    assert (namespace, sidecar) == ("old", True)
    assert why == "no Namespace manifest for old: taken as istio-injection: enabled"
    assert manifests == ("DestinationRule/legacy", "PeerAuthentication/mesh-wide")


def test_linkerd_sidecars_and_the_policies_bound_to_each(tmp_path: Path) -> None:
    s = scenario(tmp_path, "linkerd", LINKERD, legacy=", labels: {linkerd.io/inject: enabled}")
    found = rows(s)
    assert found["web"][1:] == (
        True, "no Namespace manifest for shop: taken as linkerd.io/inject: enabled", ())
    assert found["api"][3] == ("ServiceProfile/api.shop.svc.cluster.local", "Server/api-http",
                               "AuthorizationPolicy/web-to-api")
    assert found["legacy"][1:] == (True, "pod label linkerd.io/inject: enabled",
                                   ("Namespace/old",))
    assert not [w for w in s.warnings if w.code == "unmeshed"]  # the pod label keeps legacy


def test_a_namespace_that_unmeshes_shows_in_the_rows(tmp_path: Path) -> None:
    s = scenario(tmp_path, "linkerd", LINKERD)
    assert rows(s)["legacy"][1:3] == (False, "Namespace/old linkerd.io/inject: disabled")
    assert [w.message.split(",")[0] for w in s.warnings if w.code == "unmeshed"] == [
        "Namespace/old is annotated linkerd.io/inject: disabled"]
