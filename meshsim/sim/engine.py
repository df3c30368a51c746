"""One run of one model: its state (clock, recorder, endpoints, live routes, ids) and the
run itself. The actors are built by :mod:`meshsim.sim.wiring` and see this state through
:mod:`meshsim.sim.ports`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from meshsim.metrics import Recorder, Recording
from meshsim.metrics.aggregates import Aggregates, windows_for
from meshsim.model import Model
from meshsim.rng import Streams
from meshsim.sim.collector import paced_collector
from meshsim.sim.kernel import Kernel
from meshsim.sim.messages import Ids
from meshsim.sim.proxy_cpu import DataPlane
from meshsim.sim.teardown import release
from meshsim.sim.wiring import build

if TYPE_CHECKING:
    import simpy

    from meshsim.model.policy import TrafficPolicy
    from meshsim.sim.eastwest import EastWest
    from meshsim.sim.linkerd.failover import Failover
    from meshsim.sim.linkerd.multicluster import Links
    from meshsim.sim.live_routes import LiveTable
    from meshsim.sim.pod import Pod
    from meshsim.sim.proxy import Proxy
    from meshsim.sim.wire import Cuts

Progress = Callable[[float, float], None]


def aggregates_for(model: Model, bucket: float = 1.0) -> Aggregates:
    """The online aggregates a run of ``model`` keeps: its summary's and expectations' windows."""
    windows = windows_for(model.warmup, model.duration,
                          [exp.window for exp in model.expectations])
    return Aggregates(bucket=bucket, windows=windows, duration=model.duration)


class Simulation:
    """One run of one model: ``Simulation(model).run()`` returns the :class:`Recording`."""

    def __init__(self, model: Model, *, recorder: Recorder | None = None) -> None:
        self.model = model
        self.env = Kernel()
        self.streams = Streams(model.seed)
        self.recorder = recorder or Recorder(
            record_attempts=model.record_attempts, sinks=[aggregates_for(model)]
        )
        self.latency = model.topology.network_latency
        self.topology = model.topology
        self.overhead = model.topology.proxy_overhead
        self.propagate_deadlines = model.cancellation == "deadline"
        self.data_plane: DataPlane | None = (
            None if model.cost is None else DataPlane(self.env, model.cost, self.latency))
        self.grpc_services = frozenset(
            name for name, service in model.topology.services.items()
            if any(d.grpc for d in service.deployments))
        self.policy: TrafficPolicy | None = (
            model.policy if model.mesh.name in ("istio", "linkerd") else None)
        ids = Ids()  # compiled counters: bound once, called per request and per hop
        self.next_request_id: Callable[[], int] = ids.next_request
        self.next_call_id: Callable[[], int] = ids.next_call
        self.pods: list[Pod] = []
        self.endpoints: dict[str, list[Pod]] = {}
        self.service_codes: dict[str, int] = {}
        self.proxies: dict[str, Proxy] = {}
        self.live_routes: LiveTable = {}  # routes whose weights a rollout controller sets
        self.eastwest: EastWest | None = None  # multi-network gateways (set by the wiring)
        self.links: Links | None = None  # Linkerd multicluster gateways and probes
        self.failovers: list[Failover] = []  # linkerd-failover's TrafficSplits
        self.cuts: Cuts = {}  # link faults between clusters, shared by every Wire
        self.frozen: set[str] = set()  # clusters whose control plane keeps its endpoint view
        self.sources, self.chaos, self.rollouts = build(self)

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
        frozen = self.frozen
        for proxy in self.proxies.values():
            if frozen and proxy.place is not None and proxy.place.cluster in frozen:
                continue  # its istiod / destination controller still sends the old view
            proxy.on_endpoints(service, self.endpoints[service])
        for failover in self.failovers:
            if failover.watches(service):
                failover.update()

    def freeze(self, cluster: str, frozen: bool) -> None:
        """A cluster's control plane loses (or regains) the API servers: its proxies keep
        the endpoints they had, then catch up at once (istio/istio PR #31771)."""
        if frozen:
            self.frozen.add(cluster)
            return
        self.frozen.discard(cluster)
        for proxy in self.proxies.values():
            if proxy.place is not None and proxy.place.cluster == cluster:
                for service, pods in self.endpoints.items():
                    proxy.on_endpoints(service, pods)

    # -- running --------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None, *, keep_state: bool = False) -> Recording:
        """Run the model to its duration and return its recording. The requests still in
        flight are then freed (:mod:`~meshsim.sim.teardown`), unless ``keep_state`` (a
        proxy's state after the run is read: ``meshsim proxy-config --at``)."""
        duration = self.model.duration
        for source in self.sources:
            source.start()
        self.chaos.start()
        if self.links is not None:
            self.links.start()
        for controller in self.rollouts:
            self.env.process(controller.run())
        if progress is not None:
            self.env.process(self._ticker(progress, duration))
        client_workload = {
            client.code: source.code for source in self.sources for client in source.clients
        }
        self.recorder.client_workload = client_workload  # what a streaming sink needs
        # Paced until the requests in flight are freed: restored before, the collector's first
        # young collection would walk every one of them (teardown.py).
        with paced_collector():
            started = time.perf_counter()
            self.env.run(until=duration)
            wall = time.perf_counter() - started
            recording = self._finish(progress, duration, wall, client_workload)
            if not keep_state:
                release(self.env, self.pods, self.proxies.values())
        return recording

    def _finish(
        self, progress: Progress | None, duration: float, wall: float,
        client_workload: dict[int, int],
    ) -> Recording:
        """The recording of the run that just ended, with its statistics and findings."""
        if progress is not None:
            progress(duration, duration)
        events = self.env.events_scheduled()
        stats = {
            "events": float(events),
            "sim_time": duration,
            "wall_time": wall,
            "events_per_second": events / wall if wall > 0 else 0.0,
            "recorded_bytes": float(self.recorder.nbytes()),
        }
        recording = self.recorder.finish(duration, stats, client_workload)
        recording.held_workers = [line for pod in self.pods
                                  for line in pod.held_by_finished_calls()]
        recording.client_tries = any(w.client is not None for w in self.model.workloads)
        if self.data_plane is not None:
            recording.proxy_cost = self.data_plane.rows(duration)
        return recording

    def _ticker(self, progress: Progress, duration: float) -> Generator[simpy.Event, None, None]:
        step = max(duration / 200.0, 1e-9)
        while True:
            progress(self.env.now, duration)
            yield self.env.timeout(step)

