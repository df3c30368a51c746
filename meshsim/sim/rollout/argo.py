"""Argo Rollouts' canary controller with a traffic router (``rollout/canary.go``).

From ``start`` the steps run in order: ``setWeight`` moves the canary weight at once,
``pause`` waits ``duration`` (none: paused for a human, i.e. to the end of the run),
``analysis`` starts an AnalysisRun and blocks until it completes. A background AnalysisRun
starts on entering step ``background_start_step`` and runs until the rollout ends. A run
that ends Failed or Error aborts the rollout (canary weight 0, status Degraded), one that
ends Inconclusive pauses it for good. When every step is done the stable pods adopt the
canary's pod template and all traffic goes to them (status Healthy).

Without a traffic router (``spec.scaling``) the weight is carried by pod counts
(:mod:`.scaling`): ``setWeight`` scales the ReplicaSets and the step completes once they are
at the desired counts with every canary pod available (``AtDesiredReplicaCountsForCanary``);
an abort scales the canary to 0 and the stable back to ``replicas``; after the last step the
weight is 100, the canary ReplicaSet grows to ``replicas`` and the stable one to 0, and once
that is done the canary ReplicaSet is the stable one (promoted: its pods keep the ``canary``
version name in the frames).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from meshsim.model.rollout import ArgoAnalysis, ArgoRollout, ArgoStep
from meshsim.sim.live_routes import LiveWeights, register
from meshsim.sim.rollout.analysis import AnalysisRun
from meshsim.sim.rollout.events import Reporter
from meshsim.sim.rollout.metrics import Traffic
from meshsim.sim.rollout.scaling import BasicCanary
from meshsim.sim.rollout.versions import pods_of, promote

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.ports import ControlPlane


class ArgoController:
    """One ``Rollout``'s canary strategy, as a long-lived SimPy process."""

    def __init__(self, sim: ControlPlane, spec: ArgoRollout, traffic: Traffic) -> None:
        self.sim = sim
        self.env = sim.env
        self.spec = spec
        self.traffic = traffic
        self.weights = LiveWeights(spec.target)
        register(sim.live_routes, self.weights)
        self.report = Reporter(sim.recorder, "argo", spec.name, spec.target.canary)
        self.weight = 0.0
        self.step = 0
        self.phase = "Progressing"
        self.ended = False  # aborted or promoted
        self.paused = False  # for a human: no further steps, though an analysis may abort
        self.wake: simpy.Event = sim.env.event()  # fires on a pause or an abort
        self.runs: list[AnalysisRun] = []
        self.background: AnalysisRun | None = None
        self.promoted_at: float | None = None
        self.scaler: BasicCanary | None = None
        if spec.scaling is not None:
            target = spec.target
            self.scaler = BasicCanary(sim, target.host, pods_of(sim, target.primary),
                                      pods_of(sim, target.canary), spec.scaling, self.report)

    def run(self) -> Generator[simpy.Event, None, None]:
        env = self.env
        spec = self.spec
        yield env.timeout(spec.start)
        self.weights.set(0.0)
        self.report(env.now, "canary-start", strategy="canary", steps=len(spec.steps))
        for index, step in enumerate(spec.steps):
            self.step = index
            self._start_background(index)
            yield from self._do(step)
            while self.paused and not self.ended:
                yield self.wake
            if self.ended:
                return
        self.step = len(spec.steps)
        if self.scaler is not None:
            self._set_weight(env.now, 100.0)  # no step left: GetCurrentSetWeight is 100
            yield from self._until_scaled()
            if self.ended:
                return
        self._promote(env.now)

    def _do(self, step: ArgoStep) -> Generator[simpy.Event, None, None]:
        env = self.env
        if step.kind == "setWeight":
            self._set_weight(env.now, step.weight)
            yield from self._until_scaled()
        elif step.kind == "pause":
            if step.duration is None:
                self._pause(env.now, "pause")
                return
            self.report(env.now, "canary-paused", step=self.step, reason="pause",
                        until=env.now + step.duration)
            yield env.timeout(step.duration) | self.wake
        elif step.analysis is not None:
            run = self._start_run(step.analysis)
            yield run.done | self.wake

    def _until_scaled(self) -> Generator[simpy.Event, None, None]:
        """Without a traffic router a step is done when the ReplicaSets are at its counts."""
        scaler = self.scaler
        while scaler is not None and not self.ended and not scaler.at_desired():
            yield scaler.changed | self.wake

    # -- analysis -------------------------------------------------------------------------------
    def _start_background(self, index: int) -> None:
        spec = self.spec
        if (spec.background is not None and self.background is None
                and index >= spec.background_start_step):
            self.background = self._start_run(spec.background)

    def _start_run(self, spec: ArgoAnalysis) -> AnalysisRun:
        run = AnalysisRun(self.env, spec, self.traffic, self.report, self._on_run_done,
                          self.step)
        self.runs.append(run)
        run.start()
        return run

    def _on_run_done(self, run: AnalysisRun) -> None:
        if self.ended or run.phase == "Successful":
            return
        now = self.env.now
        if run.phase != "Inconclusive":
            self._abort(now, run)
        elif not self.paused:
            self._pause(now, "inconclusive")

    # -- transitions ----------------------------------------------------------------------------
    def _set_weight(self, now: float, weight: float) -> None:
        self.weight = weight
        self.weights.set(weight)
        if self.scaler is not None:
            self.scaler.set_weight(weight)
        self.report(now, "canary-weight", weight=weight, step=self.step, phase=self.phase,
                    mirror=False)

    def _set_phase(self, now: float, phase: str) -> None:
        self.phase = phase
        self.report(now, "canary-phase", phase=phase, step=self.step)

    def _kick(self) -> None:
        """Wake the controller's process out of whatever it waits for."""
        wake, self.wake = self.wake, self.env.event()
        wake.succeed()

    def _pause(self, now: float, reason: str) -> None:
        self.paused = True
        self.report(now, "canary-paused", step=self.step, reason=reason, until="end")
        self._set_phase(now, "Paused")
        self._kick()

    def _abort(self, now: float, run: AnalysisRun) -> None:
        self.ended = True
        left = self.weight
        metric = run.failing
        failed = run.results[metric.name].failed if metric is not None else 0
        self._stop_runs()
        self.phase = "Degraded"
        self._set_weight(now, 0.0)
        self.report(now, "canary-rolled-back", weight=left, failed_checks=failed,
                    reason="analysis-error" if run.phase == "Error" else "analysis-failed",
                    analysis=run.spec.name, metric=metric.name if metric else None,
                    step=self.step)
        self._set_phase(now, "Degraded")
        self._kick()

    def _promote(self, now: float) -> None:
        self._stop_runs()
        target = self.spec.target
        self.promoted_at = now
        self.ended = True
        self.phase = "Healthy"
        if self.scaler is None:  # (without a router the full canary ReplicaSet is the stable)
            promote(self.sim, target.primary, target.canary)
            self._set_weight(now, 0.0)
        self._set_phase(now, "Healthy")
        self.report(now, "canary-promoted", step=self.step, promoted_at=now)

    def _stop_runs(self) -> None:
        for run in self.runs:
            run.terminate()
