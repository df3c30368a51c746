"""Progressive delivery inside the simulation: Flagger's and Argo Rollouts' control loops.

:func:`controllers` builds one long-lived controller per ``Model.rollouts`` entry; each
claims its routes' live weights (:mod:`.weights`), reads recorded traffic (:mod:`.metrics`)
and records ``canary-*`` events (:mod:`.events` documents their detail keys).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING

from meshsim.model.rollout import ArgoRollout, FlaggerCanary, Rollout
from meshsim.sim.rollout.argo import ArgoController
from meshsim.sim.rollout.flagger import FlaggerScheduler
from meshsim.sim.rollout.metrics import Traffic

if TYPE_CHECKING:
    from meshsim.sim.ports import ControlPlane

Controller = FlaggerScheduler | ArgoController


def controllers(sim: ControlPlane, rollouts: tuple[Rollout, ...]) -> list[Controller]:
    """The controllers of ``rollouts``; the recorder keeps their versions' attempts readable."""
    if not rollouts:
        return []
    traffic = Traffic(sim.recorder, rtt=2 * sim.latency)
    built: list[Controller] = []
    for spec in rollouts:
        _watch(sim, spec)
        if isinstance(spec, FlaggerCanary):
            built.append(FlaggerScheduler(sim, spec, traffic))
        elif isinstance(spec, ArgoRollout):
            built.append(ArgoController(sim, spec, traffic))
        else:
            raise TypeError(f"unknown rollout {spec!r}")
    return built


def _watch(sim: ControlPlane, spec: Rollout) -> None:
    horizon = 2.0 * _longest(spec) + 10.0  # a query's window back from a check, and a tick
    for version in (spec.target.primary, spec.target.canary):
        code = sim.recorder.code_of(version.service)
        if code is not None:
            sim.recorder.watch(code, horizon)


def _longest(node: object) -> float:
    """The longest ``window`` or ``interval`` anywhere in a rollout spec (seconds): how far
    back a streaming run must keep rows for the controller's queries."""
    if isinstance(node, tuple | list):
        return max((_longest(item) for item in node), default=0.0)
    if not is_dataclass(node):
        return 0.0
    longest = 0.0
    for item in fields(node):
        value = getattr(node, item.name)
        if item.name in ("window", "interval") and isinstance(value, int | float):
            longest = max(longest, float(value))
        else:
            longest = max(longest, _longest(value))
    return longest


__all__ = ["ArgoController", "Controller", "FlaggerScheduler", "Traffic", "controllers"]
