"""Route matching as an Envoy route table does it: ordered, first match wins.

Request-time conditions (uri, method, headers, query parameters, authority) are matched per
request in :func:`select_route`. Istio's config-time filters (source labels, source namespace,
gateways) run once per proxy, in :func:`meshsim.sim.envoy.routes.routes_for_proxy`.

Header matchers see Envoy's pseudo-headers too: ``:method``, ``:path`` (with the query string),
``:authority`` (the host the caller named) and ``:scheme`` (``http``: meshsim's sidecars speak
plain HTTP). A missing header never matches, except for a matcher with
``treat_missing_header_as_empty``, which matches it as ``""`` before any inversion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import parse_qsl

from meshsim.model.routes import HeaderMatch, Route, RouteMatch, StringMatch
from meshsim.sim.messages import Call


@lru_cache(maxsize=1024)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


def string_matches(m: StringMatch, value: str | None) -> bool:
    if value is None:
        return False
    if m.kind == "present":
        return True
    if m.kind == "regex":
        return _regex(m.value, m.ignore_case).fullmatch(value) is not None  # RE2 full match
    expected = m.value
    if m.ignore_case:
        value, expected = value.lower(), expected.lower()
    if m.kind == "exact":
        return value == expected
    if m.kind == "path_prefix":
        stem = expected.rstrip("/")
        return value == stem or value.startswith(stem + "/") or stem == ""
    return value.startswith(expected)


SCHEME = "http"


def pseudo_header(name: str, call: Call) -> str | None:
    """The value Envoy's header matcher reads for a pseudo-header (HTTP/1 ``Host`` is
    ``:authority``)."""
    if name == ":method":
        return call.method
    if name == ":path":
        return call.path
    if name == ":authority":
        return authority(call)
    if name == ":scheme":
        return SCHEME
    return None


def authority(call: Call) -> str:
    """The host the caller asked for: its ``Host`` header if it set one, else the name it
    called."""
    for key, value in call.headers.items():
        if key.lower() in ("host", ":authority"):
            return value
    return call.service


def _header_matches(h: HeaderMatch, values: Mapping[str, str], call: Call) -> bool:
    """Header names are case-insensitive (``values`` has lower-case keys)."""
    name = h.name.lower()
    value = pseudo_header(name, call) if name.startswith(":") else values.get(name)
    return _value_matches(h, value)


def _value_matches(h: HeaderMatch, value: str | None) -> bool:
    if value is None and h.treat_missing_as_empty:
        value = ""
    return string_matches(h.match, value) != h.invert


def request_matches(m: RouteMatch, call: Call) -> bool:  # noqa: PLR0911 - one early return per ANDed condition, no helper calls on the hot path
    """Request-time conditions of one match block (AND), with nested all/any/not blocks."""
    if m.all_of and not all(request_matches(sub, call) for sub in m.all_of):
        return False
    if m.any_of and not any(request_matches(sub, call) for sub in m.any_of):
        return False
    if m.none_of and any(request_matches(sub, call) for sub in m.none_of):
        return False
    path, _, query = call.path.partition("?")
    if m.uri is not None and not string_matches(m.uri, path):
        return False
    if m.method is not None and not string_matches(m.method, call.method):
        return False
    if m.authority is not None and not string_matches(m.authority, authority(call)):
        return False
    if m.headers:
        headers = {k.lower(): v for k, v in call.headers.items()}
        if not all(_header_matches(h, headers, call) for h in m.headers):
            return False
    if m.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key, value)  # a repeated parameter: Envoy reads the first value
        if not all(_value_matches(q, params.get(q.name)) for q in m.query):  # case-sensitive
            return False
    return True


def select_route(routes: Sequence[Route], call: Call) -> Route | None:
    """First route with a matching block (or no blocks); ``None`` = 404 NR."""
    for route in routes:
        if not route.matches or any(request_matches(m, call) for m in route.matches):
            return route
    return None
