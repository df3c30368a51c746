"""``HTTPMatchRequest`` → :class:`RouteMatch`, as ``route/route.go`` ``TranslateRouteMatch``.

Header and query matches with an empty ``StringMatch`` (or the regex ``*``) are presence checks
(``canBeConvertedToPresentMatch``); ``withoutHeaders`` inverts the header match and, for value
matches, treats a missing header as empty; ``ignoreUriCase`` sets Envoy's ``case_sensitive``,
which applies to exact and prefix paths only. Regexes are RE2 and must match the whole value.
Header names may be pseudo-headers (``:method``, ``:path``, ``:authority``, ``:scheme``), which
Envoy matches like any header; ``scheme`` is a ``:scheme`` header matcher, as Istio emits it.
"""

from __future__ import annotations

from collections.abc import Callable

from meshsim.config.manifest.nodes import Diagnostics, Node
from meshsim.config.manifest.regex import check_regex
from meshsim.model.routes import HeaderMatch, RouteMatch, StringMatch

JWT_CLAIM_PREFIX = "@request.auth.claims"
# validation.go ValidateHTTPHeaderNameOrJwtClaimRoute; a request never carries :status.
PSEUDO_HEADERS = (":method", ":scheme", ":authority", ":path", ":status")


def string_match(node: Node, *, ignore_case: bool = False) -> StringMatch:
    """An exact / prefix / regex match (exactly one of them)."""
    kinds = [k for k in ("exact", "prefix", "regex") if node.has(k)]
    if len(kinds) != 1:
        raise node.error(
            f"{node.name} needs exactly one of exact, prefix or regex"
            + (f", got {' and '.join(kinds)}" if kinds else "")
        )
    kind = kinds[0]
    value = node[kind].string()
    if kind == "regex":
        check_regex(node[kind])
    return StringMatch(kind, value, ignore_case)  # type: ignore[arg-type]


def _is_presence(node: Node) -> bool:
    return not node.mapping() or (node.has("regex") and node["regex"].value == "*")


def header_match(name: str, node: Node, diagnostics: Diagnostics, *,
                 invert: bool = False) -> HeaderMatch:
    if name.startswith(":") and name not in PSEUDO_HEADERS:
        raise node.error(
            f"header name {name} is not a valid header name (the pseudo-headers a match may "
            f"name are {', '.join(PSEUDO_HEADERS)})"
        )
    if name.startswith(JWT_CLAIM_PREFIX):
        diagnostics.warn(
            node,
            f"{name} matches JWT claims, which meshsim does not model: no simulated request "
            "carries claims",
        )
    if _is_presence(node):
        return HeaderMatch(name.lower(), StringMatch("present"), invert)
    return HeaderMatch(name.lower(), string_match(node), invert, treat_missing_as_empty=invert)


def query_match(name: str, node: Node) -> HeaderMatch:
    if _is_presence(node):
        return HeaderMatch(name, StringMatch("present"))
    return HeaderMatch(name, string_match(node))


def route_match(
    node: Node, diagnostics: Diagnostics, gateway_name: Callable[[Node], str]
) -> RouteMatch:
    """One match block; its conditions all hold together (AND)."""
    ignore_case = node["ignoreUriCase"].boolean()
    uri = None
    if node.has("uri"):
        uri = string_match(node["uri"])
        if ignore_case and uri.kind == "regex":
            diagnostics.warn(
                node["ignoreUriCase"],
                "ignoreUriCase has no effect on a regex uri (Envoy applies case_sensitive to "
                "exact and prefix paths only)",
                code="no-effect",
            )
        elif ignore_case:
            uri = StringMatch(uri.kind, uri.value, ignore_case=True)
    headers = [header_match(k, v, diagnostics) for k, v in node["headers"].entries()]
    headers += [
        header_match(k, v, diagnostics, invert=True) for k, v in node["withoutHeaders"].entries()
    ]
    if node.has("scheme"):  # TranslateRouteMatch: a header matcher on :scheme
        headers.append(HeaderMatch(":scheme", string_match(node["scheme"])))
    gateways = tuple(gateway_name(g) for g in node["gateways"].items())
    source_labels = node["sourceLabels"].string_map()
    source_namespace = node["sourceNamespace"].string() or None
    if gateways and (source_labels or source_namespace):
        diagnostics.warn(
            node["gateways"],
            "a match that names gateways ignores sourceLabels and sourceNamespace "
            "(Istio sourceMatchHTTP checks only the gateway)",
            code="no-effect",
        )
        source_labels, source_namespace = {}, None
    return RouteMatch(
        uri=uri,
        method=string_match(node["method"]) if node.has("method") else None,
        headers=tuple(sorted(headers, key=lambda h: h.name)),
        query=tuple(query_match(k, v) for k, v in node["queryParams"].entries()),
        authority=string_match(node["authority"]) if node.has("authority") else None,
        port=node["port"].integer(minimum=1, maximum=65535) if node.has("port") else None,
        source_labels=source_labels,
        source_namespace=source_namespace,
        gateways=gateways,
    )


def is_catch_all(match: RouteMatch) -> bool:
    """``IsCatchAllRoute`` for every proxy: path ``/`` (or ``.*``), no header or query match,
    and no config-time filter that would leave the route out for some proxies."""
    uri = match.uri
    path_all = uri is None or (uri.kind, uri.value) in (("prefix", "/"), ("regex", ".*"))
    runtime = match.method or match.authority or match.headers or match.query
    config_time = match.port is not None or match.source_labels or match.source_namespace
    return path_all and not runtime and not config_time
