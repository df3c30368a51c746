"""The chaos timeline: faults switch pod state on and off at their times.

A long-lived generator process, as SimPy intends for actors; overlapping faults on one pod
combine (latency factors multiply, additions add, error probabilities compound).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from meshsim.model import Fault
from meshsim.sim.failures import ErrorProcess, process_for, set_fault_process

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import ControlPlane


class Chaos:
    def __init__(self, sim: ControlPlane, faults: tuple[Fault, ...]) -> None:
        self.sim = sim
        self.faults = faults
        self._active: dict[str, list[Fault]] = {}
        # A fault with an error model fails its pods its way (one process, shared by them),
        # keyed by the fault itself: two equal faults in the list still have a process each.
        self._processes: dict[int, ErrorProcess] = {
            id(f): process_for(sim.streams, f.failure, f"fault-{i}")
            for i, f in enumerate(faults) if f.failure is not None
        }

    def targets(self, fault: Fault) -> list[Pod]:
        t = fault.target
        if t.pod is not None:
            pods = [pod for pod in self.sim.pods if pod.name == t.pod]
        else:
            pods = [
                pod for pod in self.sim.pods
                if (not t.service or pod.service == t.service)
                and (t.version is None or pod.version == t.version)
            ]
        if fault.zone is not None or fault.cluster is not None:
            pods = [pod for pod in pods if in_place(pod, fault)]
        return pods

    def start(self) -> None:
        timeline: list[tuple[float, int, Fault, bool]] = []
        for i, fault in enumerate(self.faults):
            timeline.append((fault.at, i, fault, True))
            timeline.append((fault.end, i, fault, False))
        timeline.sort(key=lambda item: (item[0], item[3], item[1]))  # ends before starts
        if timeline:
            self.sim.env.process(self._run(timeline))

    def _run(
        self, timeline: list[tuple[float, int, Fault, bool]]
    ) -> Generator[simpy.Event, None, None]:
        env = self.sim.env
        for at, _, fault, begins in timeline:
            if at > env.now:
                yield env.timeout(at - env.now)
            self._apply(fault, begins)

    def _apply(self, fault: Fault, begins: bool) -> None:
        now = self.sim.env.now
        kind = "fault-start" if begins else "fault-end"
        self.sim.recorder.event(
            now, kind, service=fault.target.service or "*", subset=fault.target.version or "",
            pod=fault.target.pod or "", detail=describe(fault),
        )
        if fault.gateway is not None:
            self._gateway(fault, begins)
            return
        if fault.freeze is not None:
            self.sim.freeze(fault.freeze, begins)
            return
        if fault.link is not None:
            pair = frozenset(fault.link)
            if begins:
                self.sim.cuts[pair] = fault.blackhole
            else:
                self.sim.cuts.pop(pair, None)
            return
        for pod in self.targets(fault):
            active = self._active.setdefault(pod.name, [])
            if begins:
                active.append(fault)
            else:
                active.remove(fault)
            self._refresh(pod, active)

    def _gateway(self, fault: Fault, begins: bool) -> None:
        """An east-west gateway goes down (refuses) or is blackholed (connects time out)."""
        registry = self.sim.eastwest or self.sim.links
        gateway = registry.by_cluster(fault.gateway or "") if registry is not None else None
        if gateway is None:
            return
        gateway.down = begins
        gateway.blackholed = begins and fault.blackhole

    def _refresh(self, pod: Pod, active: list[Fault]) -> None:
        factor, add, ok = 1.0, 0.0, 1.0
        down = blackhole = False
        process: ErrorProcess | None = None
        for f in active:
            factor *= f.latency_factor
            add += f.latency_add
            if f.failure is not None:
                process = self._processes[id(f)]  # the latest one wins
            elif f.errors is not None:
                ok *= 1.0 - f.errors
            down = down or f.down or f.blackhole
            blackhole = blackhole or f.blackhole
        if process is not None or pod.failures is not None:
            set_fault_process(pod, process)
        pod.latency_factor = factor
        pod.latency_add = add
        pod.fault_errors = 1.0 - ok
        if blackhole or pod.blackholed:
            pod.blackholed = blackhole
        if down and not pod.down:
            pod.crash()
        elif not down and pod.down:
            pod.restart()


def in_place(pod: Pod, fault: Fault) -> bool:
    """The pod runs in the fault's zone and cluster (multi-cluster scenarios)."""
    place = getattr(pod, "place", None)
    if place is None:
        return False
    return ((fault.zone is None or place.zone == fault.zone)
            and (fault.cluster is None or place.cluster == fault.cluster))


def describe(fault: Fault) -> str:
    parts = [f"target={fault.target}", f"for={fault.duration:g}s"]
    if fault.cluster is not None:
        parts.append(f"cluster={fault.cluster}")
    if fault.gateway is not None:
        parts.append(f"gateway={fault.gateway}")
    if fault.link is not None:
        parts.append(f"link={fault.link[0]}<->{fault.link[1]}")
    if fault.freeze is not None:
        parts.append(f"freeze={fault.freeze}")
    if fault.zone is not None:
        parts.append(f"zone={fault.zone}")
    if fault.latency_factor != 1.0:
        parts.append(f"latency=x{fault.latency_factor:g}")
    if fault.latency_add:
        parts.append(f"latency=+{fault.latency_add * 1e3:g}ms")
    if fault.failure is not None:
        parts.append(f"errors=({fault.failure.describe()})")
    elif fault.errors is not None:
        parts.append(f"errors={fault.errors:g}")
    if fault.blackhole:
        parts.append("blackhole")
    elif fault.down:
        parts.append("down")
    return " ".join(parts)
