"""Builds a run's actors from its model: pods, their sidecars, ingress gateways, load sources,
the chaos timeline and the rollout controllers.

The only module at the root of ``sim/`` that knows both wings (Envoy and Linkerd): it picks
each pod's proxy by the mesh, and hands every actor the :class:`~meshsim.sim.engine.Simulation`
it runs in (which the actors see through :mod:`meshsim.sim.ports`). Construction order is
the recorder's interning order, so it is part of the output: keep it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from meshsim.model.authz import identity_of, spiffe_principal
from meshsim.model.policy import gateway_for
from meshsim.sim import failures
from meshsim.sim.chaos import Chaos
from meshsim.sim.client.app import AppClient
from meshsim.sim.client.pod_app import AppPod, has_app_client
from meshsim.sim.client.sources import OpenSource, Sender, Users
from meshsim.sim.eastwest import EastWest
from meshsim.sim.envoy import rbac
from meshsim.sim.envoy.gateway import GatewayPod, share_live_routes
from meshsim.sim.envoy.proxy import EnvoyProxy
from meshsim.sim.linkerd import inbound
from meshsim.sim.linkerd.failover import failovers
from meshsim.sim.linkerd.multicluster import Links
from meshsim.sim.linkerd.proxy import LinkerdProxy
from meshsim.sim.pod import Pod
from meshsim.sim.proxy import PlainProxy, Proxy
from meshsim.sim.proxy_cpu import UNMESHED
from meshsim.sim.rollout import Controller, controllers
from meshsim.sim.sampling import Sampler, blocks, random64, sampler, uniform
from meshsim.sim.wire import Wire
from meshsim.sim.workload import Source

if TYPE_CHECKING:
    import numpy as np

    from meshsim.model import Service, Workload
    from meshsim.model.geography import Geography, Place
    from meshsim.sim.engine import Simulation


class Actors(NamedTuple):
    """What the engine starts when the run begins."""

    sources: list[Source | Users]
    chaos: Chaos
    rollouts: list[Controller]


def build(sim: Simulation) -> Actors:
    """Build ``sim``'s actors; pods, proxies and endpoints go into ``sim`` as they are made."""
    return Wiring(sim).build()


class Wiring:
    """One model's construction (ingress gateways are shared by the workloads they serve)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.mesh_sidecars = sim.model.mesh.has_sidecars
        self.identity = spiffe_principal if sim.model.mesh.name == "istio" else identity_of
        self.drop_abandoned = sim.model.cancellation != "none"
        self.gateways: dict[str, list[GatewayPod]] = {}

    def build(self) -> Actors:
        sim = self.sim
        geo = sim.model.topology.geography
        if geo is not None and len({site.network for site in geo.clusters.values()}) > 1:
            sim.eastwest = EastWest(sim, geo)
        for service in sim.model.topology.services.values():
            self.service_pods(service)
        if geo is not None and sim.model.mesh.name == "linkerd":
            self.mirrors(geo)
        sources = [self.source(workload) for workload in sim.model.workloads]
        chaos = Chaos(sim, sim.model.faults)
        rollouts = controllers(sim, sim.model.rollouts)
        if sim.policy is not None and sim.policy.failovers:
            sim.failovers = failovers(sim)
        share_live_routes(sim)  # Flagger's routes on ingress gateways follow its weights
        return Actors(sources, chaos, rollouts)

    def service_pods(self, service: Service) -> None:
        """The pods of every deployment of ``service``, each with its sidecar (if any)."""
        sim = self.sim
        streams = sim.streams
        sim.service_codes[service.name] = sim.recorder.intern(service.name)
        pods: list[Pod] = []
        # A rollout may promote one version's code onto another's pods: any version's app
        # client makes every pod of the service able to run it.
        kind = AppPod if any(has_app_client(d.calls) for d in service.deployments) else Pod
        for dep in service.deployments:
            stem = dep.service if dep.version is None else f"{dep.service}/{dep.version}"
            service_time = sampler(dep.latency, streams.get(f"service/{stem}"))
            roll = uniform(streams.get(f"errors/{stem}"))
            call_roll = uniform(streams.get(f"calls/{stem}"))
            sidecar = self.has_sidecar(service.name, dep.sidecar and not service.external)
            first = len(pods)
            for index, name in enumerate(dep.pod_names()):
                pod = kind(sim, dep, name, service_time, roll, call_roll,
                           mesh_sidecars=self.mesh_sidecars, drop_abandoned=self.drop_abandoned)
                pod.inbound_overhead = sim.overhead if sidecar else 0.0
                pod.proxy = self.proxy(name, sidecar, dep.labels, service.namespace)
                self.cost(pod.proxy, service.name, sidecar, pod)
                if dep.places:
                    self.place(pod, dep.places[index])
                if sidecar:
                    self.secure(pod, service)
                pods.append(pod)
            if dep.failure is not None:
                failures.attach(pods[first:], dep, streams, stem)
        sim.endpoints[service.name] = pods
        sim.pods.extend(pods)

    def mirrors(self, geo: Geography) -> None:
        """Linkerd's mirror and federated Services' endpoints (after every pod exists)."""
        sim = self.sim
        sim.links = links = Links(sim, geo)
        for service in sim.model.topology.services.values():
            if service.mirror is not None:
                source = sim.endpoints.get(service.mirror.service, [])
                sim.endpoints[service.name] = links.wire(service, source)

    def place(self, where: Pod | Proxy, place: Place) -> None:
        """A pod (and its sidecar) or a client in its cluster and zone, with the latency matrix
        from there (multi-cluster scenarios only: nothing else reads ``place``)."""
        geo = self.sim.model.topology.geography
        assert geo is not None  # places exist only with a topology
        where.place = place
        proxy = where.proxy if isinstance(where, Pod) else where
        proxy.place = place
        proxy.wire = Wire(place, geo.latency, self.sim.latency, self.sim.cuts)

    def secure(self, pod: Pod, service: Service) -> None:
        """A meshed pod's mTLS identity and inbound policy (Linkerd's, or Istio's RBAC)."""
        policy = self.sim.policy
        namespace = service.namespace
        pod.proxy.identity = self.identity(service.name, namespace)
        if policy is not None and policy.inbound is not None:
            pod.authorize = inbound.authorizer(self.sim, policy.inbound, pod)
        if policy is not None and policy.security is not None:
            pod.authorize = rbac.authorizer(self.sim, policy.security, pod, namespace)

    def source(self, workload: Workload) -> Source | Users:
        """A workload's load source and its client proxies (behind a gateway if the target is
        not a service of the mesh)."""
        sim = self.sim
        outside = workload.target not in sim.endpoints
        if outside:
            self.gateway_pods(workload.target)
        sidecar = self.mesh_sidecars and not outside  # users outside come in via a gateway
        clients = [self.proxy(n, sidecar) for n in workload.client_names()]
        for client in clients:
            self.cost(client, workload.name, sidecar)
            client.identity = self.identity(workload.name, "default") if sidecar else None
            if workload.place is not None:
                self.place(client, workload.place)
        rng = sim.streams.get(f"arrivals/{workload.name}")

        def unit_gaps(n: int) -> np.ndarray:
            return rng.exponential(1.0, n)

        unit_gap = blocks(unit_gaps)
        roll = uniform(sim.streams.get(f"clients/{workload.name}"))
        plain = (workload.closed is None and workload.client is None and not workload.max_vus
                 and not workload.ramps)
        if plain:
            return Source(sim, workload, clients, unit_gap, roll)
        return self.client_source(workload, clients, unit_gap, roll)

    def client_source(
        self, workload: Workload, clients: list[Proxy], unit_gap: Sampler, roll: Sampler,
    ) -> OpenSource | Users:
        """A source with closed-loop users, ramps, a VU cap or an app client; its own random
        streams, so that adding one leaves every other draw of the run as it was."""
        sim = self.sim
        host = workload.host or workload.target
        apps = {}
        if workload.client is not None:  # one per client pod: each SDK has its own quota
            app_roll = uniform(sim.streams.get(f"app-client/{workload.name}"))
            apps = {client.name: AppClient(sim, workload.client, host, workload.timeout, app_roll)
                    for client in clients}
        sender = Sender(sim, workload, roll, apps)
        if workload.closed is None:
            return OpenSource(sim, workload, clients, unit_gap, roll, sender)
        think = sampler(workload.closed.think, sim.streams.get(f"think/{workload.name}"))
        return Users(sim, workload, clients, think, sender)

    def cost(self, proxy: Proxy, service: str, sidecar: bool, pod: Pod | None = None) -> None:
        """With proxy cost modelled, a meshed caller (and pod) gets its CPU queues, and an
        unmeshed caller goes through the data plane too (the callee's sidecar still queues)."""
        plane = self.sim.data_plane
        if plane is None:
            return
        if sidecar:
            plane.attach(proxy, service, pod)
        else:
            proxy.cpu = UNMESHED

    def has_sidecar(self, service: str, deployment_sidecar: bool) -> bool:
        policy = self.sim.policy
        if not self.mesh_sidecars or not deployment_sidecar:
            return False
        return policy is None or policy.sidecars.get(service, True)

    def proxy(
        self, name: str, sidecar: bool, labels: Mapping[str, str] | None = None,
        namespace: str = "default",
    ) -> Proxy:
        """The outbound proxy of a pod or client: the mesh's sidecar, or a plain caller."""
        sim = self.sim
        roll = uniform(sim.streams.get(f"balancer/{name}"))
        proxy: Proxy
        if sidecar and sim.policy is not None and sim.model.mesh.name == "linkerd":
            proxy = LinkerdProxy(
                sim, name, sim.policy, roll=roll, labels=labels, namespace=namespace,
            )
        elif sidecar and sim.policy is not None:
            int_roll = random64(sim.streams.get(f"envoy/{name}"))
            proxy = EnvoyProxy(
                sim, name, sim.policy, roll=roll, int_roll=int_roll,
                labels=labels, namespace=namespace,
            )
        else:
            proxy = PlainProxy(sim, name, sidecar, roll, labels, namespace)
        sim.proxies[name] = proxy
        return proxy

    def gateway_pods(self, host: str) -> None:
        """Pods of the Istio ingress gateway that serves ``host`` (one per Gateway)."""
        sim = self.sim
        gateway = gateway_for(sim.policy, host) if sim.policy is not None else None
        if gateway is None:
            raise ValueError(f"no service and no gateway for workload target {host!r}")
        stem = gateway.name.rsplit("/", 1)[-1]
        pods = self.gateways.get(gateway.name)
        if pods is None:
            pods = []
            for i in range(gateway.replicas):
                name = f"{stem}-{i}"
                proxy = EnvoyProxy(
                    sim, name, sim.policy,  # type: ignore[arg-type]
                    roll=uniform(sim.streams.get(f"balancer/{name}")),
                    int_roll=random64(sim.streams.get(f"envoy/{name}")),
                    labels={"istio": "ingressgateway"}, namespace="istio-system",
                    gateway=gateway.name, host_routes=gateway.routes,
                )
                proxy.identity = spiffe_principal("istio-ingressgateway-service-account",
                                                  "istio-system")
                sim.proxies[name] = proxy
                if sim.data_plane is not None:  # gateways are not costed; callees still are
                    proxy.cpu = UNMESHED
                pods.append(GatewayPod(sim, name, "istio-ingressgateway", proxy))
            self.gateways[gateway.name] = pods
        sim.endpoints[host] = pods  # type: ignore[assignment]
        sim.service_code(host)
