"""A failing app as real services fail: which status, how fast, on which pods, and when.

Built only for an :class:`~meshsim.model.failures.ErrorModel` (the mapping form of
``errors``); a pod without one never calls in here, so scenarios that do not use it draw and
run exactly as before. The decision is drawn when the request reaches the pod, so a rate that
rises with the queue sees the queue the request joins, and a refused connection never queues.

What the caller sees of a transport failure depends on the pod's inbound sidecar: without one
the caller's proxy sees the reset (Envoy flag ``UR``) or the refused connection (``UF``)
itself; through one, the sidecar answers for the app, 503 from Envoy and 502 from
linkerd2-proxy (its endpoint I/O error), as a plain response (reference/linkerd.md §2.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.model.failures import ErrorModel, Outcome
from meshsim.sim.sampling import Sampler, sampler, uniform

if TYPE_CHECKING:
    import numpy as np

    from meshsim.model import Deployment
    from meshsim.rng import Streams
    from meshsim.sim.messages import Attempt
    from meshsim.sim.pod import Pod

_UNAVAILABLE = 503


class ErrorProcess:
    """One error model in action, shared by the pods it covers (a burst hits them together)."""

    def __init__(self, model: ErrorModel, roll: Sampler, rng: np.random.Generator) -> None:
        self.model = model
        self.roll = roll
        self.rng = rng
        self.latency: Sampler | None = None
        if not isinstance(model.latency, str):
            self.latency = sampler(model.latency, rng)
        self.cumulative: list[tuple[float, Outcome]] = []
        total = 0.0
        for outcome, weight in model.outcomes:
            total += weight
            self.cumulative.append((total, outcome))
        burst = model.burst
        self.on = burst is None
        self.switch_at = float("inf") if burst is None else float(rng.exponential(burst.off))

    def bursting(self, now: float) -> bool:
        """The on/off state at ``now``, advanced lazily (no timers: nothing runs when idle)."""
        burst = self.model.burst
        if burst is None:
            return True
        while now >= self.switch_at:
            self.on = not self.on
            self.switch_at += float(self.rng.exponential(burst.on if self.on else burst.off))
        return self.on

    def rate(self, pod: Pod, now: float) -> float:
        if not self.bursting(now):
            return 0.0
        model = self.model
        if model.per_queued:
            return min(1.0, model.rate + model.per_queued * pod.waiting)
        return model.rate

    def outcome(self) -> Outcome:
        cumulative = self.cumulative
        if len(cumulative) == 1:
            return cumulative[0][1]
        u = self.roll() * cumulative[-1][0]
        for bound, outcome in cumulative:
            if u < bound:
                return outcome
        return cumulative[-1][1]

    def error_work(self) -> float | None:
        """The failure's own service time: None = the normal latency."""
        if self.latency is not None:
            return float(self.latency())
        return 0.0 if self.model.latency == "immediate" else None


class PodFailures:
    """A pod's error processes: its deployment's (if it is a bad pod) and a fault's."""

    def __init__(self, base: ErrorProcess | None, sidecar_status: int) -> None:
        self.base = base
        self.fault: ErrorProcess | None = None
        self.sidecar_status = sidecar_status  # 0: no inbound sidecar
        self.work: dict[Attempt, float] = {}

    def arrive(self, pod: Pod, att: Attempt, now: float) -> bool:
        """Draw this request's fate; True when the connection was refused (already answered)."""
        for process in (self.base, self.fault):
            if process is None:
                continue
            rate = process.rate(pod, now)
            if rate <= 0.0 or process.roll() >= rate:
                continue
            outcome = process.outcome()
            if outcome == "connect-failure":
                via = self.sidecar_status
                pod.reply(att, via or _UNAVAILABLE, "" if via else "UF")
                return True
            if outcome == "reset":
                att.status = self.sidecar_status or _UNAVAILABLE
                att.flags = "" if self.sidecar_status else "UR"
            else:
                att.status = int(outcome)
            att.failed = True
            work = process.error_work()
            if work is not None:
                self.work[att] = work
            return False
        return False

    def start(self, pod: Pod, att: Attempt, work: float) -> float:
        """The service time of a request starting now; plain 500s of a numeric fault too."""
        if att.failed:
            return self.work.pop(att, work)
        errors = pod.errors
        if pod.fault_errors:
            errors = 1.0 - (1.0 - errors) * (1.0 - pod.fault_errors)
        att.failed = errors > 0.0 and pod.roll() < errors
        return work


def sidecar_status(pod: Pod) -> int:
    """What a pod's inbound sidecar answers when the app resets or refuses: 0 without one."""
    if not pod.proxy.sidecar:
        return 0
    # By the proxy's wing, not its class: the mesh-neutral root of sim/ imports no wing.
    linkerd = type(pod.proxy).__module__.startswith("meshsim.sim.linkerd")
    return 502 if linkerd else _UNAVAILABLE


def process_for(streams: Streams, model: ErrorModel, name: str) -> ErrorProcess:
    """``name`` keys the new streams (``failures/<name>``), so no existing stream shifts."""
    return ErrorProcess(model, uniform(streams.get(f"failures/{name}")),
                        streams.get(f"failures-time/{name}"))


def attach(pods: list[Pod], deployment: Deployment, streams: Streams, name: str) -> None:
    """Give the bad pods of ``deployment`` its error process (none when it has no model)."""
    model = deployment.failure
    process = None if model is None else process_for(streams, model, name)
    for index, pod in enumerate(pods):
        base = process if model is not None and model.applies_to(index) else None
        if base is None and (pod.failures is None or pod.failures.fault is None):
            pod.failures = None
        elif pod.failures is None:
            pod.failures = PodFailures(base, sidecar_status(pod))
        else:
            pod.failures.base = base


def set_fault_process(pod: Pod, process: ErrorProcess | None) -> None:
    """A fault's error model starts (``process``) or ends (None) on ``pod``."""
    if pod.failures is None:
        if process is None:
            return
        pod.failures = PodFailures(None, sidecar_status(pod))
    pod.failures.fault = process
    if process is None and pod.failures.base is None:
        pod.failures = None
