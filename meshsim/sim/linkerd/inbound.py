"""Inbound authorization at a meshed server (Linkerd's Server / authorization policies).

Evaluated by the server's proxy before the app sees the request: no Server selecting the pod
→ the default inbound policy; a Server with routes and no matching route → 404; otherwise the
route's and the Server's authorizations are OR-ed, and none permitting → 403 (linkerd.md §9,
§11.7). The caller's identity is its ServiceAccount's mTLS identity, or none without a sidecar;
an attempt a multicluster gateway forwards (:func:`deliver_as`) shows the gateway's identity
instead, since the gateway's proxy opens its own mTLS connection to the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from meshsim.model.authz import InboundPolicy, ServerRoute, default_authorizations
from meshsim.sim.linkerd.errors import http_status
from meshsim.sim.messages import POD_ADDRESS, Attempt
from meshsim.sim.routing import request_matches

if TYPE_CHECKING:
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh


Authorizer = Callable[[Attempt], int]
# (attempt, identity) for attempts being handed to a server by a forwarding proxy right now
_forwarded: list[tuple[Attempt, str]] = []
NO_ROUTE = http_status("inbound_no_route")
UNAUTHORIZED = http_status("inbound_unauthorized")


def deliver_as(identity: str, pod: Pod, att: Attempt) -> None:
    """Hand ``att`` to ``pod`` as a proxy presenting ``identity`` (the gateway) sent it."""
    _forwarded.append((att, identity))
    try:
        pod.arrive(att)
    finally:
        _forwarded.pop()


def peer_identity(att: Attempt) -> str | None:
    """The mTLS identity the server sees for ``att``."""
    if _forwarded and _forwarded[-1][0] is att:
        return _forwarded[-1][1]
    return getattr(att.call.proxy, "identity", None)


def authorizer(sim: Mesh, inbound: InboundPolicy, pod: Pod) -> Authorizer | None:
    """The check ``pod`` runs on each inbound request; ``None`` when it lets everything in."""
    server = inbound.server_for(pod.service, pod.version or None) or inbound.server_for(
        pod.service, None)
    if server is None:
        allowed = default_authorizations(inbound.default_for(pod.service), inbound.cluster_networks)
        if any(a.unauthenticated and not a.networks for a in allowed):
            return None
        server_auths = allowed
        routes: tuple[ServerRoute, ...] = ()
        name = f"default:{inbound.default_for(pod.service)}"
    else:
        fallback = default_authorizations(server.access_policy, inbound.cluster_networks)
        server_auths = (*server.authorizations, *fallback)
        routes = server.routes
        name = f"Server/{server.name}"
    denied_edges: set[str] = set()
    # Without routes the answer depends on the identity alone (the authorizations are fixed
    # and ``permits`` is pure): remembered per identity, a handful per server.
    permitted: dict[str | None, bool] = {}

    def check(att: Attempt) -> int:
        call = att.call
        identity = peer_identity(att)
        if routes:
            route = next((r for r in routes if not r.matches or any(
                request_matches(m, call) for m in r.matches)), None)
            if route is None:
                return NO_ROUTE
            auths = (*route.authorizations, *server_auths)
            if any(a.permits(identity, POD_ADDRESS) for a in auths):
                return 200
        else:
            ok = permitted.get(identity)
            if ok is None:
                ok = permitted[identity] = any(
                    a.permits(identity, POD_ADDRESS) for a in server_auths)
            if ok:
                return 200
        caller = call.proxy.name
        edge = f"{caller} as {identity}"
        if edge not in denied_edges:  # the first denial of each edge is an event
            denied_edges.add(edge)
            sim.recorder.event(
                sim.env.now, "authz-deny", proxy=caller, service=pod.service,
                subset=pod.version, pod=pod.name,
                detail=f"{name} denied {identity or 'an unauthenticated client'} (403)",
            )
        return UNAUTHORIZED

    return check
