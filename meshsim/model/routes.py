"""Routes: how a request is matched and where it goes (backends, mirrors, faults, retries).

Istio VirtualService and Gateway API HTTPRoute rules both compile to :class:`Route`; the
engine's proxies match them per request in order, first match wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from meshsim.model.linkerd import PolicyRetrySpec, ResponseClass, TpsBudgetSpec

# ``prefix`` is a plain string prefix (Envoy, Istio); ``path_prefix`` matches whole path
# segments (Gateway API PathPrefix: "/api" matches "/api" and "/api/x", not "/apix").
MatchKind = Literal["exact", "prefix", "path_prefix", "regex", "present"]


@dataclass(frozen=True)
class StringMatch:
    kind: MatchKind
    value: str = ""
    ignore_case: bool = False


@dataclass(frozen=True)
class HeaderMatch:
    name: str
    match: StringMatch
    invert: bool = False  # Istio ``withoutHeaders``
    # Envoy ``treat_missing_header_as_empty``: Istio sets it on inverted value matches, so a
    # request without the header counts as carrying "" (``withoutHeaders: {x: {exact: a}}``
    # then matches a request with no ``x``).
    treat_missing_as_empty: bool = False


@dataclass(frozen=True)
class RouteMatch:
    """All given conditions must hold (AND); a route's several matches are OR."""

    uri: StringMatch | None = None
    method: StringMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[HeaderMatch, ...] = ()
    authority: StringMatch | None = None
    port: int | None = None  # config time: only on that listener port
    source_labels: Mapping[str, str] = field(default_factory=dict)  # config time: callers
    source_namespace: str | None = None
    gateways: tuple[str, ...] = ()  # config time: which proxies get it ("mesh" = sidecars)
    # Boolean composition (Linkerd ServiceProfile ``all`` / ``any`` / ``not``): every match in
    # ``all_of`` must hold, at least one of ``any_of`` when it is not empty, none of ``none_of``.
    all_of: tuple[RouteMatch, ...] = ()
    any_of: tuple[RouteMatch, ...] = ()
    none_of: tuple[RouteMatch, ...] = ()


@dataclass(frozen=True)
class Backend:
    """A weighted destination: a service, optionally one subset (Envoy cluster) of it."""

    service: str
    subset: str | None = None
    weight: int = 100
    port: int | None = None
    # Request headers of this weighted destination only (Envoy applies them before the route's).
    set_headers: Mapping[str, str] = field(default_factory=dict)
    remove_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mirror:
    service: str
    subset: str | None = None
    percent: float = 100.0


@dataclass(frozen=True)
class FaultInjection:
    """Client-side fault filter: delay rolled first, then abort rolled independently."""

    delay_percent: float = 0.0
    delay: float = 0.0
    abort_percent: float = 0.0
    abort_status: int = 503


@dataclass(frozen=True)
class RetryPolicy:
    """Envoy ``RetryPolicy`` (envoy-istio.md §4)."""

    num_retries: int = 1
    retry_on: frozenset[str] = frozenset()
    retriable_status_codes: frozenset[int] = frozenset()
    per_try_timeout: float = 0.0  # 0 = none
    backoff_base: float = 0.025
    backoff_max: float | None = None  # None = 10 × base
    previous_hosts: bool = False
    host_selection_attempts: int = 1  # extra picks offered to the predicate
    # previous_priorities retry priority's update frequency (Istio's retryRemoteLocalities
    # emits 2); 0 = no retry priority plugin
    previous_priorities: int = 0


@dataclass(frozen=True)
class Route:
    """One Envoy route: matches, weighted backends and per-route policy."""

    name: str
    matches: tuple[RouteMatch, ...] = ()  # empty = catch-all
    backends: tuple[Backend, ...] = ()
    timeout: float = 0.0  # route (global) timeout; 0 = disabled
    retry: RetryPolicy | None = None
    fault: FaultInjection | None = None
    mirrors: tuple[Mirror, ...] = ()
    hash_key: HashKey | None = None  # consistent-hash key from the destination's policy
    direct_status: int | None = None  # answered locally (redirect / direct response)
    set_headers: Mapping[str, str] = field(default_factory=dict)  # request headers set/added
    remove_headers: tuple[str, ...] = ()  # request headers removed before forwarding
    # Istio: this route starts another candidate's routes for the same service (a newer
    # VirtualService for the host, or the service's default route), used by a proxy only when
    # every route before it was left out for that proxy by its source matches (a VirtualService
    # whose routes all fail ``sourceMatchHTTP`` gives that proxy no virtual host).
    alternative: bool = False
    # -- Linkerd (linkerd.md §1–§3); Envoy routes leave them at their defaults ----------------
    # ServiceProfile path: ``retry`` is None; a route retries only when ``is_retryable`` and a
    # budget exists (shared per client proxy by every route of the destination service, i.e.
    # all routes of one service carry the same ``retry_budget``); ``timeout`` wraps the whole
    # retry loop. ``response_classes`` classify responses in order (none matching: 5xx fails).
    response_classes: tuple[ResponseClass, ...] = ()
    is_retryable: bool = False
    retry_budget: TpsBudgetSpec | None = None
    # Policy path (HTTPRoute / Service annotations): count-limited retries without a budget;
    # ``timeout`` is ``timeout.linkerd.io/request`` (whole request, retries included).
    policy_retry: PolicyRetrySpec | None = None
    response_timeout: float = 0.0  # timeout.linkerd.io/response: per attempt; 0 = none
    # Policy path routing (linkerd.md §3.5): ``best_match`` routes are ranked per request across
    # every route of the parent, not walked in order; a ``consumer_namespace`` route (an
    # HTTPRoute in another namespace than its parent Service) applies only to callers in that
    # namespace; a ``fallback`` route is the parent's default route, used only by callers to
    # whom no other route applies. ``redirect``: the client proxy answers the redirect itself.
    best_match: bool = False
    consumer_namespace: str | None = None
    fallback: bool = False
    redirect: RequestRedirect | None = None


@dataclass(frozen=True)
class RequestRedirect:
    """A Gateway API ``RequestRedirect`` filter as linkerd2-proxy applies it
    (``linkerd/http/route/src/http/filter/redirect.rs``): the Location keeps each part of the
    request's URI the filter does not replace. ``port`` 0 = keep; ``path`` is a full path, or
    the replacement of the matched prefix when ``replace_prefix``."""

    status: int = 302
    scheme: str | None = None
    hostname: str | None = None
    port: int = 0
    path: str | None = None
    replace_prefix: bool = False


@dataclass(frozen=True)
class HashKey:
    kind: Literal["header", "cookie", "source_ip", "query"]
    name: str = ""
    ttl: float | None = None  # cookie TTL: with one, a missing cookie is generated


def host_matches(pattern: str, host: str) -> bool:
    """Gateway-style host match: exact, or ``*.example.com`` for any subdomain, or ``*``."""
    if pattern == "*" or pattern == host:
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])
