"""The fields of the Istio API meshsim reads, and which of them it models.

Mirrors the messages of istio/api ``networking/v1alpha3`` (``virtual_service.proto``,
``destination_rule.proto``, ``gateway.proto``, ``service_entry.proto``) and ``security/v1beta1``
(``authorization.proto``, ``peer_authentication.proto``). :func:`check` walks a
manifest once: a field the API does not have is an error (the API server would reject it), a
field meshsim does not model is one warning naming its path, and everything else is left to the
translator modules, which read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.schema import Field, S, check_spec, many, mapped, msg, one, skip

_TLS = "TLS is not modelled (meshsim simulates plain HTTP between proxies)"
_L4 = "meshsim simulates HTTP only; TCP and TLS routes are ignored"
_EXPORT = "visibility is not modelled: meshsim applies the rule to every namespace"
_SELECTOR = "workload selectors are not modelled: meshsim applies the rule to every client"
_RESPONSE = "response header changes are not modelled (they do not change routing)"

# -- VirtualService --------------------------------------------------------------------------

STRING_MATCH = msg(exact=S, prefix=S, regex=S)
PORT = msg(number=S, name=skip("port names are not modelled"))
DESTINATION = msg(host=S, subset=S, port=one(PORT))
HEADER_OPERATIONS = msg(set=S, add=S, remove=S)
HEADERS = msg(request=one(HEADER_OPERATIONS), response=skip(_RESPONSE))
PERCENT = msg(value=S)

MATCH = msg(
    name=S, uri=one(STRING_MATCH), method=one(STRING_MATCH), authority=one(STRING_MATCH),
    headers=mapped(STRING_MATCH), withoutHeaders=mapped(STRING_MATCH),
    queryParams=mapped(STRING_MATCH), ignoreUriCase=S, port=S, sourceLabels=S, gateways=S,
    sourceNamespace=S, scheme=one(STRING_MATCH),
    statPrefix=skip("route statistics prefixes are not modelled"),
)
RETRIES = msg(
    attempts=S, perTryTimeout=S, retryOn=S, backoff=S, retryIgnorePreviousHosts=S,
    retryRemoteLocalities=S,
)
FAULT = msg(
    delay=one(msg(
        fixedDelay=S, percentage=one(PERCENT), percent=S,
        exponentialDelay=skip("Istio does not support exponential delays: it drops the delay"),
    )),
    abort=one(msg(
        httpStatus=S, percentage=one(PERCENT),
        grpcStatus=skip("gRPC aborts are not modelled (Envoy answers 200 with a grpc-status)"),
        http2Error=skip("HTTP/2 error aborts are not modelled"),
    )),
)
HTTP_ROUTE = msg(
    name=S, match=many(MATCH),
    route=many(msg(destination=one(DESTINATION), weight=S, headers=one(HEADERS))),
    redirect=one(msg(
        uri=S, authority=S, redirectCode=S, scheme=S, port=S, derivePort=S,
    )),
    directResponse=one(msg(status=S, body=S)),
    timeout=S, retries=one(RETRIES), fault=one(FAULT),
    mirror=one(DESTINATION), mirrorPercentage=one(PERCENT), mirrorPercent=S,
    mirrors=many(msg(destination=one(DESTINATION), percentage=one(PERCENT))),
    headers=one(HEADERS),
    rewrite=skip("URI and authority rewrites are not modelled (the route still applies)"),
    corsPolicy=skip("CORS is not modelled (preflight requests are not simulated)"),
    delegate=skip("delegate VirtualServices are not modelled"),
)
VIRTUAL_SERVICE = msg(
    hosts=S, gateways=S, http=many(HTTP_ROUTE),
    tcp=skip(_L4), tls=skip(_L4), exportTo=skip(_EXPORT),
)

# -- DestinationRule ---------------------------------------------------------------------------

CONSISTENT_HASH = msg(
    httpHeaderName=S, useSourceIp=S, httpQueryParameterName=S,
    httpCookie=one(msg(
        name=S, ttl=S,
        path=skip("cookie paths are not modelled"),
        attributes=skip("cookie attributes are not modelled"),
    )),
    ringHash=one(msg(minimumRingSize=S)), maglev=one(msg(tableSize=S)), minimumRingSize=S,
)
LOAD_BALANCER = msg(
    simple=S, consistentHash=one(CONSISTENT_HASH),
    localityLbSetting=one(msg(
        enabled=S, failover=many(msg(**{"from": S, "to": S})), failoverPriority=S,
        distribute=many(msg(**{"from": S, "to": S})),
    )),
    warmup=skip("slow start (warmup) is not modelled yet: new endpoints get full weight"),
    warmupDurationSecs=skip("slow start (warmup) is not modelled yet: new endpoints get full "
                            "weight"),
)
CONNECTION_POOL = msg(
    tcp=one(msg(
        maxConnections=S, connectTimeout=S,
        tcpKeepalive=skip("TCP keepalive is not modelled"),
        maxConnectionDuration=skip("connection lifetimes are not modelled"),
        idleTimeout=skip("connection idle timeouts are not modelled"),
    )),
    http=one(msg(
        http1MaxPendingRequests=S, http2MaxRequests=S, maxRequestsPerConnection=S,
        maxRetries=S,
        idleTimeout=skip("connection idle timeouts are not modelled"),
        h2UpgradePolicy=skip("the HTTP protocol version is not modelled"),
        useClientProtocol=skip("the HTTP protocol version is not modelled"),
        maxConcurrentStreams=skip("HTTP/2 stream limits per connection are not modelled"),
    )),
)
OUTLIER = msg(
    consecutive5xxErrors=S, consecutiveGatewayErrors=S, interval=S, baseEjectionTime=S,
    maxEjectionPercent=S, minHealthPercent=S, splitExternalLocalOriginErrors=S,
    consecutiveLocalOriginFailures=S,
    consecutiveErrors=skip("the deprecated consecutiveErrors is ignored by Istio; use "
                           "consecutive5xxErrors or consecutiveGatewayErrors"),
    outlierDetectionHttpErrorCodes=skip("custom outlier error codes are not modelled yet: "
                                        "meshsim counts 5xx"),
)
_COMPONENTS = dict(
    loadBalancer=one(LOAD_BALANCER), connectionPool=one(CONNECTION_POOL),
    outlierDetection=one(OUTLIER), tls=skip(_TLS),
)
PORT_POLICY = msg(port=one(msg(number=S)), **_COMPONENTS)
TRAFFIC_POLICY = msg(
    portLevelSettings=many(PORT_POLICY), retryBudget=one(msg(percent=S, minRetryConcurrency=S)),
    tunnel=skip("tunnelling is not modelled"),
    proxyProtocol=skip("the PROXY protocol is not modelled"), **_COMPONENTS,
)
DESTINATION_RULE = msg(
    host=S, trafficPolicy=one(TRAFFIC_POLICY),
    subsets=many(msg(name=S, labels=S, trafficPolicy=one(TRAFFIC_POLICY))),
    exportTo=skip(_EXPORT), workloadSelector=skip(_SELECTOR),
)

# -- Gateway and ServiceEntry ------------------------------------------------------------------

SERVER = msg(
    port=one(msg(number=S, protocol=S, name=S,
                 targetPort=skip("gateway target ports are not modelled"))),
    hosts=S, name=S, tls=S,
    bind=skip("listener bind addresses are not modelled"),
    defaultEndpoint=skip("default endpoints are not modelled"),
)
GATEWAY = msg(selector=S, servers=many(SERVER))
SERVICE_ENTRY = msg(
    hosts=S, location=S, resolution=S,
    ports=many(msg(number=S, protocol=S, name=S, targetPort=S)),
    endpoints=many(msg(
        address=S, ports=S, labels=S, serviceAccount=S,
        network=skip("networks are not modelled"),
        locality=skip("localities are not modelled"),
        weight=skip("endpoint weights are not modelled: endpoints share load equally"),
    )),
    addresses=skip("virtual IP addresses are not modelled"),
    subjectAltNames=skip(_TLS), exportTo=skip(_EXPORT), workloadSelector=skip(_SELECTOR),
)

# -- AuthorizationPolicy and PeerAuthentication (security/v1beta1) ----------------------------

WORKLOAD_SELECTOR = msg(matchLabels=S)
POLICY_TARGET = msg(group=S, kind=S, name=S, namespace=S)
SOURCE = msg(
    principals=S, notPrincipals=S, requestPrincipals=S, notRequestPrincipals=S,
    namespaces=S, notNamespaces=S, ipBlocks=S, notIpBlocks=S, remoteIpBlocks=S,
    notRemoteIpBlocks=S, serviceAccounts=S, notServiceAccounts=S,
)
OPERATION = msg(
    hosts=S, notHosts=S, ports=S, notPorts=S, methods=S, notMethods=S, paths=S, notPaths=S,
)
AUTHORIZATION_POLICY = msg(
    selector=one(WORKLOAD_SELECTOR), targetRef=one(POLICY_TARGET), targetRefs=many(POLICY_TARGET),
    action=S, provider=one(msg(name=S)),
    rules=many(msg(
        to=many(msg(operation=one(OPERATION))), when=many(msg(key=S, values=S, notValues=S)),
        **{"from": many(msg(source=one(SOURCE)))},
    )),
)
PEER_AUTHENTICATION = msg(
    selector=one(WORKLOAD_SELECTOR), mtls=one(msg(mode=S)), portLevelMtls=S,  # int-keyed map
)

SPECS: dict[str, Mapping[str, Field]] = {
    "VirtualService": VIRTUAL_SERVICE,
    "DestinationRule": DESTINATION_RULE,
    "Gateway": GATEWAY,
    "ServiceEntry": SERVICE_ENTRY,
    "AuthorizationPolicy": AUTHORIZATION_POLICY,
    "PeerAuthentication": PEER_AUTHENTICATION,
}


def check(root: Node, diagnostics: Diagnostics) -> None:
    """Reject fields the API lacks and warn once for each field meshsim does not model."""
    check_spec(root, SPECS, diagnostics)


