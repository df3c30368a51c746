"""Flagger's canary scheduler (``pkg/controller/scheduler.go``), one tick per ``interval``.

Tick 0 runs at ``start``: ``checkCanaryStatus`` detects the new revision, scales the canary up,
sets phase Progressing and returns, so it moves no traffic (the primary must be ready first,
unless ``skip_analysis``). Tick ``k`` runs at ``start + k × interval``; tick 1 runs no metric
check (canary weight 0, no iterations: only pre-rollout hooks) and takes the first step. Per
tick, in ``advanceCanary``'s order: primary not ready → nothing; canary not ready → nothing,
or rollback (in any phase) once it has been unready past ``progress_deadline``;
``skip_analysis`` → promote at once; Promoting → route traffic back to the primary (by
``step_weight_promotion``) then Finalising → Succeeded; failed checks ≥ ``threshold`` →
rollback; then the metric checks (a failure adds one to the cumulative counter and leaves
the weight); then the strategy's step (canary weights, A/B iterations, blue/green
iterations) or, at the end of it, promotion: the primary adopts the canary's pod template.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from itertools import pairwise
from typing import TYPE_CHECKING

from meshsim.model.rollout import FlaggerCanary
from meshsim.sim.live_routes import LiveWeights, register
from meshsim.sim.rollout.events import Reporter
from meshsim.sim.rollout.metrics import Traffic
from meshsim.sim.rollout.versions import pods_of, promote, ready

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.ports import ControlPlane

TOTAL = 100.0
DURATION = "request-duration"  # compared as a Go time.Duration of whole milliseconds


class FlaggerScheduler:
    """One ``Canary``'s analysis loop, as a long-lived SimPy process."""

    def __init__(self, sim: ControlPlane, spec: FlaggerCanary, traffic: Traffic) -> None:
        self.sim = sim
        self.spec = spec
        self.traffic = traffic
        self.weights = LiveWeights(spec.target)
        register(sim.live_routes, self.weights)
        self.report = Reporter(sim.recorder, "flagger", spec.name, spec.target.canary)
        self.mirror = bool(spec.target.mirror_routes)  # ``analysis.mirror``
        self.phase = "Initialized"
        self.canary_weight = 0.0
        self.mirrored = False
        self.iterations = 0
        self.failed_checks = 0
        self.tick = 0
        self.promoted_at: float | None = None
        self._unready_since: float | None = None

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def run(self) -> Generator[simpy.Event, None, None]:
        env = self.sim.env
        spec = self.spec
        yield env.timeout(spec.start)
        self.weights.set(0.0)  # the router Flagger reconciled: all traffic to the primary
        while not self._detect(env.now):
            yield env.timeout(spec.interval)
        while True:
            yield env.timeout(spec.interval)
            self.tick += 1
            self.advance(env.now)
            if self.finished:
                return

    def _detect(self, now: float) -> bool:
        """Tick 0: "New revision detected! Scaling up" (``checkCanaryStatus``), no traffic
        moved; ``IsPrimaryReady`` runs before it, so an unready primary delays detection."""
        spec = self.spec
        if not spec.skip_analysis and not ready(pods_of(self.sim, spec.target.primary)):
            return False
        self.phase = "Progressing"
        self.report(now, "canary-start", strategy=spec.strategy, interval=spec.interval,
                    threshold=spec.threshold)
        return True

    # -- one tick -------------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        spec = self.spec
        if not spec.skip_analysis and not ready(pods_of(self.sim, spec.target.primary)):
            return  # IsPrimaryReady: wait
        canary_ready, retriable = self._canary_ready(now)
        if not canary_ready:  # IsCanaryReady: wait, or roll back past the deadline
            if not retriable:
                self._rollback(now, "progress-deadline")
            return
        if spec.skip_analysis:
            self._skip(now)
            return
        if self.phase == "Promoting":
            self._promotion_traffic_shift(now)
            return
        if self.phase == "Finalising":
            self._set_phase(now, "Succeeded")
            self.report(now, "canary-promoted", step=self.tick, promoted_at=self.promoted_at)
            return
        if self.failed_checks >= spec.threshold:
            self._rollback(now, "threshold")
            return
        first = self.canary_weight == 0 and self.iterations == 0 and not (
            self.mirror and self.mirrored)
        if not first and not self._checks_pass(now):
            return
        if spec.strategy == "ab":
            self._run_ab(now)
        elif spec.strategy == "bluegreen":
            self._run_blue_green(now)
        elif self._next_step_weight() > 0:
            self._run_canary(now)

    def _canary_ready(self, now: float) -> tuple[bool, bool]:
        """Ready, and whether waiting may still help (False past the progress deadline)."""
        if ready(pods_of(self.sim, self.spec.target.canary)):
            self._unready_since = None
            return True, True
        if self._unready_since is None:
            self._unready_since = now
        return False, now - self._unready_since <= self.spec.progress_deadline

    # -- checks ---------------------------------------------------------------------------------
    def _checks_pass(self, now: float) -> bool:
        """The metrics in order; the first failing one halts advancement for this tick."""
        spec = self.spec
        for check in spec.checks:
            value = self.traffic.value(check.measure, now)
            low, high = check.min, check.max
            if check.name == DURATION and check.template is None:  # the built-in only
                # GetRequestDuration: time.Duration(int64(value)) * ms, and the bounds are
                # converted the same way: both truncated to whole milliseconds.
                value = None if value is None else float(math.trunc(value))
                low = None if low is None else float(math.trunc(low))
                high = None if high is None else float(math.trunc(high))
            passed = value is not None and not (
                (low is not None and value < low) or (high is not None and value > high))
            if not passed:
                self.failed_checks += 1
            self.report(now, "canary-check", metric=check.name,
                        value="none" if value is None else value, min=check.min,
                        max=check.max, passed=passed, failed_checks=self.failed_checks,
                        threshold=spec.threshold, step=self.tick)
            if not passed:
                return False
        return True

    # -- strategies -----------------------------------------------------------------------------
    def _max_weight(self) -> float:
        spec = self.spec
        if spec.step_weights:
            return min(TOTAL, spec.step_weights[-1])
        return spec.max_weight if spec.max_weight > 0 else TOTAL

    def _next_step_weight(self) -> float:
        spec = self.spec
        weights = spec.step_weights
        if spec.step_weight > 0 or not weights:
            return spec.step_weight
        max_step = TOTAL - self.canary_weight
        if max_step == 0:
            return 1.0
        if self.canary_weight == 0:
            return min(max_step, weights[0])
        for here, after in pairwise(weights):
            if here == self.canary_weight:
                return min(max_step, after - self.canary_weight)
        return max_step

    def _run_canary(self, now: float) -> None:
        if self.canary_weight < self._max_weight():
            step = self._next_step_weight()
            if self.mirror and self.canary_weight == 0:
                # One tick of mirroring before the first traffic shift.
                if not self.mirrored:
                    self._set_routes(now, 0.0, True)
                else:
                    self._set_routes(now, step, False)
            else:
                self._set_routes(now, min(TOTAL, self.canary_weight + step), self.mirrored)
            return
        self._promote(now)

    def _run_ab(self, now: float) -> None:
        if self.spec.iterations > self.iterations:
            self._set_routes(now, TOTAL, False)
            self.iterations += 1
            return
        if self.spec.iterations == self.iterations:
            self._promote(now)

    def _run_blue_green(self, now: float) -> None:
        target = self.spec.iterations
        if target > self.iterations:
            if self.mirror and not self.mirrored:
                self._set_routes(now, 0.0, True)
            self.iterations += 1
            return
        if target == self.iterations:
            self._set_routes(now, TOTAL, False)  # all traffic to the canary
            self.iterations += 1
            return
        self._promote(now)

    # -- transitions ----------------------------------------------------------------------------
    def _set_routes(self, now: float, canary: float, mirrored: bool) -> None:
        changed = (canary, mirrored) != (self.canary_weight, self.mirrored)
        self.canary_weight = canary
        self.mirrored = mirrored
        self.weights.set(canary, mirrored)
        if changed:  # an A/B iteration re-applies the same routes: no state change
            self.report(now, "canary-weight", weight=canary, step=self.tick,
                        phase=self.phase, mirror=mirrored)

    def _set_phase(self, now: float, phase: str) -> None:
        self.phase = phase
        self.report(now, "canary-phase", phase=phase, step=self.tick)

    def _promote(self, now: float) -> None:
        """Copy the canary's template to the primary (its pods adopt the canary's code)."""
        target = self.spec.target
        promote(self.sim, target.primary, target.canary)
        self.promoted_at = now
        self._set_phase(now, "Promoting")

    def _promotion_traffic_shift(self, now: float) -> None:
        step = self.spec.step_weight_promotion
        if step == 0:
            self._set_routes(now, 0.0, False)
            self._set_phase(now, "Finalising")
            return
        if self.canary_weight > 0:
            self._set_routes(now, max(0.0, self.canary_weight - step), False)
            if self.canary_weight == 0:
                self._set_phase(now, "Finalising")

    def _rollback(self, now: float, reason: str) -> None:
        left = self.canary_weight
        self.phase = "Failed"
        self._set_routes(now, 0.0, False)
        self.report(now, "canary-rolled-back", weight=left, failed_checks=self.failed_checks,
                    reason=reason, step=self.tick)

    def _skip(self, now: float) -> None:
        """``skipAnalysis``: promote at once (``shouldSkipAnalysis``, once the canary is ready)."""
        self._set_routes(now, 0.0, False)
        target = self.spec.target
        promote(self.sim, target.primary, target.canary)
        self.promoted_at = now
        self._set_phase(now, "Succeeded")
        self.report(now, "canary-promoted", step=self.tick, promoted_at=now)
