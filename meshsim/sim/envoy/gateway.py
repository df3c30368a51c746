"""An ingress gateway pod: an Envoy with no app behind it.

Traffic from outside the mesh reaches the gateway's pod by host; the gateway's own Envoy
routes it with the VirtualServices bound to that Gateway, running the same router, retries,
breakers and outlier detection as a sidecar (envoy-istio.md §10), then answers the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.rollout import TrafficTarget
from meshsim.model.routes import Route, host_matches
from meshsim.sim.messages import Attempt, Call

if TYPE_CHECKING:
    from meshsim.sim.envoy.proxy import EnvoyProxy
    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.ports import Mesh


class GatewayPod:
    """Stands where a pod stands for its callers; forwards every request through its Envoy."""

    inbound_overhead = 0.0  # the gateway *is* the proxy; its cost is on its outbound side

    def __init__(self, sim: Mesh, name: str, service: str, proxy: EnvoyProxy) -> None:
        self.sim = sim
        self.env: Kernel = sim.env
        self.name = name
        self.service = service
        self.version = ""
        self.labels: dict[str, str] = {"istio": "ingressgateway"}
        self.code = sim.recorder.intern(name)
        self.sim_service_code = sim.recorder.intern(service)
        self.subset_code = 0
        self.down = False
        self.proxy = proxy

    def on_arrive(self, ev: Wake) -> None:
        self.arrive(ev.value)

    def arrive(self, att: Attempt) -> None:
        incoming = att.call
        call = Call(
            self.sim.next_call_id(), incoming.request_id, self.proxy, incoming.service,
            incoming.method, incoming.path, incoming.headers, incoming.depth + 1,
            incoming.deadline if self.sim.propagate_deadlines else None, self._answered, att,
        )
        self.proxy.send(call)

    def _answered(self, call: Call) -> None:
        att = call.parent
        assert att is not None
        status = call.status if call.status else 504
        self.reply(att, status, call.flags)

    def reply(self, att: Attempt, status: int, flags: str) -> None:
        att.status = status
        att.flags = flags
        proxy = att.call.proxy
        if self.sim.latency:
            from meshsim.sim.kernel import call_later

            call_later(self.env, self.sim.latency, proxy.on_response, att)
        else:
            proxy.response(att)

    def cancel(self, att: Attempt) -> None:
        """The outside caller gave up; the gateway's own request runs on (no cancellation)."""


def share_live_routes(sim: Mesh) -> None:
    """A controller's routes bound to a gateway too (Flagger's ``service.gateways``) take its
    live weights for every host that gateway serves in this run: the gateway's Envoy looks its
    routes up by the request's host, not by the rolled-out service."""
    owned = {name: entry for table in sim.live_routes.values() for name, entry in table.items()}
    if not owned:
        return
    for host, pods in list(sim.endpoints.items()):
        first = pods[0] if pods else None
        if not isinstance(first, GatewayPod) or first.proxy.host_routes is None:
            continue
        served = next((r for pattern, r in first.proxy.host_routes.items()
                       if host_matches(pattern, host)), ())
        for route in served:
            entry = owned.get(route.name)
            if entry is not None and _splits(route, entry[0].target):
                sim.live_routes.setdefault(host, {})[route.name] = entry


def _splits(route: Route, target: TrafficTarget) -> bool:
    """The route weighs exactly the target's primary and canary (not a namesake)."""
    pair = {(v.service, v.subset) for v in (target.primary, target.canary)}
    return {(b.service, b.subset) for b in route.backends} == pair
