"""Outbound route selection as linkerd2-proxy does it (reference/linkerd.md §3.2, §3.5).

Policy path (``linkerd/http/route/src/lib.rs`` ``find``): every rule of every route of the
parent is tried against the request and summarised; the largest summary wins, an earlier
route (the controller's creation-timestamp-then-name order) or rule or match on a tie. A
summary (``http/match.rs`` ``RequestMatch``) ranks, in order: the number of path characters
matched whatever the match kind (``http/match/path.rs``: Exact its length, RegularExpression
the whole path, PathPrefix the prefix without a trailing slash, ``/`` = 1), a method match,
the number of header matches, the number of query-parameter matches. A rule without matches
is a PathPrefix ``/``. Profile path (``linkerd/service-profiles``): first match in list order.

Which routes a caller receives (``policy-controller`` outbound index): routes in the parent
Service's namespace (producer routes) reach every caller; routes from another namespace
(consumer routes) only callers in that namespace, alongside the producer routes; a caller
with no route at all gets the parent's default route.

A ``RequestRedirect`` filter makes the client proxy answer (``http/filter/redirect.rs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from meshsim.model.routes import HeaderMatch, RequestRedirect, Route, RouteMatch, StringMatch
from meshsim.sim.routing import select_route, string_matches

if TYPE_CHECKING:
    from meshsim.sim.messages import Call

Summary = tuple[int, bool, int, int]  # path characters, method, headers, query parameters
CATCH_ALL: Summary = (1, False, 0, 0)  # a rule without matches: PathPrefix "/"


def routes_for_caller(routes: Sequence[Route], namespace: str) -> tuple[Route, ...]:
    """The routes the policy controller sends to a caller in ``namespace``."""
    kept = tuple(r for r in routes if not r.fallback
                 and r.consumer_namespace in (None, namespace))
    return kept or tuple(r for r in routes if r.fallback)


def select(routes: Sequence[Route], call: Call) -> Route | None:
    """The route a request takes; ``None`` = no route matched (404)."""
    if routes and routes[0].best_match:
        return best_match(routes, call.method, call.path, call.headers)
    return select_route(routes, call)


def takes_every_request(routes: Sequence[Route]) -> bool:
    """Whether every request takes the same route, whatever its method, path and headers:
    a first route without matches (first match), or a lone one (best match)."""
    if not routes or routes[0].matches:
        return False
    return not routes[0].best_match or len(routes) == 1


def best_match(routes: Sequence[Route], method: str, path: str,
               headers: Mapping[str, str]) -> Route | None:
    """The best-matching route; ``routes`` are flattened rules in controller order."""
    bare, _, query = path.partition("?")
    lowered = {k.lower(): v for k, v in headers.items()}
    params = parse_qsl(query, keep_blank_values=True) if query else []
    best: Route | None = None
    top: Summary | None = None
    for route in routes:
        summary = route_summary(route, method, bare, lowered, params)
        if summary is not None and (top is None or summary > top):
            best, top = route, summary
    return best


def route_summary(route: Route, method: str, path: str, headers: Mapping[str, str],
                  params: Sequence[tuple[str, str]]) -> Summary | None:
    """The best summary among a rule's matches (the first on a tie), None if none matches."""
    if not route.matches:
        return CATCH_ALL
    top: Summary | None = None
    for m in route.matches:
        summary = match_summary(m, method, path, headers, params)
        if summary is not None and (top is None or summary > top):
            top = summary
    return top


def match_summary(m: RouteMatch, method: str, path: str, headers: Mapping[str, str],
                  params: Sequence[tuple[str, str]]) -> Summary | None:
    """``MatchRequest::match_request``: None, or what the match covered."""
    if m.method is not None and not string_matches(m.method, method):
        return None
    length = 1 if m.uri is None else path_match_length(m.uri, path)
    if length is None:
        return None
    if not all(_header(h, headers) for h in m.headers):
        return None
    if not all(_query(q, params) for q in m.query):
        return None
    return (length, m.method is not None, len(m.headers), len(m.query))


def path_match_length(m: StringMatch, path: str) -> int | None:
    """Characters of ``path`` a Gateway API path match covers (``path.rs`` ``match_length``)."""
    if m.kind == "exact":
        return len(m.value) if m.value == path else None
    if m.kind == "regex":
        return len(path) if string_matches(m, path) else None
    prefix = m.value
    if prefix == "/":
        return 1
    prefix = prefix.rstrip("/")
    trimmed = path.rstrip("/")
    if not trimmed.startswith(prefix):
        return None
    rest = trimmed[len(prefix):]
    return len(prefix) if not rest or rest.startswith("/") else None


def _header(h: HeaderMatch, headers: Mapping[str, str]) -> bool:
    return string_matches(h.match, headers.get(h.name.lower()))


def _query(q: HeaderMatch, params: Sequence[tuple[str, str]]) -> bool:
    """Any ``name=value`` pair of the query string matches (names are case-sensitive)."""
    return any(name == q.name and string_matches(q.match, value) for name, value in params)


def modified_headers(headers: Mapping[str, str], route: Route) -> dict[str, str]:
    """A ``RequestHeaderModifier``: header names compare case-insensitively; ``set`` (and
    ``add``, modelled as set) replaces every value of the name, ``remove`` drops it."""
    dropped = {*route.remove_headers, *route.set_headers}
    out = {k: v for k, v in headers.items() if k.lower() not in dropped}
    out.update(route.set_headers)
    return out


def redirect_location(redirect: RequestRedirect, route: Route, host: str,
                      path: str) -> str | None:
    """``RedirectRequest::apply``: the Location, or None when it equals the request's URI
    (the proxy then ignores the filter). ``host`` is the request's authority as the caller
    addressed it, on the default port of ``http``."""
    scheme = redirect.scheme or "http"
    authority = _authority(redirect, scheme, host)
    target = _path(redirect, route, path)
    location = f"{scheme}://{authority}{target}"
    return None if location == f"http://{host}{path}" else location


def _authority(redirect: RequestRedirect, scheme: str, host: str) -> str:
    """``RedirectRequest::authority``: a port is written only when it is not the scheme's
    default; a hostname alone keeps the request's own (non-default) port."""
    name, _, port_text = host.partition(":")
    port = int(port_text) if port_text.isdigit() else None
    if redirect.hostname and redirect.port:
        return f"{redirect.hostname}:{redirect.port}"  # AuthorityOverride::Exact
    if redirect.hostname:
        keep = port if port is not None and port != _DEFAULT_PORTS.get(scheme) else None
        return redirect.hostname if keep is None else f"{redirect.hostname}:{keep}"
    if redirect.port:
        if redirect.port != _DEFAULT_PORTS.get(scheme):
            return host if redirect.port == port else f"{name}:{redirect.port}"
        return name if port is not None else host
    return host


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _path(redirect: RequestRedirect, route: Route, path: str) -> str:
    if redirect.path is None:
        return path
    if not redirect.replace_prefix:
        return redirect.path
    bare, sep, query = path.partition("?")
    prefix = _matched_prefix(route, bare)
    rest = bare[prefix:]
    new = redirect.path
    if rest and not rest.startswith("/"):
        new += "/"
    return new + rest + (sep + query if sep else "")


def _matched_prefix(route: Route, path: str) -> int:
    """Length of the prefix the rule's best PathPrefix match covered (the translator allows
    ReplacePrefixMatch only on PathPrefix rules)."""
    lengths = [path_match_length(m.uri, path) for m in route.matches
               if m.uri is not None and m.uri.kind == "path_prefix"]
    found = [n for n in lengths if n is not None]
    return max(found) if found else 0
