"""An Argo ``AnalysisRun`` (``analysis/analysis.go``): metrics measured side by side.

Each metric takes its first measurement ``initial_delay`` after the run starts and the next
one ``interval`` after the previous, or 10 s after an Error whatever the interval
(``generateMetricTasks``: ``DefaultErrorRetryInterval``). A measurement is Successful, Failed
or Inconclusive by the conditions (no success and no failure condition: Successful). The
Prometheus provider hands the conditions a vector: an empty one (the version never exported
the series) makes ``result[0]`` an Error; a window without requests on an exported series is
0 requests/s, and NaN (0/0, or an empty histogram) for ratios and quantiles, which every
comparison rejects. A metric is Failed once failed measurements exceed ``failure_limit``,
Inconclusive once inconclusive ones exceed ``inconclusive_limit``, Error once consecutive
errors exceed ``consecutive_error_limit`` (each test overrides the previous one, so Error
wins over Inconclusive over Failed), and Successful when it has ``count`` measurements
(errors do not count; no count and no interval: one). A Failed, Error or Inconclusive metric
terminates the run (``IsTerminating``); the run's phase is then the worst metric phase, else
Successful once every metric is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from meshsim.model.rollout import ArgoAnalysis, ArgoMetric, Compare, Condition, Not
from meshsim.sim.rollout.conditions import holds, render
from meshsim.sim.rollout.events import Reporter
from meshsim.sim.rollout.metrics import Traffic

if TYPE_CHECKING:
    import simpy

    from meshsim.sim.kernel import Kernel

ERROR_RETRY = 10.0  # DefaultErrorRetryInterval
ORDER = ("Pending", "Running", "Successful", "Inconclusive", "Error", "Failed")
DONE = ("Successful", "Inconclusive", "Error", "Failed")


@dataclass
class MetricResult:
    """One metric's tallies (``MetricResult`` in the AnalysisRun status)."""

    phase: str = "Pending"
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0


def evaluate(metric: ArgoMetric, value: float | None) -> str:
    """One measurement's phase (``EvaluateResult``); ``value`` None is an empty vector.

    An empty vector is an Error (``result[0]`` fails in Argo) unless a condition asks for its
    length (``len(result) == 0`` / ``> 0``, translated to ``== -inf`` / ``!= -inf``): then it
    is evaluated as -inf, which only those probes tell apart (``isNaN``, ``not >= -inf``, is
    false for it, as it is no NaN). NaN (one NaN in the vector) fails every comparison.
    """
    success, failure = metric.success, metric.failure
    if value is None:
        if not any(c is not None and _probes_length(c) for c in (success, failure)):
            return "Error"
        value = -math.inf
    if success is None and failure is None:
        return "Successful"
    ok = holds(success, value) if success is not None else None
    bad = holds(failure, value) if failure is not None else None
    if bad is None:
        bad = not ok
    if ok is None:
        ok = not bad
    if bad:
        return "Failed"
    return "Successful" if ok else "Inconclusive"


def _probes_length(condition: Condition) -> bool:
    if isinstance(condition, Compare):
        return condition.threshold == -math.inf and condition.op in ("==", "!=")
    if isinstance(condition, Not):
        return _probes_length(condition.part)
    return any(_probes_length(part) for part in condition.parts)


def assess(metric: ArgoMetric, result: MetricResult) -> str:
    """The metric's phase after a measurement (``assessMetricStatus``): the limits are
    tested Failed, Inconclusive, Error, each overriding the one before
    (``assessMetricFailureInconclusiveOrError``), so the last exceeded wins."""
    if result.consecutive_error > metric.consecutive_error_limit:
        return "Error"
    if result.inconclusive > metric.inconclusive_limit:
        return "Inconclusive"
    if result.failed > metric.failure_limit:
        return "Failed"
    count = metric.count if metric.count > 0 else (1 if metric.interval == 0 else None)
    if count is not None and result.count >= count:
        return "Successful"
    return "Running"


def _shown(value: float | None) -> object:
    """The measurement as Argo shows it: ``[]`` reads ``none``, ``[NaN]`` reads ``NaN``."""
    if value is None:
        return "none"
    return "NaN" if math.isnan(value) else value


def worst(phases: list[str]) -> str:
    return max(phases, key=ORDER.index)


class AnalysisRun:
    """A running AnalysisRun; ``on_done(run)`` is called once when it completes."""

    def __init__(self, env: Kernel, spec: ArgoAnalysis, traffic: Traffic,
                 report: Reporter, on_done: Callable[[AnalysisRun], None], step: int) -> None:
        self.env = env
        self.spec = spec
        self.traffic = traffic
        self.report = report
        self.on_done = on_done
        self.step = step
        self.phase = "Running"
        self.results = {m.name: MetricResult() for m in spec.metrics}
        self.done = env.event()
        self.failing: ArgoMetric | None = None  # the metric that ended the run, if any

    def start(self) -> None:
        for metric in self.spec.metrics:
            self.env.process(self._measure(metric))
        if not self.spec.metrics:
            self._complete("Successful")

    def terminate(self) -> None:
        """Stop measuring (the rollout finished): metrics still running end Successful."""
        if self.phase == "Running":
            self.phase = "Successful"
            self.done.succeed(self)

    def _measure(self, metric: ArgoMetric) -> Generator[simpy.Event, None, None]:
        env = self.env
        if metric.initial_delay > 0:
            yield env.timeout(metric.initial_delay)
        result = self.results[metric.name]
        while self.phase == "Running":
            measured = self._take(metric, result, env.now)
            status = assess(metric, result)
            if status != "Running":
                result.phase = status
                self._assess()
                return
            result.phase = "Running"
            gap = ERROR_RETRY if measured == "Error" else metric.interval
            yield env.timeout(gap)

    def _take(self, metric: ArgoMetric, result: MetricResult, now: float) -> str:
        value = self.query(metric, now)
        phase = evaluate(metric, value)
        if phase == "Error":
            result.error += 1
            result.consecutive_error += 1
        else:
            result.count += 1
            result.consecutive_error = 0
            if phase == "Successful":
                result.successful += 1
            elif phase == "Failed":
                result.failed += 1
            else:
                result.inconclusive += 1
        self.report(
            now, "canary-check", analysis=self.spec.name, metric=metric.name,
            value=_shown(value),
            success=render(metric.success) if metric.success is not None else None,
            failure=render(metric.failure) if metric.failure is not None else None,
            result=phase, passed=phase == "Successful", failed_checks=result.failed,
            threshold=metric.failure_limit, errors=result.consecutive_error, step=self.step,
        )
        return phase

    def query(self, metric: ArgoMetric, now: float) -> float | None:
        """The Prometheus answer: None for an empty vector (no series yet); a series with no
        requests in the window reads 0 requests/s, and NaN for a ratio or a quantile."""
        measure = metric.measure
        value = self.traffic.value(measure, now)
        if value is None and self.traffic.exported(measure, now):
            return 0.0 if measure.kind == "request_rate" else math.nan
        return value

    def _assess(self) -> None:
        """The run's phase (``assessRunStatus``), ending it on a failure or completion."""
        phases = [r.phase for r in self.results.values()]
        finished = [p for p in phases if p in DONE]
        if any(p != "Successful" for p in finished):
            bad = worst(finished)
            self.failing = next(m for m in self.spec.metrics
                                if self.results[m.name].phase == bad)
            self._complete(bad)
        elif len(finished) == len(phases):
            self._complete("Successful")

    def _complete(self, phase: str) -> None:
        if self.phase != "Running":
            return
        self.phase = phase
        self.done.succeed(self)
        self.on_done(self)
