"""Request mirroring: a route's shadow copies, sent fire and forget to the mirror cluster.

Models Envoy's request mirror policies (envoyproxy/envoy ``source/common/router/router.cc``,
the shadow streams started in ``onRequestComplete``, and
``source/common/router/shadow_writer_impl.cc``): no retries, the route's timeout, the mirror
cluster's own limits, and the response discarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.routes import Backend, Route
from meshsim.sim.envoy.upstream import Upstream
from meshsim.sim.messages import Call

if TYPE_CHECKING:
    from meshsim.model.routes import Mirror
    from meshsim.sim.envoy.proxy import EnvoyProxy


def _ignore(call: Call) -> None:
    """Shadow responses are discarded (fire and forget)."""


def send_shadow(proxy: EnvoyProxy, call: Call, mirror: Mirror, timeout: float) -> None:
    """Fire and forget on the mirror cluster: no retries, the route's timeout, own limits."""
    copy = Call(
        proxy.sim.next_call_id(), call.request_id, proxy, mirror.service, call.method,
        call.path, call.headers, call.depth, None, _ignore,
    )
    copy.mirror = True
    copy.start = proxy.env.now
    up = Upstream(copy)
    copy.state = up
    up.route = Route(name="shadow", timeout=timeout, backends=(Backend(mirror.service),))
    cluster = proxy.cluster(mirror.service, mirror.subset)
    if cluster is None:
        return
    up.cluster = cluster
    if timeout > 0:
        proxy.route_timer(timeout).start(up)
    proxy.start_attempt(up)
