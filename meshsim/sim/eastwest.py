"""Istio multi-network: east-west gateways and split-horizon EDS.

A caller sees a service's pods on its own network directly; for every other network it sees
one endpoint per (gateway, remote locality), weighted by the remote pods behind it, keeping
the remote locality so failover priorities apply (istio ``EndpointsByNetworkFilter``,
reference/multicluster.md §1.4). That endpoint is one host for the caller's balancer,
priorities and outlier detection: every remote pod's answer is charged to it.

The gateway passes the connection through at L4 (``AUTO_PASSTHROUGH``) to one of the remote
pods, round robin. Simplifications: one gateway per network (its first cluster's), so weights
need no LCM scaling; the gateway's own DestinationRule clusters (its outlier detection and
breakers) are not modelled; a remote pod that is down refuses the forwarded connection (the
caller sees 503 UF).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.geography import Geography, Place, gateway_host, gateway_name
from meshsim.sim.kernel import call_later

if TYPE_CHECKING:
    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.messages import Attempt
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import Mesh

class Gateway:
    """``istio-eastwestgateway`` of one network: its state under chaos."""

    def __init__(self, name: str, cluster: str, network: str) -> None:
        self.name = name
        self.cluster = cluster
        self.network = network
        self.down = False
        self.blackholed = False


class GatewayHost:
    """One caller-visible endpoint ``gwIP:15443`` for one service's pods in one remote
    locality; stands where a pod stands (attempt rows name it, outlier detection ejects it)."""

    inbound_overhead = 0.0  # the gateway's hop is in the latency matrix (``gateway``)

    def __init__(self, sim: Mesh, gateway: Gateway, service: str, place: Place,
                 name: str | None = None) -> None:
        self.sim = sim
        self.env: Kernel = sim.env
        self.gateway = gateway
        self.service = service
        self.version = ""
        self.labels: dict[str, str] = {}
        self.place = place
        self.name = name or gateway_host(gateway.cluster, service, place.locality)
        self.code = sim.recorder.intern(self.name)
        self.sim_service_code = sim.recorder.intern(service)
        self.subset_code = sim.recorder.intern("")
        self.members: list[Pod] = []
        self.weight = 0.0
        self._next = 0

    @property
    def down(self) -> bool:
        return self.gateway.down

    def set_members(self, pods: list[Pod]) -> None:
        self.members = pods
        self.weight = float(len(pods))  # the sum of the remote endpoints' weights
        codes = {p.subset_code for p in pods}
        if len(codes) == 1:
            self.subset_code = next(iter(codes))

    def on_arrive(self, ev: Wake) -> None:
        self.arrive(ev.value)

    def arrive(self, att: Attempt) -> None:
        """SNI passthrough to a remote pod (round robin), one network hop further."""
        if self.gateway.down:
            self.refuse(att)
            return
        pod = self.members[self._next % len(self.members)]
        self._next += 1
        delay = self.sim.latency
        if delay:
            call_later(self.env, delay, pod.on_arrive, att)
        else:
            pod.arrive(att)

    def refuse(self, att: Attempt) -> None:
        if self.gateway.blackholed:
            call_later(self.env, att.call.proxy.connect_timeout(att), self._on_timed_out, att)
            return
        att.status, att.flags = 503, "UF"
        delay = self.sim.latency + att.wire
        call_later(self.env, delay, att.call.proxy.on_response, att)

    def _on_timed_out(self, ev: Wake) -> None:
        att: Attempt = ev.value
        att.status, att.flags = 503, "UF"
        att.call.proxy.response(att)

    def cancel(self, att: Attempt) -> None:
        """The caller gave up; the remote pod's work goes on (cancellation is not forwarded)."""


class EastWest:
    """The networks' gateways and the gateway endpoints every caller shares."""

    def __init__(self, sim: Mesh, geo: Geography) -> None:
        self.sim = sim
        self.gateways = {network: Gateway(gateway_name(site.name), site.name, network)
                         for network, site in geo.gateways().items()}
        self.hosts: dict[tuple[str, str, str, str], GatewayHost] = {}

    def by_cluster(self, cluster: str) -> Gateway | None:
        return next((g for g in self.gateways.values() if g.cluster == cluster), None)

    def view(self, caller: Place, service: str, subset: str, hosts: list[Pod]) -> list[object]:
        """Split-horizon EDS: own-network pods as they are, remote ones behind gateways."""
        out: list[object] = []
        remote: dict[tuple[str, Place], list[Pod]] = {}
        for host in hosts:
            place: Place | None = getattr(host, "place", None)
            if place is None or place.network == caller.network:
                out.append(host)
                continue
            key = (place.network, Place("", place.network, place.region, place.zone,
                                        place.subzone))
            if key not in remote:
                remote[key] = []
                out.append(key)  # keeps the order of first appearance
            remote[key].append(host)
        return [self._host(item, service, subset, remote) if isinstance(item, tuple) else item
                for item in out]

    def _host(self, key: tuple[str, Place], service: str, subset: str,
              remote: dict[tuple[str, Place], list[Pod]]) -> GatewayHost:
        network, where = key
        gateway = self.gateways[network]
        ident = (network, where.locality, service, subset)
        host = self.hosts.get(ident)
        if host is None:
            place = Place(gateway.cluster, network, where.region, where.zone, where.subzone)
            host = self.hosts[ident] = GatewayHost(self.sim, gateway, service, place)
        host.set_members(remote[key])
        return host
