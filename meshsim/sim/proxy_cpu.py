"""Proxy CPU as queueing: each proxy instance is a c-server FIFO queue (c = its workers) whose
service demand is its CPU per request (and per byte), so a proxy near its CPU limit adds wait,
not only a cost column. Built only when the scenario has ``spec.proxy.cost``
(:mod:`meshsim.model.cost`); without it no proxy has a :class:`ProxyCpu` and nothing here runs.

A request's wait is computed when it reaches the proxy, from when each worker is next free
(Kiefer-Wolfowitz: FIFO over c servers assigns the earliest-free one), so the queue adds no
events and no random draws. The fixed ``latency`` of a traversal is the published low-load
figure (which already includes the proxy's own processing); the queue adds only the wait.
Stages: the caller's proxy (sidecar or node ztunnel), then for ambient L7 the destination's
waypoint, then the callee's proxy; each stage is one ``call_later``.
"""

from __future__ import annotations

from heapq import heapreplace
from typing import TYPE_CHECKING

from meshsim.sim.kernel import call_later

if TYPE_CHECKING:
    from meshsim.model.cost import CostModel, ProxyCost
    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.messages import Attempt
    from meshsim.sim.pod import Pod
    from meshsim.sim.proxy import Proxy


class ProxyCpu:
    """One proxy instance's workers, CPU time and connections."""

    def __init__(self, name: str, role: str, service: str, cost: ProxyCost,
                 model: CostModel) -> None:
        self.name = name
        self.role = role
        self.service = service
        self.cost = cost
        self.latency = cost.latency
        # Seconds a worker is busy per request: its CPU time, slower under a CPU limit.
        self.cpu = cost.cpu_per_request + cost.cpu_per_byte * 2 * model.payload
        self.demand = self.cpu / cost.speed
        self.keep_alive = model.keep_alive
        self.free = [0.0] * cost.workers  # when each worker is next free (a heap)
        self.requests = 0
        self.handshakes = 0
        self.wait_total = 0.0
        self.wait_max = 0.0
        self.peers: set[str] = set()  # upstream pods it holds connections to

    def wait(self, now: float, peer: str) -> float:
        """Queue a request arriving ``now``; the delay it sees beyond the fixed latency."""
        self.requests += 1
        start = max(now, self.free[0])
        heapreplace(self.free, start + self.demand)
        wait = start - now
        self.wait_total += wait
        if wait > self.wait_max:
            self.wait_max = wait
        if not self.keep_alive or peer not in self.peers:
            self.peers.add(peer)
            self.handshakes += 1
            return wait + self.cost.handshake
        return wait

    # -- what the run costs ---------------------------------------------------------------
    def cpu_seconds(self) -> float:
        return self.requests * self.cpu + self.handshakes * self.cost.handshake_cpu

    def memory(self) -> float:
        """Resident bytes: the instance's base plus its upstream connections (Envoy keeps a
        pool per worker [mesh-cost §3])."""
        connections = len(self.peers) * self.cost.workers
        return self.cost.memory + connections * self.cost.memory_per_connection


class Route:
    """One attempt's way through the proxies to its pod, stage by stage."""

    __slots__ = ("att", "caller", "stages", "step")

    def __init__(self, att: Attempt, caller: str, stages: tuple[ProxyCpu, ...]) -> None:
        self.att = att
        self.caller = caller  # whom the callee's proxies hold the connection with
        self.stages = stages
        self.step = 0


class DataPlane:
    """Which :class:`ProxyCpu` each client proxy and each pod goes through."""

    def __init__(self, env: Kernel, model: CostModel, latency: float) -> None:
        self.env = env
        self.model = model
        self.latency = latency  # network, one way
        self.instances: list[ProxyCpu] = []
        self.outbound: dict[str, ProxyCpu] = {}  # client proxy name -> its stage
        self.inbound: dict[str, tuple[ProxyCpu, ...]] = {}  # pod name -> its stages
        self.ztunnels: list[ProxyCpu] = []
        self.waypoints: dict[str, ProxyCpu] = {}
        self._placed = 0

    def _new(self, name: str, role: str, service: str, cost: ProxyCost) -> ProxyCpu:
        cpu = ProxyCpu(name, role, service, cost, self.model)
        self.instances.append(cpu)
        return cpu

    def _node(self) -> ProxyCpu:
        """Ambient: the ztunnel of the next node (pods are placed round robin)."""
        cost = self.model.ztunnel
        assert cost is not None
        if not self.ztunnels:
            self.ztunnels = [self._new(f"ztunnel-{i}", "ztunnel", "", cost)
                             for i in range(self.model.nodes)]
        node = self.ztunnels[self._placed % len(self.ztunnels)]
        self._placed += 1
        return node

    def attach(self, proxy: Proxy, service: str, pod: Pod | None = None) -> None:
        """Give a meshed pod (or workload client) its outbound stage, and a pod its inbound."""
        model = self.model
        if model.sidecar is not None:
            cpu = self._new(proxy.name, "sidecar", service, model.sidecar)
            proxy.cpu = cpu
            self.outbound[proxy.name] = cpu
            if pod is not None:
                self.inbound[pod.name] = (cpu,)
            return
        node = self._node()
        proxy.cpu = node
        self.outbound[proxy.name] = node
        if pod is not None:
            stages: tuple[ProxyCpu, ...] = (node,)
            if model.waypoint is not None:
                waypoint = self.waypoints.get(service)
                if waypoint is None:
                    waypoint = self._new(f"{service}-waypoint", "waypoint", service,
                                         model.waypoint)
                    self.waypoints[service] = waypoint
                stages = (waypoint, node)
            self.inbound[pod.name] = stages

    def rows(self, duration: float) -> list[dict[str, object]]:
        """One row per proxy instance: what it did and cost over the whole run."""
        rows: list[dict[str, object]] = []
        for cpu in self.instances:
            cost = cpu.cost
            seconds = cpu.cpu_seconds()
            rows.append({
                "proxy": cpu.name, "role": cpu.role, "service": cpu.service,
                "workers": cost.workers, "cpu_limit": cost.cpu_limit,
                "requests": cpu.requests, "rps": cpu.requests / duration,
                "cpu_seconds": seconds, "cpu_cores": seconds / duration,
                "utilization": cpu.requests * cpu.demand / (cost.workers * duration),
                "memory_mb": cpu.memory() / 1e6, "connections": len(cpu.peers) * cost.workers,
                "handshakes": cpu.handshakes,
                "wait_mean": cpu.wait_total / cpu.requests if cpu.requests else 0.0,
                "wait_max": cpu.wait_max,
            })
        return rows

    # -- an attempt on the wire ------------------------------------------------------------
    def transmit(self, proxy: Proxy, att: Attempt) -> None:
        """The caller's proxy, the network, then the callee's stages (if meshed)."""
        pod = att.pod
        first = proxy.cpu
        assert first is not None
        now = self.env.now
        delay = first.wait(now, pod.name) + first.latency + self.latency
        stages = self.inbound.get(pod.name, ())
        if not stages:
            call_later(self.env, delay + pod.inbound_overhead, pod.on_arrive, att)
            return
        call_later(self.env, delay, self._on_stage, Route(att, proxy.name, stages))

    def _on_stage(self, ev: Wake) -> None:
        route: Route = ev.value
        stage = route.stages[route.step]
        route.step += 1
        att = route.att
        delay = stage.wait(self.env.now, route.caller) + stage.latency
        if route.step < len(route.stages):  # a waypoint: one more network hop to the pod
            call_later(self.env, delay + self.latency, self._on_stage, route)
        else:
            call_later(self.env, delay, att.pod.on_arrive, att)


class _Unmeshed(ProxyCpu):
    """A caller without a sidecar: no CPU of its own, no delay, not in the cost table."""

    def __init__(self) -> None:
        self.latency = 0.0

    def wait(self, now: float, peer: str) -> float:
        return 0.0


UNMESHED = _Unmeshed()
