"""Per service, from its invocations: replicas, versions, self times, errors and call steps.

Call steps: a callee that overlaps another in most invocations where both occur runs in
parallel with it; otherwise steps follow the order calls usually start in. A call's
probability is the share of invocations that reached its step (no error of their own, no
failed earlier call) and made it. A call whose failure the service usually survives is
``optional``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from meshsim.importers.graph import Call, Invocation

Key = tuple[str, int]  # (callee, its n-th call in the invocation)


@dataclass
class StepCall:
    callee: str
    probability: float
    optional: bool
    method: str | None
    path: str | None
    retried: float = 0.0  # share of the calls made that took more than one attempt


@dataclass
class Behaviour:
    """What one service (or one version of it) does, as observed."""

    invocations: int
    self_times: np.ndarray
    errors: float
    steps: list[list[StepCall]]
    instances: set[str] = field(default_factory=set)
    peak_in_flight: int = 1


def behaviour(invocations: list[Invocation]) -> Behaviour:
    own = [inv for inv in invocations if not inv.own_error]
    return Behaviour(
        invocations=len(invocations),
        self_times=np.array([inv.self_time for inv in invocations], dtype=float),
        errors=1.0 - len(own) / len(invocations) if invocations else 0.0,
        steps=_steps(own),
        instances={inv.server.instance or "" for inv in invocations},
        peak_in_flight=_peak(invocations),
    )


def _keyed(invocation: Invocation) -> list[tuple[Key, Call]]:
    seen: Counter[str] = Counter()
    out = []
    for call in invocation.calls:
        out.append(((call.callee, seen[call.callee]), call))
        seen[call.callee] += 1
    return out


def _groups(invocation: Invocation) -> list[list[tuple[Key, Call]]]:
    """The invocation's calls in steps: a call overlapping the step's calls joins it."""
    steps: list[list[tuple[Key, Call]]] = []
    reach = -math.inf
    for key, call in _keyed(invocation):
        if steps and call.start < reach:
            steps[-1].append((key, call))
            reach = max(reach, call.end)
        else:
            steps.append([(key, call)])
            reach = call.end
    return steps


def _steps(invocations: list[Invocation]) -> list[list[StepCall]]:
    grouped = [(inv, _groups(inv)) for inv in invocations]
    order: dict[Key, list[float]] = defaultdict(list)
    together: Counter[frozenset[Key]] = Counter()
    both: Counter[frozenset[Key]] = Counter()
    for _, steps in grouped:
        keys = [key for step in steps for key, _ in step]
        for index, step in enumerate(steps):
            for key, _ in step:
                order[key].append(index)
            members = [key for key, _ in step]
            for x in members:
                for y in members:
                    if x < y:
                        together[frozenset((x, y))] += 1
        for i, x in enumerate(keys):
            for y in keys[i + 1:]:
                both[frozenset((x, y))] += 1
    canonical: list[list[Key]] = []
    for key in sorted(order, key=lambda k: (float(np.mean(order[k])), k)):
        parallel = canonical and all(
            together[frozenset((key, k))] * 2 > both[frozenset((key, k))]
            for k in canonical[-1])
        if parallel:
            canonical[-1].append(key)
        else:
            canonical.append([key])
    return [[_step_call(key, index, canonical, grouped) for key in step]
            for index, step in enumerate(canonical)]


def _step_call(key: Key, index: int, canonical: list[list[Key]],
               grouped: list[tuple[Invocation, list[list[tuple[Key, Call]]]]]) -> StepCall:
    earlier = {k for step in canonical[:index] for k in step}
    reached = made = failed = survived = retried = 0
    methods: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    for invocation, steps in grouped:
        calls = {k: c for step in steps for k, c in step}
        if any(not c.ok for k, c in calls.items() if k in earlier):
            continue  # a failed earlier step ends the handler before this one
        reached += 1
        call = calls.get(key)
        if call is None:
            continue
        made += 1
        retried += call.attempts > 1
        methods[call.method or "GET"] += 1
        paths[call.path or "/"] += 1
        if not call.ok:
            failed += 1
            survived += not invocation.server.error
    return StepCall(callee=key[0], probability=made / reached if reached else 1.0,
                    optional=failed > 0 and survived * 2 > failed, method=_most(methods),
                    path=_most(paths), retried=retried / made if made else 0.0)


def _most(counter: Counter[str]) -> str | None:
    return counter.most_common(1)[0][0] if counter else None


def _peak(invocations: list[Invocation]) -> int:
    """Most invocations in flight at once on one instance."""
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for inv in invocations:
        events[inv.server.instance or ""].extend(((inv.server.start, 1), (inv.server.end, -1)))
    peak = 1
    for points in events.values():
        level = 0
        for _, change in sorted(points, key=lambda p: (p[0], p[1])):
            level += change
            peak = max(peak, level)
    return peak
