"""The Gateway API mesh (GAMMA) conformance tests Linkerd reports passing, on meshsim.

Upstream: kubernetes-sigs/gateway-api ``conformance/tests/mesh/<file>.go`` (the expected
responses) and ``.yaml`` (the routes; where the index lacks the upstream YAML, the copy in
cilium/cilium ``operator/pkg/gateway-api/testdata/gamma/``). Linkerd's report:
``conformance/reports/v1.3.0/linkerd-linkerd/standard-2.18-default-report.yaml`` (MESH-HTTP:
core and extended succeeded, MeshHTTPRouteRedirectPath and MeshHTTPRouteRewritePath
unsupported). docs/conformance-gateway-api.md lists what is in and out of scope.

Each test names the upstream file and the test's ShortName; each case keeps the upstream
request (host, path, headers) and the expected backend, status or redirect. Cases run through
the simulator: per case a client service in the caller's namespace calls the host with the
request; the ``calls`` frame shows the backend reached, the status and the redirect Location.
Where upstream proves a route applied by a response header (``X-Header-Set``), which meshsim
does not simulate, the case checks the route the caller's linkerd2-proxy selects instead.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import meshsim
from meshsim.config.linkerd import translate
from meshsim.config.manifests import classify
from meshsim.config.yamlsrc import load_stream
from meshsim.model import Constant, Contention, Deployment, Service, Topology
from meshsim.model.policy import TrafficPolicy
from meshsim.model.routes import Route
from meshsim.sim.linkerd.routing import routes_for_caller, select
from meshsim.sim.messages import Call

MESH = "gateway-conformance-mesh"
CONSUMER = "gateway-conformance-mesh-consumer"
BACKENDS = ("echo", "echo-v1", "echo-v2")


@dataclass(frozen=True)
class Case:
    """One upstream ``http.ExpectedResponse``: the request and who sends it."""

    path: str = "/"
    host: str = "echo"
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    namespace: str = MESH  # the calling pod's namespace


@dataclass(frozen=True)
class Outcome:
    service: str
    status: int
    location: str | None = None


# -- running cases through the simulator ----------------------------------------------------


def scenario(manifests: str, cases: list[Case], *, rate: int = 5, seconds: int = 2,
             extra_services: str = "") -> str:
    services = "".join(
        f"    {name}: {{namespace: {MESH}, concurrency: 100, latency: constant(1ms)}}\n"
        for name in BACKENDS)
    clients = []
    workloads = []
    for i, case in enumerate(cases):
        call = {"service": case.host, "path": case.path, "method": case.method,
                "headers": case.headers}
        clients.append(f"    client-{i}:\n      namespace: {case.namespace}\n"
                       f"      concurrency: 100\n      latency: constant(1ms)\n"
                       f"      calls: [{_flow(call)}]\n")
        workloads.append(f"    - {{name: w{i}, target: client-{i}, rate: {rate}/s, "
                         f"arrival: constant}}\n")
    return (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: gamma}\nspec:\n"
        f"  mesh: linkerd\n  duration: {seconds}s\n  seed: 3\n  services:\n"
        + services + extra_services + "".join(clients)
        + "  workload:\n" + "".join(workloads)
        + "---\n" + textwrap.dedent(manifests).strip() + "\n"
    )


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return f'"{value}"'


def simulate(tmp_path: Path, manifests: str, cases: list[Case], **kwargs: object
             ) -> list[Counter[Outcome]]:
    """Each case's outcomes (backend reached, status, Location) over its requests."""
    path = tmp_path / "gamma.yaml"
    path.write_text(scenario(manifests, cases, **kwargs))  # type: ignore[arg-type]
    calls = meshsim.simulate(meshsim.load(path)).calls
    hops = calls[calls["depth"] == 1]
    out = []
    for i in range(len(cases)):
        mine = hops[hops["caller"].astype(str).str.startswith(f"client-{i}-")]
        assert len(mine) > 0, f"case {i} sent nothing"
        out.append(Counter(_outcome(str(s), int(st), str(f))
                           for s, st, f in zip(mine["service"], mine["status"], mine["flags"],
                                               strict=True)))
    return out


def _outcome(service: str, status: int, flags: str) -> Outcome:
    location = flags.removeprefix("redirect=") if flags.startswith("redirect=") else None
    return Outcome(service, status, location)


def only(outcomes: Counter[Outcome]) -> Outcome:
    assert len(outcomes) == 1, outcomes
    return next(iter(outcomes))


# -- route selection, where upstream checks a response header -------------------------------


def topology() -> Topology:
    def svc(name: str, namespace: str) -> Service:
        dep = Deployment(service=name, version=None, replicas=1, concurrency=1, queue=None,
                         latency=Constant(0.001), errors=0.0, contention=Contention(),
                         calls=(), labels={"app": name})
        return Service(name, namespace, (dep,))

    services = [svc(n, MESH) for n in BACKENDS] + [svc("client", CONSUMER)]
    return Topology({s.name: s for s in services}, network_latency=0.0, proxy_overhead=0.0)


def policy(manifests: str) -> TrafficPolicy:
    docs = load_stream(textwrap.dedent(manifests), "gamma.yaml")
    parsed = [classify(doc, doc.data, "linkerd") for doc in docs]  # type: ignore[arg-type]
    return translate(parsed, topology()).policy


def selected(pol: TrafficPolicy, case: Case) -> Route | None:
    """The route the calling pod's linkerd2-proxy selects (None: the default route)."""
    table = pol.routes.get(case.host)
    if table is None:
        return None
    call = Call(0, 0, None, case.host, case.method, case.path, case.headers, 1,  # type: ignore[arg-type]
                None, lambda _: None)
    return select(routes_for_caller(table, case.namespace), call)


def route_of(route: Route | None) -> str | None:
    """``<namespace>/<HTTPRoute name>`` of a selected rule."""
    if route is None or route.fallback:
        return None
    return route.name.rsplit("/", 1)[0]


# -- MESH-HTTP core ---------------------------------------------------------------------------


def test_mesh_basic(tmp_path: Path) -> None:
    """mesh-basic.go MeshBasic: no configuration, a mesh client reaches a mesh server."""
    (got,) = simulate(tmp_path, "", [Case(host="echo")])
    assert only(got) == Outcome("echo", 200)


SIMPLE_SAME_NAMESPACE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: gateway-conformance-mesh-test
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - backendRefs:
    - name: echo-v1
      port: 8080
"""


def test_mesh_httproute_simple_same_namespace(tmp_path: Path) -> None:
    """httproute-simple-same-namespace.go MeshHTTPRouteSimpleSameNamespace."""
    (got,) = simulate(tmp_path, SIMPLE_SAME_NAMESPACE, [Case(host="echo", path="/")])
    assert only(got) == Outcome("echo-v1", 200)


MESH_SPLIT = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-split
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
  rules:
  - backendRefs:
    - name: echo-v1
      port: 80
    matches:
    - path:
        type: Exact
        value: /v1
  - backendRefs:
    - name: echo-v2
      port: 80
    matches:
    - path:
        type: Exact
        value: /v2
"""


def test_mesh_traffic_split(tmp_path: Path) -> None:
    """mesh-split.go MeshTrafficSplit: /v1 → echo-v1, /v2 → echo-v2."""
    got = simulate(tmp_path, MESH_SPLIT, [Case(path="/v1"), Case(path="/v2")])
    assert [only(g) for g in got] == [Outcome("echo-v1", 200), Outcome("echo-v2", 200)]


MESH_MATCHING = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-matching
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    - headers:
      - name: version
        value: one
    backendRefs:
    - name: echo-v1
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /v2
    - headers:
      - name: version
        value: two
    backendRefs:
    - name: echo-v2
      port: 8080
"""


@pytest.mark.parametrize(("case", "backend"), [
    (Case(path="/"), "echo-v1"),
    (Case(path="/example"), "echo-v1"),
    (Case(path="/", headers={"Version": "one"}), "echo-v1"),
    (Case(path="/v2"), "echo-v2"),
    (Case(path="/v2/example"), "echo-v2"),
    (Case(path="/", headers={"Version": "two"}), "echo-v2"),
    (Case(path="/v2/"), "echo-v2"),
    (Case(path="/v2example"), "echo-v1"),  # not a path segment prefix of /v2
    (Case(path="/foo/v2/example"), "echo-v1"),
])
def test_mesh_httproute_matching(tmp_path: Path, case: Case, backend: str) -> None:
    """httproute-matching.go MeshHTTPRouteMatching."""
    (got,) = simulate(tmp_path, MESH_MATCHING, [case])
    assert only(got) == Outcome(backend, 200)


WEIGHTED = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-weighted-backends
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - backendRefs:
    - name: echo-v1
      port: 8080
      weight: 70
    - name: echo-v2
      port: 8080
      weight: 30
"""


@pytest.mark.parametrize("seed_rate", [1000, 700])
def test_mesh_httproute_weight(tmp_path: Path, seed_rate: int) -> None:
    """httproute-weight.go MeshHTTPRouteWeight: only echo-v1 and echo-v2, at 70/30 within
    the upstream tolerance of 5 points (here over thousands of requests, not 500)."""
    (got,) = simulate(tmp_path, WEIGHTED, [Case()], rate=seed_rate, seconds=5)
    total = sum(got.values())
    shares = Counter[str]()
    for outcome, n in got.items():
        assert outcome.status == 200
        shares[outcome.service] += n
    assert set(shares) == {"echo-v1", "echo-v2"}
    assert abs(shares["echo-v1"] / total - 0.7) <= 0.05
    assert abs(shares["echo-v2"] / total - 0.3) <= 0.05


REDIRECT_HOST_AND_STATUS = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-redirect-host-and-status
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /hostname-redirect
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: example.org
  - matches:
    - path:
        type: PathPrefix
        value: /host-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        statusCode: 301
        hostname: example.org
  - matches:
    - path:
        type: PathPrefix
        value: /host-and-temporary
    filters:
    - type: RequestRedirect
      requestRedirect:
        statusCode: 307
        hostname: example.org
  - matches:
    - path:
        type: PathPrefix
        value: /host-and-permanent
    filters:
    - type: RequestRedirect
      requestRedirect:
        statusCode: 308
        hostname: example.org
"""


def test_mesh_httproute_redirect_host_and_status(tmp_path: Path) -> None:
    """httproute-redirect-host-and-status.go MeshHTTPRouteRedirectHostAndStatus: the client
    proxy answers (no backend is reached) with the status asked, 302 by default; the caller
    counts a 3xx as success."""
    cases = [Case(path="/hostname-redirect"), Case(path="/host-and-status"),
             Case(path="/host-and-temporary"), Case(path="/host-and-permanent")]
    got = [only(g) for g in simulate(tmp_path, REDIRECT_HOST_AND_STATUS, cases)]
    assert got == [
        Outcome("echo", 302, "http://example.org/hostname-redirect"),
        Outcome("echo", 301, "http://example.org/host-and-status"),
        Outcome("echo", 307, "http://example.org/host-and-temporary"),
        Outcome("echo", 308, "http://example.org/host-and-permanent"),
    ]


REQUEST_HEADER_MODIFIER = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-request-header-modifier
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /set
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Header-Set
          value: set-overwrites-values
    backendRefs:
    - name: echo-v1
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /remove
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        remove:
        - X-Header-Remove
    backendRefs:
    - name: echo-v1
      port: 8080
---
# meshsim's echo: echo-v1 calls probe with the headers it received; probe's route shows them.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: probe
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - {group: "", kind: Service, name: probe}
  rules:
  - matches:
    - headers:
      - {name: x-header-set, value: set-overwrites-values}
    backendRefs: [{name: probe-set, port: 80}]
  - matches:
    - headers:
      - {name: x-header-remove, type: RegularExpression, value: ".*"}
    backendRefs: [{name: probe-kept, port: 80}]
  - backendRefs: [{name: probe, port: 80}]
"""

PROBES = """    echo-v1:
      namespace: gateway-conformance-mesh
      concurrency: 100
      latency: constant(1ms)
      calls: [probe]
    probe: {namespace: gateway-conformance-mesh, concurrency: 100, latency: constant(1ms)}
    probe-set: {namespace: gateway-conformance-mesh, concurrency: 100, latency: constant(1ms)}
    probe-kept: {namespace: gateway-conformance-mesh, concurrency: 100, latency: constant(1ms)}
"""


def test_mesh_httproute_request_header_modifier(tmp_path: Path) -> None:
    """httproute-request-header-modifier.go MeshHTTPRouteRequestHeaderModifier (set, and
    remove of a header sent with another case): the backend sees the modified headers, here
    shown by where echo-v1's own call (carrying them) is routed."""
    manifests = REQUEST_HEADER_MODIFIER
    cases = [Case(path="/set", headers={"Some-Other-Header": "val"}),
             Case(path="/set", headers={"X-Header-Set": "some-other-value"}),
             Case(path="/remove", headers={"X-Header-Remove": "val"})]
    path = tmp_path / "gamma.yaml"
    text = scenario(manifests, cases).replace(
        "    echo-v1: {namespace: gateway-conformance-mesh, concurrency: 100, "
        "latency: constant(1ms)}\n", PROBES)
    path.write_text(text)
    calls = meshsim.simulate(meshsim.load(path)).calls
    probes = calls[calls["depth"] == 2]
    reached = [set(probes[probes["caller"].astype(str).str.startswith("echo-v1")
                          & probes["request_id"].isin(
                              calls[(calls["depth"] == 0)
                                    & calls["caller"].astype(str).str.startswith(f"w{i}")
                                    ]["request_id"])]["service"].astype(str))
               for i in range(len(cases))]
    assert reached == [{"probe-set"}, {"probe-set"}, {"probe"}]


# -- MESH-HTTP extended (features Linkerd supports) ------------------------------------------

QUERY_PARAM_MATCHING = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-query-param-matching
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - backendRefs:
    - name: echo-v1
      port: 8080
    matches:
    - queryParams:
      - name: animal
        value: whale
  - backendRefs:
    - name: echo-v2
      port: 8080
    matches:
    - queryParams:
      - name: animal
        value: dolphin
  - backendRefs:
    - name: echo-v1
      port: 8080
    matches:
    - path:
        type: PathPrefix
        value: /path1
      queryParams:
      - name: animal
        value: whale
  - backendRefs:
    - name: echo-v2
      port: 8080
    matches:
    - headers:
      - name: version
        value: one
      queryParams:
      - name: animal
        value: whale
  - backendRefs:
    - name: echo-v1
      port: 8080
    matches:
    - path:
        type: PathPrefix
        value: /path3
      queryParams:
      - name: animal
        value: shark
    - headers:
      - name: version
        value: three
      path:
        type: PathPrefix
        value: /path4
      queryParams:
      - name: animal
        value: kraken
  - backendRefs:
    - name: echo-v1
      port: 8080
    matches:
    - path:
        type: PathPrefix
        value: /path5
  - backendRefs:
    - name: echo-v2
      port: 8080
    matches:
    - queryParams:
      - name: animal
        value: hydra
"""


@pytest.mark.parametrize(("path", "headers", "expected"), [
    ("/?animal=whale", {}, Outcome("echo-v1", 200)),
    ("/?animal=dolphin", {}, Outcome("echo-v2", 200)),
    ("/?animal=whale&otherparam=irrelevant", {}, Outcome("echo-v1", 200)),
    ("/?animal=dolphin&color=yellow", {}, Outcome("echo-v2", 200)),
    ("/?color=blue", {}, Outcome("echo", 404)),
    ("/?animal=dog", {}, Outcome("echo", 404)),
    ("/?animal=whaledolphin", {}, Outcome("echo", 404)),
    ("/", {}, Outcome("echo", 404)),
    ("/path1?animal=whale", {}, Outcome("echo-v1", 200)),
    ("/?animal=whale", {"version": "one"}, Outcome("echo-v2", 200)),
    ("/path3?animal=shark", {}, Outcome("echo-v1", 200)),
    ("/path4?animal=kraken", {"version": "three"}, Outcome("echo-v1", 200)),
    ("/?animal=shark", {}, Outcome("echo", 404)),
    ("/path4?animal=kraken", {}, Outcome("echo", 404)),
    ("/path5?animal=hydra", {}, Outcome("echo-v1", 200)),  # path outranks query params
])
def test_mesh_httproute_query_param_matching(tmp_path: Path, path: str,
                                             headers: dict[str, str], expected: Outcome
                                             ) -> None:
    """httproute-query-param-matching.go MeshHTTPRouteQueryParamMatching (no route
    matching: linkerd2-proxy answers 404 itself)."""
    (got,) = simulate(tmp_path, QUERY_PARAM_MATCHING, [Case(path=path, headers=headers)])
    assert only(got) == expected


REDIRECT_PORT = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-redirect-port
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /port
    filters:
    - type: RequestRedirect
      requestRedirect:
        port: 8083
  - matches:
    - path:
        type: PathPrefix
        value: /port-and-host
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: example.org
        port: 8083
  - matches:
    - path:
        type: PathPrefix
        value: /port-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        port: 8083
        statusCode: 301
  - matches:
    - path:
        type: PathPrefix
        value: /port-and-host-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        port: 8083
        hostname: example.org
        statusCode: 302
"""


def test_mesh_httproute_redirect_port(tmp_path: Path) -> None:
    """httproute-redirect-port.go MeshHTTPRouteRedirectPort."""
    cases = [Case(path=p) for p in ("/port", "/port-and-host", "/port-and-status",
                                    "/port-and-host-and-status")]
    got = [only(g) for g in simulate(tmp_path, REDIRECT_PORT, cases)]
    assert got == [
        Outcome("echo", 302, "http://echo:8083/port"),
        Outcome("echo", 302, "http://example.org:8083/port-and-host"),
        Outcome("echo", 301, "http://echo:8083/port-and-status"),
        Outcome("echo", 302, "http://example.org:8083/port-and-host-and-status"),
    ]


REDIRECT_SCHEME = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-redirect-scheme
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /scheme
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: "https"
  - matches:
    - path:
        type: PathPrefix
        value: /scheme-and-host
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: example.org
        scheme: "https"
  - matches:
    - path:
        type: PathPrefix
        value: /scheme-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: "https"
        statusCode: 301
  - matches:
    - path:
        type: PathPrefix
        value: /scheme-and-host-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: "https"
        statusCode: 302
        hostname: example.org
"""


def test_mesh_httproute_scheme_redirect(tmp_path: Path) -> None:
    """httproute-redirect-scheme.go MeshHTTPRouteSchemeRedirect."""
    cases = [Case(path=p) for p in ("/scheme", "/scheme-and-host", "/scheme-and-status",
                                    "/scheme-and-host-and-status")]
    got = [only(g) for g in simulate(tmp_path, REDIRECT_SCHEME, cases)]
    assert got == [
        Outcome("echo", 302, "https://echo/scheme"),
        Outcome("echo", 302, "https://example.org/scheme-and-host"),
        Outcome("echo", 301, "https://echo/scheme-and-status"),
        Outcome("echo", 302, "https://example.org/scheme-and-host-and-status"),
    ]


MESH_FRONTEND = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-split-v1
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo-v2
  rules:
  - backendRefs:
    - name: echo-v2
      port: 80
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set:
        - name: X-Header-Set
          value: set
"""


def test_mesh_frontend() -> None:
    """mesh-frontend.go MeshFrontend "Send to service": the rule of echo-v2's route applies
    to a request for echo-v2, and no route applies to echo-v1."""
    pol = policy(MESH_FRONTEND)
    assert route_of(selected(pol, Case(host="echo-v2"))) == f"{MESH}/mesh-split-v1"
    assert selected(pol, Case(host="echo-v1")) is None


def test_mesh_frontend_hostname() -> None:
    """mesh-frontend-hostname.go MeshFrontendHostname: the parent is the Service the request
    is sent to, whatever its Host header says."""
    pol = policy(MESH_FRONTEND)
    wrong_host = Case(host="echo-v2", headers={"Host": "echo-v1"})
    assert route_of(selected(pol, wrong_host)) == f"{MESH}/mesh-split-v1"
    assert selected(pol, Case(host="echo-v1", headers={"Host": "echo-v2"})) is None


MESH_PORTS = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-split-v1
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo-v1
    port: 80
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set:
        - name: X-Header-Set
          value: v1
    backendRefs:
    - name: echo-v1
      port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-split-v2
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo-v2
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set:
        - name: X-Header-Set
          value: v2
    backendRefs:
    - name: echo-v2
      port: 80
"""


def test_mesh_ports() -> None:
    """mesh-ports.go MeshPorts, "Explicit port set, send to that port" and both "No port
    set" cases (meshsim services have one port: the excluded-port case is out of scope)."""
    pol = policy(MESH_PORTS)
    assert route_of(selected(pol, Case(host="echo-v1"))) == f"{MESH}/mesh-split-v1"
    assert route_of(selected(pol, Case(host="echo-v2"))) == f"{MESH}/mesh-split-v2"


CONSUMER_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-consumer-route
  namespace: gateway-conformance-mesh-consumer
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo-v1
    namespace: gateway-conformance-mesh
    port: 80
  rules:
  - filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set:
        - name: X-Header-Set
          value: set
    backendRefs:
    - name: echo-v1
      namespace: gateway-conformance-mesh
      port: 80
"""


def test_mesh_consumer_route() -> None:
    """mesh-consumer-route.go MeshConsumerRoute: the route in the consumer namespace applies
    to requests from that namespace only."""
    pol = policy(CONSUMER_ROUTE)
    consumer = Case(host="echo-v1", namespace=CONSUMER)
    producer = Case(host="echo-v1", namespace=MESH)
    assert route_of(selected(pol, consumer)) == f"{CONSUMER}/mesh-consumer-route"
    assert route_of(selected(pol, producer)) is None


def test_mesh_consumer_route_end_to_end(tmp_path: Path) -> None:
    """mesh-consumer-route.go MeshConsumerRoute with the effect made visible: the consumer
    route sends to echo-v2, so only callers in the consumer namespace reach echo-v2."""
    manifests = CONSUMER_ROUTE.replace("    - name: echo-v1\n      namespace",
                                       "    - name: echo-v2\n      namespace")
    cases = [Case(host="echo-v1", namespace=CONSUMER), Case(host="echo-v1", namespace=MESH)]
    got = [only(g) for g in simulate(tmp_path, manifests, cases)]
    assert got == [Outcome("echo-v2", 200), Outcome("echo-v1", 200)]


# -- beyond Linkerd's report ------------------------------------------------------------------

REDIRECT_PATH = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh-redirect-path
  namespace: gateway-conformance-mesh
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /original-prefix
    filters:
    - type: RequestRedirect
      requestRedirect:
        path:
          type: ReplacePrefixMatch
          replacePrefixMatch: /replacement-prefix
  - matches:
    - path:
        type: PathPrefix
        value: /full
    filters:
    - type: RequestRedirect
      requestRedirect:
        path:
          type: ReplaceFullPath
          replaceFullPath: /full-path-replacement
  - matches:
    - path:
        type: PathPrefix
        value: /path-and-host
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: example.org
        path:
          type: ReplacePrefixMatch
          replacePrefixMatch: /replacement-prefix
  - matches:
    - path:
        type: PathPrefix
        value: /full-path-and-status
    filters:
    - type: RequestRedirect
      requestRedirect:
        path:
          type: ReplaceFullPath
          replaceFullPath: /replacement-full
        statusCode: 301
"""


def test_mesh_httproute_redirect_path_as_the_proxy_filter_builds_it(tmp_path: Path) -> None:
    """httproute-redirect-path.go MeshHTTPRouteRedirectPath, which Linkerd 2.18 lists as
    unsupported: meshsim builds the Location as linkerd2-proxy's redirect filter does (the
    upstream expectations) and warns that the result is approximated."""
    cases = [Case(path=p) for p in ("/original-prefix/lemon", "/full/path/original",
                                    "/path-and-host", "/full-path-and-status")]
    got = [only(g) for g in simulate(tmp_path, REDIRECT_PATH, cases)]
    assert got == [
        Outcome("echo", 302, "http://echo/replacement-prefix/lemon"),
        Outcome("echo", 302, "http://echo/full-path-replacement"),
        Outcome("echo", 302, "http://example.org/replacement-prefix"),
        Outcome("echo", 301, "http://echo/replacement-full"),
    ]
    docs = load_stream(textwrap.dedent(REDIRECT_PATH), "gamma.yaml")
    parsed = [classify(doc, doc.data, "linkerd") for doc in docs]  # type: ignore[arg-type]
    warnings = translate(parsed, topology()).warnings
    assert {w.code for w in warnings if "MeshHTTPRouteRedirectPath" in w.message} == {
        "approximated"}
