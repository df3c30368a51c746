"""AuthorizationPolicy, MeshTLS/Network authentication, inbound routes and default policies."""

from __future__ import annotations

from linkerd_helpers import find, run, service, topology

from meshsim.model.authz import default_authorizations, identity_of
from meshsim.model.routes import StringMatch

TOPO = topology(service("web", namespace="shop"), service("api", namespace="shop"),
                service("batch", namespace="jobs"))

SERVER = """
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  port: 8080
  accessPolicy: deny
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: web-only, namespace: shop}
spec:
  identityRefs: [{kind: ServiceAccount, name: web}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: cluster, namespace: shop}
spec:
  networks: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: admin, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: api}]
  rules:
    - matches: [{path: {type: Exact, value: /admin}, method: POST}]
    - matches: [{path: {value: /}}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-admin, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: admin}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: web-only}
    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: cluster}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: anyone, namespace: shop}
spec:
  targetRef: {kind: Namespace, name: shop}
"""


def test_authorization_policy_on_route_and_namespace() -> None:
    result = run(SERVER, TOPO)
    inbound = result.policy.inbound
    assert inbound is not None
    server = inbound.server_for("api", None)
    assert server is not None and server.port == 8080 and server.access_policy == "deny"
    (anyone,) = server.authorizations
    assert anyone.unauthenticated and anyone.networks == ()  # every address
    exact, prefix = server.routes
    assert exact.matches[0].uri == StringMatch("exact", "/admin")
    assert prefix.matches[0].uri == StringMatch("path_prefix", "/")
    (web_admin,) = exact.authorizations
    assert web_admin.identities == (identity_of("web", "shop"),)
    assert web_admin.permits(identity_of("web", "shop"), "10.1.0.1")
    assert not web_admin.permits(identity_of("web", "shop"), "10.9.0.1")  # except
    assert not web_admin.permits(identity_of("batch", "jobs"), "10.1.0.1")
    assert result.warnings == []


def test_namespace_default_inbound_policy_and_injection() -> None:
    text = """
apiVersion: v1
kind: Namespace
metadata:
  name: jobs
  annotations: {linkerd.io/inject: enabled, config.linkerd.io/default-inbound-policy: deny}
"""
    result = run(text, TOPO)
    inbound = result.policy.inbound
    assert inbound is not None
    assert inbound.default_for("batch") == "deny"
    assert inbound.default_for("web") == "all-unauthenticated"
    assert default_authorizations("deny") == ()
    # shop has no Namespace manifest: taken as injected, whatever other namespaces say
    assert result.policy.sidecars == {"web": True, "api": True, "batch": True}


def test_default_policies_expand() -> None:
    (everyone,) = default_authorizations("all-unauthenticated")
    assert everyone.permits(None, "8.8.8.8")
    (cluster,) = default_authorizations("cluster-authenticated")
    assert cluster.permits("x", "10.0.0.1") and not cluster.permits(None, "10.0.0.1")
    assert not cluster.permits("x", "8.8.8.8")


def test_server_selecting_nothing_warns() -> None:
    text = SERVER.split("---")[0].replace("app: api", "app: nothing")
    warning = find(run(text, TOPO).warnings, "selects no pod")
    assert warning.code == "no-effect"
    assert warning.location.path == "Server/api spec.podSelector"


def test_unknown_identity_warns() -> None:
    text = SERVER.split("---")[0] + """---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: a, namespace: shop}
spec:
  server: {name: api}
  client:
    meshTLS: {identities: [ghost.shop.serviceaccount.identity.linkerd.cluster.local]}
"""
    assert find(run(text, TOPO).warnings, "is no service of the scenario").code == "no-effect"
