"""Linkerd multicluster: the service mirror's view of each target cluster's gateway.

For every cluster with exported Services, a ``linkerd-gateway`` (port 4143) forwards mirrored
traffic to its pods, and a probe worker (``service-mirror/probe_worker.go``) checks the
gateway: a tick every ``period + U[0, period/10)``, ticks dropped while a probe runs, a probe
fails when the gateway refuses or does not answer within ``timeout``; ``failureThreshold``
failures in a row mark it dead, one success alive. Dead empties the gateway-mode mirrors'
Endpoints (clients then fail fast), alive restores them (reference/multicluster.md §2.2-2.3).

Simplifications: one probe worker per target cluster (not one per source cluster's Link);
the gateway balances round robin instead of P2C/EWMA; endpoint repair every minute and
destination-controller propagation are instant. The gateway's proxy opens its own mTLS
connection, so the server's authorization sees the gateway's identity
(``linkerd-gateway.linkerd-multicluster``), not the client's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from meshsim.model.authz import identity_of
from meshsim.model.geography import Geography, Place, ProbeSpec
from meshsim.sim.eastwest import Gateway, GatewayHost
from meshsim.sim.kernel import call_later
from meshsim.sim.linkerd.inbound import deliver_as
from meshsim.sim.sampling import uniform

if TYPE_CHECKING:
    import simpy

    from meshsim.model.topology import Service
    from meshsim.sim.kernel import Wake
    from meshsim.sim.messages import Attempt
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import ControlPlane

GATEWAY_PORT = 4143
GATEWAY_IDENTITY = identity_of("linkerd-gateway", "linkerd-multicluster")


class LinkerdGatewayHost(GatewayHost):
    """A gateway-mode mirror's endpoint: the gateway proxy terminates the client's mTLS and
    forwards over its own, so the server sees :data:`GATEWAY_IDENTITY`."""

    def arrive(self, att: Attempt) -> None:
        if self.gateway.down:
            self.refuse(att)
            return
        pod = self.members[self._next % len(self.members)]
        self._next += 1
        delay = self.sim.latency
        if delay:
            call_later(self.env, delay, self._on_forward, (pod, att))
        else:
            deliver_as(GATEWAY_IDENTITY, pod, att)

    def _on_forward(self, ev: Wake) -> None:
        pod, att = ev.value
        deliver_as(GATEWAY_IDENTITY, pod, att)


class Link:
    """One target cluster's gateway, its mirrors' endpoints and its liveness probe."""

    def __init__(self, sim: ControlPlane, geo: Geography, cluster: str) -> None:
        self.sim = sim
        site = geo.clusters[cluster]
        self.cluster = cluster
        self.gateway = Gateway(f"linkerd-gateway-{cluster}", cluster, site.network)
        self.place = Place(cluster, site.network, site.region, site.zones[0] if site.zones
                           else "")
        self.probe: ProbeSpec = site.probe
        self.rtt = 2 * sim.latency  # the probe's round trip (set by the wiring)
        self.source = cluster  # the cluster whose service mirror probes (set by the wiring)
        self.mirrors: dict[str, list[Pod]] = {}  # gateway-mode mirror → its endpoints
        self.alive = True  # gatewayAlive starts true (linkerd/linkerd2#8590)
        self.failures = 0
        self._jitter = uniform(sim.streams.get(f"link/{cluster}"))

    def host(self, mirror: Service, pods: list[Pod]) -> GatewayHost:
        """The mirror's one endpoint: the gateway's address, forwarding to ``pods``."""
        name = f"{self.gateway.name}:{GATEWAY_PORT}/{mirror.name}"
        host = LinkerdGatewayHost(self.sim, self.gateway, mirror.name, self.place, name=name)
        host.inbound_overhead = self.sim.overhead  # the gateway's own proxy traversal
        host.set_members(pods)
        host.weight = 1.0
        self.mirrors[mirror.name] = [host]  # type: ignore[list-item]
        return host

    def run(self) -> Generator[simpy.Event, None, None]:
        """The jittered ticker and the probes; ticks that fall while a probe runs are
        dropped, so a probe that waits for its timeout stretches the cycle."""
        env = self.sim.env
        tick = self._interval()
        while True:
            if tick > env.now:
                yield env.timeout(tick - env.now)
            cut = self.sim.cuts.get(frozenset((self.source, self.cluster)))
            if self.gateway.blackholed or cut:
                yield env.timeout(self.probe.timeout)
                ok = False
            else:
                yield env.timeout(self.rtt)
                ok = not self.gateway.down and cut is None
            self._observe(ok)
            tick += self._interval()
            while tick < env.now:
                tick += self._interval()

    def _interval(self) -> float:
        """``period + U[0, period/10)`` (jittered_ticker.go)."""
        period = self.probe.period
        return period + self._jitter() * period / 10.0

    def _observe(self, ok: bool) -> None:
        if ok:
            self.failures = 0
            if not self.alive:
                self._set(True)
            return
        self.failures += 1
        if self.alive and self.failures >= self.probe.failure_threshold:
            self._set(False)

    def _set(self, alive: bool) -> None:
        """Gateway liveness changed: the mirrors' addresses move to (not-)ready."""
        self.alive = alive
        sim = self.sim
        sim.recorder.event(sim.env.now, "gateway-alive" if alive else "gateway-dead",
                           pod=self.gateway.name, detail=f"cluster={self.cluster}")
        for name, hosts in self.mirrors.items():
            sim.set_endpoints(name, hosts if alive else [])


class Links:
    """Every target cluster's :class:`Link`, and the mirrors' endpoints."""

    def __init__(self, sim: ControlPlane, geo: Geography) -> None:
        self.sim = sim
        self.geo = geo
        self.links: dict[str, Link] = {}

    def by_cluster(self, cluster: str) -> Gateway | None:
        link = self.links.get(cluster)
        return link.gateway if link is not None else None

    def wire(self, mirror: Service, pods: list[Pod]) -> list[Pod]:
        """A mirror's endpoints: the gateway host, the remote pod IPs, or every member's pods."""
        spec = mirror.mirror
        assert spec is not None
        source = [p for p in pods if spec.cluster is None or _in(p, spec.cluster)]
        if spec.mode != "gateway" or spec.cluster is None:
            return source
        link = self.links.get(spec.cluster)
        if link is None:
            link = self.links[spec.cluster] = Link(self.sim, self.geo, spec.cluster)
            others = [s for s in self.geo.clusters.values() if s.name != spec.cluster]
            if others:
                src = Place(others[0].name, others[0].network, others[0].region)
                link.source = others[0].name
                link.rtt = 2 * self.geo.latency.one_way(self.sim.latency, src, link.place)
        return [link.host(mirror, source)]  # type: ignore[list-item]

    def start(self) -> None:
        for link in self.links.values():
            self.sim.env.process(link.run())


def _in(pod: Pod, cluster: str) -> bool:
    return pod.place is not None and pod.place.cluster == cluster
