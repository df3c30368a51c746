"""The fields of the Linkerd (and Gateway API, SMI) resources meshsim reads.

Mirrors the CRDs of linkerd2 (``charts/linkerd-crds``: ServiceProfile ``linkerd.io/v1alpha2``,
``policy.linkerd.io`` Server, ServerAuthorization, AuthorizationPolicy, MeshTLSAuthentication,
NetworkAuthentication, HTTPRoute, GRPCRoute), Gateway API HTTPRoute and GRPCRoute, and
linkerd-smi TrafficSplit. A field the CRD lacks is an error (the API server would reject it);
a field meshsim does not model is one warning naming its path.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.schema import Field, S, check_spec, many, one, skip

# -- ServiceProfile ----------------------------------------------------------------------------

REQUEST_MATCH: dict[str, Field] = {}
REQUEST_MATCH.update(
    method=S, pathRegex=S, all=many(REQUEST_MATCH), any=many(REQUEST_MATCH),
    **{"not": one(REQUEST_MATCH)},
)
RESPONSE_MATCH: dict[str, Field] = {}
RESPONSE_MATCH.update(
    status=one({"min": S, "max": S}), all=many(RESPONSE_MATCH), any=many(RESPONSE_MATCH),
    **{"not": one(RESPONSE_MATCH)},
)
SERVICE_PROFILE = {
    "routes": many({
        "name": S, "condition": one(REQUEST_MATCH),
        "responseClasses": many({"condition": one(RESPONSE_MATCH), "isFailure": S}),
        "isRetryable": S, "timeout": S,
    }),
    "retryBudget": one({"retryRatio": S, "minRetriesPerSecond": S, "ttl": S}),
    "dstOverrides": many({"authority": S, "weight": S}),
    "opaquePorts": skip("opaque ports are not modelled: meshsim simulates HTTP only"),
}

# -- SMI TrafficSplit --------------------------------------------------------------------------

TRAFFIC_SPLIT = {
    "service": S,
    "backends": many({"service": S, "weight": S}),
    "matches": skip("linkerd-smi ignores TrafficSplit matches: every request is split"),
}

# -- HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io) -------------------------------

REF = {"group": S, "kind": S, "name": S, "namespace": S}
PARENT_REF = {**REF, "port": S, "sectionName": S}
HEADER_MATCH = {"type": S, "name": S, "value": S}
HTTP_MATCH = {
    "path": one({"type": S, "value": S}), "headers": many(HEADER_MATCH),
    "queryParams": many(HEADER_MATCH), "method": S,
}
HEADER_MODIFIER = {
    "set": many({"name": S, "value": S}), "add": many({"name": S, "value": S}), "remove": S,
}
FILTER = {
    "type": S,
    "requestHeaderModifier": one(HEADER_MODIFIER),
    "requestRedirect": one({
        "scheme": S, "hostname": S, "port": S, "statusCode": S,
        "path": one({"type": S, "replaceFullPath": S, "replacePrefixMatch": S}),
    }),
    "responseHeaderModifier": skip("response header changes are not modelled (they do not "
                                   "change routing)"),
    "urlRewrite": skip("URL rewrites are not modelled (the route still applies)"),
    "requestMirror": skip("request mirroring is not supported by Linkerd's outbound proxy"),
    "extensionRef": skip("extension filters are not modelled"),
}
BACKEND_REF = {
    **REF, "port": S, "weight": S,
    "filters": skip("backend filters are not modelled"),
}
HTTP_ROUTE = {
    "parentRefs": many(PARENT_REF),
    "hostnames": skip("route hostnames are not modelled: a route applies to every request to "
                      "its parent"),
    "rules": many({
        "name": S, "matches": many(HTTP_MATCH), "filters": many(FILTER),
        "backendRefs": many(BACKEND_REF),
        "timeouts": one({"request": S, "backendRequest": S}),
        "sessionPersistence": skip("session persistence is not supported by Linkerd"),
        "retry": skip("Gateway API rule retries are not read by Linkerd; use the "
                      "retry.linkerd.io annotations"),
    }),
}

# -- GRPCRoute (policy.linkerd.io/v1alpha1 and gateway.networking.k8s.io) ---------------------

GRPC_MATCH = {"method": one({"type": S, "service": S, "method": S}), "headers": many(HEADER_MATCH)}
GRPC_FILTER = {
    "type": S,
    "requestHeaderModifier": one(HEADER_MODIFIER),
    "responseHeaderModifier": FILTER["responseHeaderModifier"],
    "requestMirror": FILTER["requestMirror"],
    "extensionRef": FILTER["extensionRef"],
}
GRPC_ROUTE = {
    "parentRefs": many(PARENT_REF),
    "hostnames": HTTP_ROUTE["hostnames"],
    "rules": many({
        "name": S, "matches": many(GRPC_MATCH), "filters": many(GRPC_FILTER),
        "backendRefs": many(BACKEND_REF),
        "sessionPersistence": skip("session persistence is not supported by Linkerd"),
    }),
}

# -- authorization -----------------------------------------------------------------------------

SELECTOR = {"matchLabels": S, "matchExpressions": many({"key": S, "operator": S, "values": S})}
NETWORK = {"cidr": S, "except": S}
SERVER = {
    "podSelector": one(SELECTOR),
    "externalWorkloadSelector": skip("external workloads are not modelled"),
    "port": S, "proxyProtocol": S, "accessPolicy": S,
}
SERVER_AUTHORIZATION = {
    "server": one({"name": S, "selector": one(SELECTOR)}),
    "client": one({
        "unauthenticated": S,
        "meshTLS": one({
            "unauthenticatedTLS": S, "identities": S,
            "serviceAccounts": many({"name": S, "namespace": S}),
        }),
        "networks": many(NETWORK),
    }),
}
AUTHORIZATION_POLICY = {"targetRef": one(REF), "requiredAuthenticationRefs": many(REF)}
MESH_TLS_AUTHENTICATION = {"identities": S, "identityRefs": many(REF)}
NETWORK_AUTHENTICATION = {"networks": many(NETWORK)}

SPECS: dict[str, Mapping[str, Field]] = {
    "ServiceProfile": SERVICE_PROFILE,
    "TrafficSplit": TRAFFIC_SPLIT,
    "HTTPRoute": HTTP_ROUTE,
    "GRPCRoute": GRPC_ROUTE,
    "Server": SERVER,
    "ServerAuthorization": SERVER_AUTHORIZATION,
    "AuthorizationPolicy": AUTHORIZATION_POLICY,
    "MeshTLSAuthentication": MESH_TLS_AUTHENTICATION,
    "NetworkAuthentication": NETWORK_AUTHENTICATION,
}


def check(root: Node, diagnostics: Diagnostics) -> None:
    """Reject fields the CRD lacks and warn once for each field meshsim does not model."""
    check_spec(root, SPECS, diagnostics)
