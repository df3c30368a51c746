"""Every bad manifest is one located error; every unmodelled field is one named warning."""

from __future__ import annotations

import pytest
from istio_helpers import run, service, topology

from meshsim.errors import ScenarioError

TOPO = topology(service("reviews", "v1", "v2"), service("ratings"))

HEAD = "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: vs}\n"
DR_HEAD = "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: dr}\n"


def vs(rule: str, extra: str = "") -> str:
    """A VirtualService for ratings whose one rule (named r, at line 7) goes on at line 8."""
    body = "".join(f"      {line}\n" for line in rule.strip().splitlines())
    return HEAD + f"spec:\n  hosts: [ratings]\n{extra}  http:\n    - name: r\n" + body


ROUTE = "route: [{destination: {host: ratings}}]"

ERRORS = [
    # (manifest, message fragment, line, path inside the manifest)
    (vs("route: [{destination: {host: nope}}]"),
     "destination host 'nope' (nope.default.svc.cluster.local) is no service", 8,
     "spec.http[0].route[0].destination.host"),
    (vs("route: [{destination: {host: reviews, subset: v9}}]"),
     "subset 'v9' of reviews is defined by no DestinationRule; Envoy would find no such cluster "
     "and answer 503 NC", 8, "spec.http[0].route[0].destination.subset"),
    (vs(ROUTE + "\nmirror: {host: reviews, subset: v2}"), "503 NC", 9,
     "spec.http[0].mirror.subset"),
    (DR_HEAD + "spec:\n  host: nowhere\n", "host 'nowhere' (nowhere.default.svc.cluster.local) "
     "is no service of the scenario and no ServiceEntry host", 5, "spec.host"),
    (vs(ROUTE + "\ntimeout: 10"), "invalid duration", 9, "spec.http[0].timeout"),
    (vs(ROUTE + "\ntimeout: ten seconds"), "invalid duration", 9, "spec.http[0].timeout"),
    (vs(ROUTE + "\nretries: {attempts: 2, perTryTimeout: -1s}"), "cannot be negative", 9,
     "spec.http[0].retries.perTryTimeout"),
    (DR_HEAD + "spec:\n  host: ratings\n  trafficPolicy:\n    outlierDetection: "
     "{interval: 0.5}\n", "invalid duration", 7, "spec.trafficPolicy.outlierDetection.interval"),
    (vs("match: [{uri: {regex: '/a(b'}}]\n" + ROUTE), "does not compile", 8,
     "spec.http[0].match[0].uri.regex"),
    (vs("match: [{headers: {x: {regex: '(?!admin).*'}}}]\n" + ROUTE),
     "RE2 (Envoy) does not support", 8, "spec.http[0].match[0].headers.x.regex"),
    (vs(ROUTE + "\nmirror: {host: reviews}\nmirrorPercentage: {value: 150}"),
     "mirrorPercentage must be between 0 and 100, got 150", 10,
     "spec.http[0].mirrorPercentage.value"),
    (vs(ROUTE, extra="  gateways: [missing]\n"), "Gateway 'missing' (default/missing) does not "
     "exist", 6, "spec.gateways[0]"),
    (vs("route:\n  - {destination: {host: ratings}, weight: 0}\n"
        "  - {destination: {host: reviews}, weight: 0}"), "weights add up to 0", 8,
     "spec.http[0].route"),
    (vs("route:\n  - {destination: {host: ratings}, weight: -5}\n"
        "  - {destination: {host: reviews}}"), "weight must be at least 0", 9,
     "spec.http[0].route[0].weight"),
    (vs(ROUTE + "\nretries: {attempts: 2, retryOn: '5xx,gateway-eror'}"),
     "unknown retryOn condition 'gateway-eror'; did you mean 'gateway-error'?", 9,
     "spec.http[0].retries.retryOn"),
    (vs(ROUTE + "\nretries: {attempts: 2, retryOn: '599'}"), "not an HTTP status code", 9,
     "spec.http[0].retries.retryOn"),
    (vs(ROUTE + "\nretires: {attempts: 2}"), "unknown field 'retires'; did you mean 'retries'?",
     9, "spec.http[0].retires"),
    (vs("match: [{uri: {exact: /a, prefix: /b}}]\n" + ROUTE),
     "needs exactly one of exact, prefix or regex, got exact and prefix", 8,
     "spec.http[0].match[0].uri"),
    (vs("redirect: {uri: /x, redirectCode: 304}"), "redirectCode must be one of", 8,
     "spec.http[0].redirect.redirectCode"),
    (vs(ROUTE + "\nredirect: {uri: /x}"), "takes one of route, redirect", 7, "spec.http[0]"),
    (vs(ROUTE + "\nfault: {abort: {httpStatus: 503, percentage: {value: 101}}}"),
     "percentage must be between 0 and 100", 9, "spec.http[0].fault.abort.percentage.value"),
    (DR_HEAD + "spec:\n  host: ratings\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM, "
     "consistentHash: {useSourceIp: true}}\n", "simple or consistentHash, not both", 7,
     "spec.trafficPolicy.loadBalancer"),
    (DR_HEAD + "spec:\n  host: ratings\n  trafficPolicy:\n    loadBalancer: {simple: "
     "LEAST_CONNECTION}\n", "unknown simple 'LEAST_CONNECTION'; did you mean 'LEAST_CONN'?", 7,
     "spec.trafficPolicy.loadBalancer.simple"),
    (DR_HEAD + "spec:\n  host: ratings\n  trafficPolicy:\n    outlierDetection: "
     "{maxEjectionPercent: 120}\n", "at most 100", 7,
     "spec.trafficPolicy.outlierDetection.maxEjectionPercent"),
    (vs("timeout: 1s"), "needs a route, a redirect or a directResponse", 7, "spec.http[0]"),
    (vs(ROUTE + "\nfault: {}"), "fault needs a delay, an abort or both", 9,
     "spec.http[0].fault"),
    (vs(ROUTE + "\nretries: {attempts: -1}"), "attempts cannot be negative", 9,
     "spec.http[0].retries.attempts"),
    (DR_HEAD + "spec:\n  host: reviews\n  subsets: [{name: a}, {name: a}]\n",
     "duplicate subset name 'a'", 6, "spec.subsets[1].name"),
]


@pytest.mark.parametrize(("text", "fragment", "line", "path"), ERRORS,
                         ids=[e[3] + ":" + e[1][:20] for e in ERRORS])
def test_errors_point_at_the_field(text: str, fragment: str, line: int, path: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        run(text, TOPO)
    error = caught.value
    assert fragment in error.message
    assert error.location.file == "istio.yaml"
    assert error.location.line == line
    kind = "DestinationRule/dr" if "DestinationRule" in text else "VirtualService/vs"
    assert error.location.path == f"{kind} {path}"
    assert str(error).startswith(f"istio.yaml:{line}:")


GATEWAY = """\
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
    - port: {number: 443, name: https, protocol: HTTPS}
      hosts: ["*"]
"""


def test_an_https_server_needs_tls() -> None:
    with pytest.raises(ScenarioError, match="needs tls settings") as caught:
        run(GATEWAY, TOPO)
    assert caught.value.location.path == "Gateway/gw spec.servers[0]"
    assert caught.value.location.line == 6


UNMODELLED = HEAD + """\
spec:
  hosts: [ratings]
  exportTo: ["."]
  tcp:
    - route: [{destination: {host: ratings}}]
  http:
    - match: [{uri: {prefix: /}, scheme: {exact: https}}]
      route: [{destination: {host: ratings}}]
      rewrite: {uri: /v2}
      corsPolicy: {allowOrigins: [{exact: "https://a.example"}]}
      fault: {delay: {exponentialDelay: 1s, percentage: {value: 1}}}
---
""" + DR_HEAD + """\
spec:
  host: ratings
  workloadSelector: {matchLabels: {app: frontend}}
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    loadBalancer:
      warmupDurationSecs: 10
    connectionPool:
      http: {idleTimeout: 30s, maxConcurrentStreams: 10}
    outlierDetection: {consecutiveErrors: 3}
"""


def test_every_unmodelled_field_is_one_warning_naming_its_path() -> None:
    result = run(UNMODELLED, TOPO)
    paths = [w.location.path for w in result.warnings]
    assert paths == [
        "VirtualService/vs spec.exportTo",
        "VirtualService/vs spec.tcp",
        "VirtualService/vs spec.http[0].rewrite",
        "VirtualService/vs spec.http[0].corsPolicy",
        "VirtualService/vs spec.http[0].fault.delay.exponentialDelay",
        "DestinationRule/dr spec.workloadSelector",
        "DestinationRule/dr spec.trafficPolicy.tls",
        "DestinationRule/dr spec.trafficPolicy.loadBalancer.warmupDurationSecs",
        "DestinationRule/dr spec.trafficPolicy.connectionPool.http.idleTimeout",
        "DestinationRule/dr spec.trafficPolicy.connectionPool.http.maxConcurrentStreams",
        "DestinationRule/dr spec.trafficPolicy.outlierDetection.consecutiveErrors",
    ]
    assert all(w.code == "unmodelled" for w in result.warnings)
    assert all(w.location.line is not None for w in result.warnings)
    (route,) = result.policy.routes["ratings"]
    assert route.fault is None  # Istio drops an exponential delay
    assert route.matches[0].uri is not None
