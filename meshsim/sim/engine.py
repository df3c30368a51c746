"""Builds the actors of a :class:`~meshsim.model.Model` on a SimPy kernel and runs them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Mapping

import simpy

from meshsim.metrics import Recorder, Recording
from meshsim.model import Model
from meshsim.model.authz import identity_of, spiffe_principal
from meshsim.model.policy import gateway_for
from meshsim.rng import Batched, Streams
from meshsim.sim.chaos import Chaos
from meshsim.sim.collector import paced_collector
from meshsim.sim.envoy import rbac
from meshsim.sim.envoy.gateway import GatewayPod, share_live_routes
from meshsim.sim.envoy.proxy import EnvoyProxy
from meshsim.sim.linkerd import inbound
from meshsim.sim.linkerd.proxy import LinkerdProxy
from meshsim.sim.live_routes import LiveTable
from meshsim.sim.pod import Pod
from meshsim.sim.proxy import PlainProxy, Proxy
from meshsim.sim.rollout import controllers
from meshsim.sim.sampling import random64, sampler, uniform
from meshsim.sim.workload import Source

Progress = Callable[[float, float], None]


class Simulation:
    """One run of one model: ``Simulation(model).run()`` returns the :class:`Recording`."""

    def __init__(self, model: Model, *, recorder: Recorder | None = None) -> None:
        self.model = model
        self.env = simpy.Environment()
        self.streams = Streams(model.seed)
        self.recorder = recorder or Recorder(record_attempts=model.record_attempts)
        self.latency = model.topology.network_latency
        self.overhead = model.topology.proxy_overhead
        self.mesh_sidecars = model.mesh.has_sidecars
        self.propagate_deadlines = model.cancellation == "deadline"
        self.policy = model.policy if model.mesh.name in ("istio", "linkerd") else None
        self.identity = spiffe_principal if model.mesh.name == "istio" else identity_of
        self._request_ids = 0
        self._call_ids = 0
        self.pods: list[Pod] = []
        self.endpoints: dict[str, list[Pod]] = {}
        self.service_codes: dict[str, int] = {}
        self.proxies: dict[str, Proxy] = {}
        self.sources: list[Source] = []
        self._gateways: dict[str, list[GatewayPod]] = {}
        self.live_routes: LiveTable = {}  # routes whose weights a rollout controller sets
        self._build()

    # -- ids ------------------------------------------------------------------------------------
    def next_request_id(self) -> int:
        self._request_ids += 1
        return self._request_ids - 1

    def next_call_id(self) -> int:
        self._call_ids += 1
        return self._call_ids - 1

    def service_code(self, service: str) -> int:
        code = self.service_codes.get(service)
        if code is None:
            code = self.service_codes[service] = self.recorder.intern(service)
        return code

    # -- endpoints ------------------------------------------------------------------------------
    def set_endpoints(self, service: str, pods: list[Pod]) -> None:
        """An EndpointSlice update: ``service``'s Ready pods are now ``pods``. Every client
        proxy's balancers for it take the new host set at once (an EDS push); callers without
        a proxy read ``endpoints`` on each request."""
        self.endpoints[service] = list(pods)
        for proxy in self.proxies.values():
            if isinstance(proxy, EnvoyProxy | LinkerdProxy):
                proxy.on_endpoints(service, self.endpoints[service])

    # -- construction ---------------------------------------------------------------------------
    def _proxy(
        self, name: str, sidecar: bool, labels: Mapping[str, str] | None = None,
        namespace: str = "default",
    ) -> Proxy:
        roll = uniform(self.streams.get(f"balancer/{name}"))
        proxy: Proxy
        if sidecar and self.policy is not None and self.model.mesh.name == "linkerd":
            proxy = LinkerdProxy(
                self, name, self.policy, roll=roll, labels=labels, namespace=namespace,
            )
        elif sidecar and self.policy is not None:
            int_roll = random64(self.streams.get(f"envoy/{name}"))
            proxy = EnvoyProxy(
                self, name, self.policy, roll=roll, int_roll=int_roll,
                labels=labels, namespace=namespace,
            )
        else:
            proxy = PlainProxy(self, name, sidecar, roll, labels, namespace)
        self.proxies[name] = proxy
        return proxy

    def _has_sidecar(self, service: str, deployment_sidecar: bool) -> bool:
        if not self.mesh_sidecars or not deployment_sidecar:
            return False
        return self.policy is None or self.policy.sidecars.get(service, True)

    def _build(self) -> None:
        streams = self.streams
        for service in self.model.topology.services.values():
            self.service_codes[service.name] = self.recorder.intern(service.name)
            pods: list[Pod] = []
            for dep in service.deployments:
                stem = dep.service if dep.version is None else f"{dep.service}/{dep.version}"
                service_time = sampler(dep.latency, streams.get(f"service/{stem}"))
                roll = uniform(streams.get(f"errors/{stem}"))
                call_roll = uniform(streams.get(f"calls/{stem}"))
                sidecar = self._has_sidecar(service.name, dep.sidecar and not service.external)
                for name in dep.pod_names():
                    pod = Pod(self, dep, name, service_time, roll, call_roll)
                    pod.inbound_overhead = self.overhead if sidecar else 0.0
                    pod.proxy = self._proxy(name, sidecar, dep.labels, service.namespace)
                    if sidecar:
                        pod.proxy.identity = self.identity(service.name, service.namespace)
                    if sidecar and self.policy is not None and self.policy.inbound is not None:
                        pod.authorize = inbound.authorizer(self, self.policy.inbound, pod)
                    if sidecar and self.policy is not None and self.policy.security is not None:
                        pod.authorize = rbac.authorizer(self, self.policy.security, pod)
                    pods.append(pod)
            self.endpoints[service.name] = pods
            self.pods.extend(pods)
        for workload in self.model.workloads:
            outside = workload.target not in self.endpoints
            if outside:
                self._gateway_pods(workload.target)
            sidecar = self.mesh_sidecars and not outside  # users outside come in via a gateway
            clients = [self._proxy(n, sidecar) for n in workload.client_names()]
            for client in clients:
                client.identity = self.identity(workload.name, "default") if sidecar else None
            rng = streams.get(f"arrivals/{workload.name}")
            unit_gap = Batched(lambda n, rng=rng: rng.exponential(1.0, n))
            roll = uniform(streams.get(f"clients/{workload.name}"))
            self.sources.append(Source(self, workload, clients, unit_gap, roll))
        self.chaos = Chaos(self, self.model.faults)
        self.rollouts = controllers(self, self.model.rollouts)
        share_live_routes(self)  # Flagger's routes on ingress gateways follow its weights

    def _gateway_pods(self, host: str) -> None:
        """Pods of the Istio ingress gateway that serves ``host`` (one per Gateway)."""
        gateway = gateway_for(self.policy, host) if self.policy is not None else None
        if gateway is None:
            raise ValueError(f"no service and no gateway for workload target {host!r}")
        stem = gateway.name.rsplit("/", 1)[-1]
        pods = self._gateways.get(gateway.name)
        if pods is None:
            pods = []
            for i in range(gateway.replicas):
                name = f"{stem}-{i}"
                proxy = EnvoyProxy(
                    self, name, self.policy,  # type: ignore[arg-type]
                    roll=uniform(self.streams.get(f"balancer/{name}")),
                    int_roll=random64(self.streams.get(f"envoy/{name}")),
                    labels={"istio": "ingressgateway"}, namespace="istio-system",
                    gateway=gateway.name, host_routes=gateway.routes,
                )
                proxy.identity = spiffe_principal("istio-ingressgateway-service-account",
                                                  "istio-system")
                self.proxies[name] = proxy
                pods.append(GatewayPod(self, name, "istio-ingressgateway", proxy))
            self._gateways[gateway.name] = pods
        self.endpoints[host] = pods  # type: ignore[assignment]
        self.service_code(host)

    # -- running --------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> Recording:
        duration = self.model.duration
        for source in self.sources:
            source.start()
        self.chaos.start()
        for controller in self.rollouts:
            self.env.process(controller.run())
        if progress is not None:
            self.env.process(self._ticker(progress, duration))
        started = time.perf_counter()
        with paced_collector():
            self.env.run(until=duration)
        wall = time.perf_counter() - started
        if progress is not None:
            progress(duration, duration)
        events = kernel_events(self.env)
        stats = {
            "events": float(events),
            "sim_time": duration,
            "wall_time": wall,
            "events_per_second": events / wall if wall > 0 else 0.0,
            "recorded_bytes": float(self.recorder.nbytes()),
        }
        client_workload = {
            client.code: source.code for source in self.sources for client in source.clients
        }
        recording = self.recorder.finish(duration, stats, client_workload)
        recording.held_workers = [line for pod in self.pods
                                  for line in pod.held_by_finished_calls()]
        return recording

    def _ticker(self, progress: Progress, duration: float) -> Generator[simpy.Event, None, None]:
        step = max(duration / 200.0, 1e-9)
        while True:
            progress(self.env.now, duration)
            yield self.env.timeout(step)


def kernel_events(env: simpy.Environment) -> int:
    """How many events the kernel has scheduled so far (SimPy keeps an id counter)."""
    match = re.search(r"\d+", repr(getattr(env, "_eid", "")))
    return int(match.group()) if match else 0
