"""HTTPRoutes (``policy.linkerd.io`` and ``gateway.networking.k8s.io``) → policy-path routes.

Linkerd picks the *best* match across every route of a parent, per request
(``linkerd/http/route``; :mod:`meshsim.sim.linkerd.routing` ranks them): path characters
matched, a method, header matches, query matches; ties go to the earlier route in the
controller's order (routes with a ``metadata.creationTimestamp`` first, oldest first, then by
name: one ``kubectl apply`` creates them in the same second), then rule and match order.
meshsim flattens every (rule, match) into its own :class:`Route` (``best_match``) in that
order. A route from another namespace than its parent Service is a consumer route
(``consumer_namespace``). A ``RequestRedirect`` rule is answered by the client proxy
(:class:`~meshsim.model.routes.RequestRedirect`). No route matching answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from meshsim.config.manifest.hosts import HostIndex
from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.regex import check_regex
from meshsim.config.manifests import Manifest
from meshsim.errors import UnitError
from meshsim.model.linkerd import PolicyRetrySpec
from meshsim.model.routes import (
    Backend,
    HeaderMatch,
    RequestRedirect,
    Route,
    RouteMatch,
    StringMatch,
)

from .annotations import Dropped, Timeouts, annotations_of, drop, parse_retry, parse_timeouts
from .values import parse_gateway_duration

POLICY_GROUP = "policy.linkerd.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CORE = ("", "core")
PATH_TYPES = ("PathPrefix", "Exact", "RegularExpression")
VALUE_TYPES = ("Exact", "RegularExpression")
FILTER_TYPES = ("RequestHeaderModifier", "RequestRedirect", "ResponseHeaderModifier",
                "URLRewrite", "RequestMirror", "ExtensionRef")
_FILTER_FIELD = {
    "RequestHeaderModifier": "requestHeaderModifier", "RequestRedirect": "requestRedirect",
    "ResponseHeaderModifier": "responseHeaderModifier", "URLRewrite": "urlRewrite",
    "RequestMirror": "requestMirror", "ExtensionRef": "extensionRef",
}


@dataclass(frozen=True)
class ServiceDefaults:
    """A Service's own annotation groups, inherited by routes that set none of their own."""

    retry: PolicyRetrySpec | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass
class Parent:
    """Where an HTTPRoute attaches: a Service (outbound) or a Server (inbound)."""

    kind: str  # "Service" | "Server"
    name: str  # service name, or "<namespace>/<server>"
    node: Node


@dataclass
class RankedRoute:
    rank: tuple[int, ...]
    order: tuple[object, ...]
    route: Route


@dataclass
class ParsedRoute:
    """One HTTPRoute: its parents and its flattened, ranked routes."""

    manifest: Manifest
    parents: list[Parent] = field(default_factory=list)
    ranked: list[RankedRoute] = field(default_factory=list)


def route_order(manifest: Manifest) -> tuple[int, str, str]:
    """``timestamp_then_name``: routes with a creation timestamp first, oldest first; then
    by name (the namespace plays no part)."""
    stamp = Node.root(manifest)["metadata"]["creationTimestamp"]
    if stamp.present:
        return (0, _instant(stamp.value), manifest.name)
    return (1, "", manifest.name)


def _instant(value: object) -> str:
    """A creation timestamp as a sortable UTC ISO string (YAML may load it as a datetime)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def parents(manifest: Manifest, index: HostIndex, servers: Mapping[str, Manifest],
            diagnostics: Diagnostics) -> list[Parent]:
    """The parentRefs meshsim applies: Services and (policy.linkerd.io) Servers."""
    out = []
    spec = Node.root(manifest)["spec"]
    refs = spec["parentRefs"].items()
    if not refs:
        raise spec.error("an HTTPRoute needs parentRefs (a Service or a Server)")
    for ref in refs:
        group = ref["group"].string(GATEWAY_GROUP if manifest.group == GATEWAY_GROUP else "")
        kind = ref["kind"].string("Gateway" if manifest.group == GATEWAY_GROUP else "")
        name = ref["name"].string()
        if not name:
            raise ref.error("a parentRef needs a name")
        namespace = ref["namespace"].string(manifest.namespace)
        if kind == "Service" and group in CORE:
            found = index.resolve(name, namespace)
            if found is None:
                raise ref["name"].error(
                    f"parent Service {name!r} ({index.qualify(name, namespace)}) is no service "
                    f"of the scenario{index.suggestion(name)}")
            if ref.has("port"):
                diagnostics.warn(ref["port"], "parentRefs port is not modelled: meshsim "
                                 "services have one port, so the route applies to all traffic "
                                 f"to {found.service}", code="approximated")
            if ref.has("sectionName"):
                diagnostics.warn(ref["sectionName"], "sectionName is not modelled: meshsim "
                                 "services have one port", code="approximated")
            out.append(Parent("Service", found.service, ref))
        elif kind == "Server" and group == POLICY_GROUP:
            key = f"{namespace}/{name}"
            if key not in servers:
                raise ref["name"].error(f"Server {name!r} does not exist in namespace "
                                        f"{namespace}")
            out.append(Parent("Server", key, ref))
        elif kind == "Gateway":
            diagnostics.warn(ref, "a Gateway parent is not modelled: Linkerd has no ingress "
                             "gateway; meshsim applies routes to Services and Servers only")
        else:
            raise ref.error(f"unsupported parentRef {group or 'core'}/{kind or '(no kind)'}: "
                            "Linkerd attaches HTTPRoutes to a core Service or a "
                            "policy.linkerd.io Server")
    return out


def rule_routes(manifest: Manifest, index: HostIndex, defaults: ServiceDefaults | None,
                parent_service: str | None, diagnostics: Diagnostics) -> list[RankedRoute] | None:
    """The flattened routes of an HTTPRoute; None when Linkerd would skip the route."""
    root = Node.root(manifest)
    meta = annotations_of(root)
    grpc = manifest.kind == "GRPCRoute"
    try:
        route_retry = parse_retry(meta, diagnostics, route=True, grpc_route=grpc)
        route_timeouts = parse_timeouts(meta, diagnostics)
    except Dropped as exc:
        drop(diagnostics, exc, f"the whole route {manifest.key}")
        return None
    has_retry = route_retry is not None
    spec = root["spec"]
    consumer = None
    if parent_service is not None and index.namespaces[parent_service] != manifest.namespace:
        consumer = manifest.namespace  # a consumer route: only callers in its namespace
    out: list[RankedRoute] = []
    for r, rule in enumerate(spec["rules"].items()):
        timeouts = route_timeouts
        if rule.has("timeouts"):
            request = _rule_timeouts(manifest, rule["timeouts"], diagnostics)
            if timeouts.request == 0.0 and request:
                timeouts = Timeouts(request, timeouts.response, timeouts.idle)
            elif request and meta.has("timeout.linkerd.io/request"):
                diagnostics.warn(rule["timeouts"]["request"], "timeouts.request is overridden "
                                 "by the timeout.linkerd.io/request annotation", code="overridden")
        retry = route_retry
        if defaults is not None:
            if not has_retry:
                retry = inherited_retry(defaults.retry, grpc=grpc)
            if timeouts.empty:
                timeouts = defaults.timeouts
        backends = _backends(rule, manifest, index, parent_service, diagnostics)
        name = rule["name"].string(f"{manifest.namespace}/{manifest.name}/rule{r}")
        matches = rule["matches"].items()
        if not matches:
            matched: list[tuple[RouteMatch | None, tuple[int, ...]]] = [(None, (0,))]
        else:
            matched = [_grpc_match(m) if grpc else _match(m) for m in matches]
        set_headers, remove, redirect = _filters(rule, matched, diagnostics)
        for m, (match, rank) in enumerate(matched):
            route = Route(
                name=name,
                matches=(match,) if match is not None else (),
                backends=backends,
                timeout=timeouts.request,
                response_timeout=timeouts.response,
                policy_retry=retry,
                direct_status=500 if not backends and redirect is None else None,
                set_headers=set_headers,
                remove_headers=remove,
                best_match=True,
                consumer_namespace=consumer,
                redirect=redirect,
            )
            out.append(RankedRoute(rank, (route_order(manifest), r, m), route))
    return out


def inherited_retry(retry: PolicyRetrySpec | None, *, grpc: bool) -> PolicyRetrySpec | None:
    """A Service's retry group as a route of this kind inherits it: a GRPCRoute its gRPC codes
    (not its HTTP statuses), an HTTPRoute or the default route its HTTP statuses."""
    if retry is None:
        return None
    return replace(retry, codes=()) if grpc else replace(retry, grpc_codes=None)


def _grpc_match(node: Node) -> tuple[RouteMatch, tuple[int, ...]]:
    """A GRPCRouteMatch as the path of a gRPC request, ``/<service>/<method>`` (always POST):
    service and method exact is an exact path, a service alone a prefix, else a regex."""
    method = node["method"]
    kind = method["type"].choice(VALUE_TYPES, "Exact") if method.present else "Exact"
    service = method["service"].string("") if method.present else ""
    name = method["method"].string("") if method.present else ""
    if method.present and not service and not name:
        raise method.error("a gRPC method match needs a service, a method or both")
    if kind == "RegularExpression":
        for part in ("service", "method"):
            if method.has(part):
                check_regex(method[part])
        uri: StringMatch | None = StringMatch("regex", f"/{service or '[^/]+'}/{name or '[^/]+'}")
    elif service and name:
        uri = StringMatch("exact", f"/{service}/{name}")
    elif service:
        uri = StringMatch("path_prefix", f"/{service}")
    elif name:
        uri = StringMatch("regex", f"/[^/]+/{re.escape(name)}")
    else:
        uri = None
    headers = tuple(_value_match(h, lower=True) for h in node["headers"].items())
    match = RouteMatch(uri=uri, headers=headers)
    return match, match_rank(match)


def _rule_timeouts(manifest: Manifest, node: Node, diagnostics: Diagnostics) -> float:
    if manifest.group == POLICY_GROUP and manifest.apiVersion.rpartition("/")[2] != "v1beta3":
        raise node.error(f"unknown field 'timeouts': {manifest.apiVersion} HTTPRoutes have no "
                         f"timeouts (policy.linkerd.io/v1beta3 does)")
    request = _gateway_duration(node["request"]) if node.has("request") else 0.0
    if node.has("backendRequest"):
        backend = _gateway_duration(node["backendRequest"])
        if request and backend > request:
            raise node["backendRequest"].error(
                f"backendRequest ({backend:g}s) must not exceed request ({request:g}s)")
        diagnostics.warn(node["backendRequest"], "timeouts.backendRequest is accepted but "
                         "ignored by Linkerd's outbound policy since 2.16 (linkerd.md §2.1)",
                         code="ignored")
    return request


def _gateway_duration(node: Node) -> float:
    try:
        return parse_gateway_duration(node.value)
    except UnitError as exc:
        raise node.error(f"invalid duration: {exc}") from None


def _match(node: Node) -> tuple[RouteMatch, tuple[int, ...]]:
    """A Gateway API HTTPRouteMatch and its rank (bigger is more specific)."""
    path = node["path"]
    kind = path["type"].choice(PATH_TYPES, "PathPrefix") if path.present else "PathPrefix"
    value = path["value"].string("/") if path.present else "/"
    if kind == "RegularExpression":
        check_regex(path["value"])
        uri = StringMatch("regex", value)
    elif kind == "Exact":
        uri = StringMatch("exact", value)
    else:
        if not value.startswith("/"):
            raise path["value"].error(f"a path prefix must start with '/', got {value!r}")
        uri = StringMatch("path_prefix", value)
    headers = tuple(_value_match(h, lower=True) for h in node["headers"].items())
    query = tuple(_value_match(q, lower=False) for q in node["queryParams"].items())
    method = StringMatch("exact", node["method"].string().upper()) if node.has("method") else None
    match = RouteMatch(uri=uri, method=method, headers=headers, query=query)
    return match, match_rank(match)


_PATH_RANK = {"exact": 3, "path_prefix": 2, "regex": 1}


def match_rank(match: RouteMatch | None) -> tuple[int, ...]:
    """Linkerd's best-match rank of a translated match (bigger is more specific; None is a rule
    without matches). Routes from several HTTPRoutes of one parent merge by this rank."""
    if match is None:
        return (0,)
    uri = match.uri or StringMatch("path_prefix", "/")
    return (1, _PATH_RANK.get(uri.kind, 2), len(uri.value), len(match.headers),
            len(match.query), 1 if match.method else 0)


def specificity(match: RouteMatch | None) -> tuple[int, bool, int, int]:
    """The summary a request exactly at this match's path would get (linkerd.md §3.5): path
    characters (a regex counts 0: it depends on the request), method, headers, query. For
    warnings about shadowed routes; the engine ranks each request itself."""
    if match is None or match.uri is None:
        return (1, False, 0, 0) if match is None else (
            1, match.method is not None, len(match.headers), len(match.query))
    uri = match.uri
    length = 0 if uri.kind == "regex" else len(uri.value.rstrip("/") or "/")
    return (length, match.method is not None, len(match.headers), len(match.query))


def _value_match(node: Node, *, lower: bool) -> HeaderMatch:
    if not node["name"].present:
        raise node.error("a header or query match needs a name")
    kind = node["type"].choice(VALUE_TYPES, "Exact")
    value = node["value"].string()
    if kind == "RegularExpression":
        check_regex(node["value"])
    name = node["name"].string()
    return HeaderMatch(name.lower() if lower else name,
                       StringMatch("regex" if kind == "RegularExpression" else "exact", value))


def _backends(rule: Node, manifest: Manifest, index: HostIndex, parent_service: str | None,
              diagnostics: Diagnostics) -> tuple[Backend, ...]:
    refs = rule["backendRefs"].items()
    if not refs:
        return (Backend(parent_service),) if parent_service else ()
    out = []
    for ref in refs:
        group = ref["group"].string("")
        kind = ref["kind"].string("Service")
        weight = ref["weight"].integer(1, minimum=0, maximum=1_000_000)
        if kind != "Service" or group not in CORE:
            diagnostics.warn(ref, f"backend kind {group or 'core'}/{kind} is invalid for "
                             "Linkerd, which answers its share of requests with 500; meshsim "
                             "leaves it out", code="approximated")
            continue
        name = ref["name"].string()
        namespace = ref["namespace"].string(manifest.namespace)
        found = index.resolve(name, namespace)
        if found is None:
            raise ref["name"].error(f"backend Service {name!r} ({index.qualify(name, namespace)})"
                                    f" is no service of the scenario{index.suggestion(name)}")
        port = ref["port"].integer(minimum=1, maximum=65535) if ref.has("port") else None
        out.append(Backend(found.service, weight=weight, port=port))
    if len(refs) == 1 and out:
        if ref["weight"].present and out[0].weight == 0:
            diagnostics.warn(ref["weight"], "a rule with one backendRef ignores its weight "
                             "(Linkerd sends it all the traffic)", code="no-effect")
        out = [Backend(out[0].service, weight=1, port=out[0].port)]
    elif len(out) > 1 and not any(b.weight for b in out):
        raise rule["backendRefs"].error("backendRefs weights add up to 0: Linkerd cannot build "
                                        "a weighted distribution from them")
    return tuple(out)


def _filters(rule: Node, matched: list[tuple[RouteMatch | None, tuple[int, ...]]],
             diagnostics: Diagnostics
             ) -> tuple[dict[str, str], tuple[str, ...], RequestRedirect | None]:
    set_headers: dict[str, str] = {}
    remove: list[str] = []
    redirect = None
    for item in rule["filters"].items():
        kind = item["type"].choice(FILTER_TYPES)
        body = item[_FILTER_FIELD[kind]]
        if kind == "RequestHeaderModifier":
            for entry in [*body["set"].items(), *body["add"].items()]:
                set_headers[entry["name"].string().lower()] = entry["value"].string()
            remove.extend(h.lower() for h in body["remove"].strings())
            if body.has("add"):
                diagnostics.warn(body["add"], "header add is modelled as set (a simulated "
                                 "request carries one value per header)", code="approximated")
        elif kind == "RequestRedirect":
            redirect = _redirect(body, matched, diagnostics)
        elif not body.present:
            diagnostics.warn(item["type"], f"a {kind} filter is not modelled")
    return set_headers, tuple(remove), redirect


REDIRECT_CODES = (301, 302, 303, 307, 308)
PATH_MODIFIERS = ("ReplaceFullPath", "ReplacePrefixMatch")


def _redirect(body: Node, matched: list[tuple[RouteMatch | None, tuple[int, ...]]],
              diagnostics: Diagnostics) -> RequestRedirect:
    """A ``requestRedirect``: statusCode defaults to 302 (the CRD default the controller
    sends); scheme, hostname, port and path replace those parts of the Location."""
    status = body["statusCode"].integer(302)
    if status not in REDIRECT_CODES:
        raise body["statusCode"].error(
            f"statusCode must be one of {', '.join(map(str, REDIRECT_CODES))}, got {status}")
    scheme = body["scheme"].choice(("http", "https")) if body.has("scheme") else None
    port = body["port"].integer(minimum=1, maximum=65535) if body.has("port") else 0
    hostname = body["hostname"].string() if body.has("hostname") else None
    path, prefix = None, False
    if body.has("path"):
        node = body["path"]
        kind = node["type"].choice(PATH_MODIFIERS)
        prefix = kind == "ReplacePrefixMatch"
        field_name = "replacePrefixMatch" if prefix else "replaceFullPath"
        path = node[field_name].string()
        if not path.startswith("/"):
            raise node[field_name].error(f"a redirect path must start with '/', got {path!r}")
        if prefix and any(m is None or m.uri is None or m.uri.kind != "path_prefix"
                          for m, _ in matched):
            raise node["type"].error("ReplacePrefixMatch needs every match of the rule to be "
                                     "a PathPrefix match")
        diagnostics.warn(node, "Linkerd reports path redirects (MeshHTTPRouteRedirectPath) "
                         "as unsupported in its Gateway API conformance run; meshsim builds "
                         "the Location as linkerd2-proxy's redirect filter does",
                         code="approximated")
    return RequestRedirect(status=status, scheme=scheme, hostname=hostname, port=port,
                           path=path, replace_prefix=prefix)


def controller_order(ranked: list[RankedRoute]) -> tuple[Route, ...]:
    """The parent's outbound routes in the order the controller sends them (creation time,
    then name; then rule and match order): the proxy ranks them per request, and a tie goes
    to the earlier one."""
    return tuple(r.route for r in sorted(ranked, key=lambda r: r.order))


def sort_routes(ranked: list[RankedRoute]) -> tuple[Route, ...]:
    """Most specific first by the static :func:`match_rank` (inbound routes, matched in
    order)."""
    ordered = sorted(ranked, key=lambda r: r.order)
    ordered.sort(key=lambda r: r.rank, reverse=True)
    return tuple(r.route for r in ordered)
