"""A canary without a traffic router: Argo scales two ReplicaSets and traffic follows the pods.

The replica arithmetic is ``utils/replicaset/canary.go`` of argo-rollouts (v1.2 onwards):
:func:`approximate` is ``approximateWeightedCanaryStableReplicaCounts`` (the closest canary
share, surging by one pod when that is closer, e.g. 10 replicas at 15 % → 2 canary + 9
stable) and :func:`basic_canary_counts` is ``CalculateReplicaCountsForBasicCanary`` (how far
each ReplicaSet may move now without exceeding ``replicas + maxSurge`` pods or dropping below
``replicas - maxUnavailable`` available ones). The controller re-runs it whenever a pod
becomes available, as Argo's resync on ReplicaSet status does.

Pods behave as Kubernetes runs them: a created pod becomes Ready (an endpoint of the Service)
after ``ready_after`` and Available after ``min_ready`` more; a deleted pod leaves the
endpoints at once and finishes the requests it holds (graceful termination). The endpoint
set goes to every client proxy's balancers as an EDS update (:meth:`Simulation.set_endpoints`).
The scenario declares each version's pods as a pool (its ``replicas``): pods never created
are not endpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from meshsim.model.rollout import ReplicaScaling
from meshsim.sim.kernel import call_later

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.kernel import Kernel, Wake
    from meshsim.sim.pod import Pod
    from meshsim.sim.ports import ControlPlane


class Status(NamedTuple):
    """A ReplicaSet as the controller reads it: ``spec.replicas`` and available pods."""

    replicas: int
    available: int


# -- Argo's arithmetic ---------------------------------------------------------------------------
def _tied(weight: int, total: int) -> bool:
    """``floorCeilingTied``: the floor and ceiling canary counts are equally far off."""
    return math.modf(total * (weight / 100))[0] == 0.5


def _delta(weight: int, canary: int, total: int) -> float:
    return abs(canary * 100 / total - weight)


def approximate(replicas: int, weight: int, max_surge: int) -> tuple[int, int]:
    """``approximateWeightedCanaryStableReplicaCounts``: (canary, stable) closest to
    ``weight``; both at least 1 for a weight of 1-99 (unless one pod and no surge)."""
    if replicas == 0:
        return 0, 0
    ceil = math.ceil(replicas * weight / 100.0)
    floor = math.floor(replicas * weight / 100.0)
    zero_allowed = weight in (0, 100) or (replicas == 1 and max_surge == 0)
    options: list[tuple[int, int]] = []
    if ceil < replicas or zero_allowed:
        options.append((ceil, replicas))
    if not _tied(weight, replicas) and (floor != 0 or zero_allowed):
        options.append((floor, replicas))
    if max_surge > 0:
        options.append((ceil, replicas + 1))
        if not _tied(weight, replicas + 1) and (floor != 0 or zero_allowed):
            options.append((floor, replicas + 1))
    if not options:
        return 0, replicas
    best = options[0]
    for option in options[1:]:
        if _delta(weight, *option) < _delta(weight, *best):
            best = option
    return best[0], best[1] - best[0]


def basic_canary_counts(replicas: int, weight: int, max_surge: int, max_unavailable: int,
                        new: Status, stable: Status) -> tuple[int, int]:
    """``CalculateReplicaCountsForBasicCanary`` with a stable ReplicaSet distinct from the new
    one and no older ReplicaSets: the (canary, stable) ``spec.replicas`` to set now."""
    want_new, want_stable = approximate(replicas, weight, max_surge)
    new_count, stable_count = new.replicas, stable.replicas
    ceiling = replicas + max_surge
    scale_up = ceiling - (new.replicas + stable.replicas)
    if stable.replicas < want_stable and scale_up > 0:
        if stable.replicas + scale_up < want_stable:
            stable_count = stable.replicas + scale_up
            scale_up = 0
        else:
            stable_count = want_stable
            scale_up -= want_stable - stable.replicas
    if new.replicas < want_new and scale_up > 0:
        new_count = min(new.replicas + scale_up, want_new)
    floor = replicas - max_unavailable
    increasing = want_new >= new.replicas
    to_scale_down = _for_scale_down(new, not increasing) + _for_scale_down(stable, increasing)
    if to_scale_down <= floor:
        return new_count, stable_count
    scale_down = to_scale_down - floor
    if not increasing:
        new_count = _scale_down(new, want_new, scale_down, new_count)
        new_count, stable_count = _within_limits(new, stable, new_count, stable_count, ceiling,
                                                 floor)
    else:
        stable_count = _scale_down(stable, want_stable, scale_down, stable_count)
        stable_count, new_count = _within_limits(stable, new, stable_count, new_count, ceiling,
                                                 floor)
    return new_count, stable_count


def _for_scale_down(rs: Status, ignore_availability: bool) -> int:
    """``GetReplicasForScaleDown``."""
    if rs.replicas < rs.available or ignore_availability:
        return rs.replicas
    return rs.available


def _scale_down(drain: Status, desired: int, scale_down: int, count: int) -> int:
    """``calculateScaleDownReplicaCount``."""
    if drain.replicas > desired:
        return max(desired, drain.replicas - scale_down)
    return count


def _within_limits(drain: Status, adjust: Status, drain_count: int, adjust_count: int,
                   ceiling: int, floor: int) -> tuple[int, int]:
    """``adjustReplicaWithinLimits``: keep the sum under the surge ceiling and the available
    pods over the floor, taking from the ReplicaSet being drained."""
    over = max(0, adjust_count + drain_count - ceiling)
    available = min(drain.available, drain_count)
    adjust_count -= over
    available += min(adjust.available, adjust_count)
    extra = max(0, adjust.available - adjust_count)
    needed = max(0, floor - available)
    adjust_count += min(extra, needed)
    over = max(0, adjust_count + drain_count - ceiling)
    return drain_count - over, adjust_count


# -- ReplicaSets of simulated pods ---------------------------------------------------------------
class ReplicaSet:
    """One version's pods: those created (``live``), Ready and Available, from a fixed pool."""

    def __init__(self, env: Kernel, pool: Sequence[Pod], spec: ReplicaScaling,
                 on_change: Callable[[], None]) -> None:
        self.env = env
        self.pool = list(pool)
        self.spec = spec
        self.on_change = on_change
        self.live: list[Pod] = []
        self.ready: dict[Pod, float] = {}  # pod → when it became Ready
        self.available: set[Pod] = set()
        self._generation: dict[Pod, int] = dict.fromkeys(self.pool, 0)
        self._left: dict[Pod, float] = {}  # pod → when it was deleted (reuse the longest gone)

    @property
    def status(self) -> Status:
        return Status(len(self.live), len(self.available))

    def start_with(self, count: int) -> None:
        """Pods running, Ready and Available before the simulation starts."""
        for pod in self._take(count):
            self.live.append(pod)
            self.ready[pod] = 0.0
            self.available.add(pod)

    def scale(self, count: int) -> None:
        now = self.env.now
        for pod in self._take(count - len(self.live)):
            self.live.append(pod)
            self._generation[pod] += 1
            self._after(self.spec.ready_after, self._on_ready, pod)
        while len(self.live) > count:
            pod = min(self.live, key=self._deletion_rank)
            self.live.remove(pod)
            self.ready.pop(pod, None)
            self.available.discard(pod)
            self._generation[pod] += 1
            self._left[pod] = now

    def _take(self, count: int) -> list[Pod]:
        idle = [p for p in self.pool if p not in self.live]
        # Never-used pods first, then the one deleted longest ago (done draining, most likely).
        idle.sort(key=lambda p: (p in self._left, self._left.get(p, 0.0)))
        return idle[:max(0, count)]

    def _deletion_rank(self, pod: Pod) -> tuple[bool, float, int]:
        """``ActivePods`` order for scale-down: not Ready first, then Ready the shortest
        time, then the newest pod (meshsim: the highest pool index)."""
        since = self.ready.get(pod)
        return (since is not None, -(since or 0.0), -self.pool.index(pod))

    def _after(self, delay: float, then: Callable[[Pod], None], pod: Pod) -> None:
        generation = self._generation[pod]
        if delay <= 0:
            then(pod)
        else:
            call_later(self.env, delay, self._on_timer, (then, pod, generation))

    def _on_timer(self, ev: Wake) -> None:
        then, pod, generation = ev.value
        if self._generation[pod] == generation:  # not deleted (or re-created) meanwhile
            then(pod)

    def _on_ready(self, pod: Pod) -> None:
        self.ready[pod] = self.env.now
        self._after(self.spec.min_ready, self._on_available, pod)
        self.on_change()

    def _on_available(self, pod: Pod) -> None:
        self.available.add(pod)
        self.on_change()


class BasicCanary:
    """Argo's ReplicaSet-based canary for one service: reconciles the two ReplicaSets to the
    current weight and publishes their Ready pods as the Service's endpoints."""

    MAX_ROUNDS = 64  # reconcile passes in one instant (pods with no start-up delay)

    def __init__(self, sim: ControlPlane, service: str, stable: Sequence[Pod],
                 canary: Sequence[Pod], spec: ReplicaScaling,
                 report: Callable[..., None]) -> None:
        self.sim = sim
        self.env = sim.env
        self.service = service
        self.spec = spec
        self.report = report
        self.weight = 0
        self.stable = ReplicaSet(sim.env, stable, spec, self._on_pods)
        self.canary = ReplicaSet(sim.env, canary, spec, self._on_pods)
        rolled = {*stable, *canary}
        self.others = [p for p in sim.endpoints.get(service, []) if p not in rolled]
        self.changed: simpy.Event = sim.env.event()  # fires when any pod changes state
        self._busy = False
        self._published: tuple[tuple[str, ...], tuple[int, int, int, int]] | None = None
        self.stable.start_with(spec.replicas)
        self._publish(report_scale=False)

    # -- the controller's side ----------------------------------------------------------------
    def set_weight(self, weight: float) -> None:
        self.weight = round(weight)
        self.reconcile()

    def at_desired(self) -> bool:
        """``AtDesiredReplicaCountsForCanary``: no further scaling now, and every canary pod
        the ReplicaSet wants is available."""
        new, stable = self.desired()
        return (new == len(self.canary.live) == len(self.canary.available)
                and stable == len(self.stable.live))

    def desired(self) -> tuple[int, int]:
        spec = self.spec
        return basic_canary_counts(spec.replicas, self.weight, spec.max_surge,
                                   spec.max_unavailable, self.canary.status, self.stable.status)

    def reconcile(self) -> None:
        """Scale both ReplicaSets as far as Argo may now; again while pods are available at
        once (no start-up delay), as the controller's next resync would."""
        if self._busy:
            return
        self._busy = True
        try:
            for _ in range(self.MAX_ROUNDS):
                new, stable = self.desired()
                if (new, stable) == (len(self.canary.live), len(self.stable.live)):
                    break
                self.stable.scale(stable)
                self.canary.scale(new)
        finally:
            self._busy = False
        self._publish()

    # -- pods and endpoints ------------------------------------------------------------------
    def _on_pods(self) -> None:
        if self._busy:
            return
        self.reconcile()

    def _publish(self, report_scale: bool = True) -> None:
        """New endpoints to the proxies, a ``canary-scale`` event when counts moved, and a
        wake-up for whoever waits on the pods."""
        ready = [p for p in self.stable.pool if p in self.stable.ready]
        ready += [p for p in self.canary.pool if p in self.canary.ready]
        names = tuple(p.name for p in ready)
        counts = (len(self.stable.live), len(self.canary.live), len(self.stable.ready),
                  len(self.canary.ready))
        if self._published is None or names != self._published[0]:
            self.sim.set_endpoints(self.service, [*self.others, *ready])
        if report_scale and (self._published is None or counts != self._published[1]):
            self.report(self.env.now, "canary-scale", weight=self.weight, stable=counts[0],
                        canary=counts[1], stable_ready=counts[2], canary_ready=counts[3])
        self._published = (names, counts)
        changed, self.changed = self.changed, self.env.event()
        changed.succeed()
