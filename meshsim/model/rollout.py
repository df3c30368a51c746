"""Progressive delivery: a rollout controller's spec, mesh- and CRD-agnostic.

The config stage turns a Flagger ``Canary`` or an Argo ``Rollout`` (with its
``AnalysisTemplate``s) into one :class:`Rollout`; the engine runs the controller's loop on
simulated metrics and moves the weights of the routes it owns (``TrafficTarget.routes``).
See ``reference/progressive-delivery.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MeasureKind = Literal["success_rate", "error_rate", "latency", "request_rate"]
Reporter = Literal["destination", "source"]
CompareOp = Literal["<", "<=", ">", ">=", "==", "!="]


@dataclass(frozen=True)
class Version:
    """One side of a rollout: a service, optionally one subset of it (as in ``Backend``)."""

    service: str
    subset: str | None = None


@dataclass(frozen=True)
class TrafficTarget:
    """What the controller moves traffic between, and which routes carry the weights.

    ``routes`` names routes of ``host`` (as in ``TrafficPolicy.routes[host]``) whose two
    backends are ``primary`` and ``canary``; the controller sets their weights. ``mirror``
    routes get a live mirror to ``canary`` instead (Flagger ``analysis.mirror``).
    """

    host: str
    primary: Version
    canary: Version
    routes: tuple[str, ...]
    mirror_routes: tuple[str, ...] = ()
    mirror_percent: float = 100.0  # of the requests on ``mirror_routes`` (``mirrorWeight``)


@dataclass(frozen=True)
class Measure:
    """A query over the last ``window`` seconds of the traffic that reached ``of``.

    ``success_rate`` and ``error_rate`` are fractions in [0, 1] of non-5xx / 5xx responses;
    ``latency`` is the ``quantile`` of response time in seconds, read from a Prometheus-style
    histogram with ``buckets`` (upper bounds, seconds) as ``histogram_quantile`` does (empty =
    exact); ``request_rate`` is requests per second. ``reporter`` says whose proxy counts:
    the destination sees what arrived (mirrored traffic included), the source what callers saw.
    ``scale`` multiplies the value (100 for Flagger's percentages, 1000 for milliseconds).
    """

    kind: MeasureKind
    of: Version
    window: float = 60.0
    quantile: float = 0.99
    buckets: tuple[float, ...] = ()
    reporter: Reporter = "destination"
    scale: float = 1.0


@dataclass(frozen=True)
class Compare:
    """``value <op> threshold``."""

    op: CompareOp
    threshold: float


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | AllOf | AnyOf | Not


# -- Flagger ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlaggerCheck:
    """One ``analysis.metrics`` entry: pass when ``min <= value <= max`` (either may be unset).

    No data in the window is "no values found", a failed check for the built-in metrics.
    """

    name: str
    measure: Measure
    min: float | None = None
    max: float | None = None
    template: str | None = None  # the MetricTemplate it renders; None = a built-in metric


@dataclass(frozen=True)
class FlaggerCanary:
    """A Flagger ``Canary``'s analysis, with Flagger's defaults already applied.

    ``strategy``: ``canary`` (weights step by ``step_weight`` or along ``step_weights`` up to
    ``max_weight``), ``ab`` (matched traffic all to the canary for ``iterations`` ticks) or
    ``bluegreen`` (``iterations`` ticks of analysis, then all at once).
    """

    name: str
    target: TrafficTarget
    strategy: Literal["canary", "ab", "bluegreen"]
    interval: float = 60.0
    threshold: int = 1
    step_weight: float = 0.0
    step_weights: tuple[float, ...] = ()
    max_weight: float = 100.0
    step_weight_promotion: float = 100.0
    iterations: int = 0
    checks: tuple[FlaggerCheck, ...] = ()
    skip_analysis: bool = False
    progress_deadline: float = 600.0
    start: float = 0.0  # when the new revision is detected (the first scheduler tick)


# -- Argo Rollouts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ArgoMetric:
    """One ``AnalysisTemplate`` metric: measured every ``interval``, ``count`` times (0: until
    the analysis ends); a measurement is successful, failed or inconclusive by the conditions.
    """

    name: str
    measure: Measure
    success: Condition | None = None
    failure: Condition | None = None
    interval: float = 0.0  # 0: measure once
    count: int = 0
    initial_delay: float = 0.0
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4


@dataclass(frozen=True)
class ArgoAnalysis:
    """An AnalysisRun: its metrics run side by side; the run fails when any metric fails."""

    name: str
    metrics: tuple[ArgoMetric, ...]


@dataclass(frozen=True)
class ArgoStep:
    """One ``steps`` entry. ``pause`` with ``duration`` None waits for a human: indefinitely."""

    kind: Literal["setWeight", "pause", "analysis"]
    weight: float = 0.0
    duration: float | None = None
    analysis: ArgoAnalysis | None = None


@dataclass(frozen=True)
class ReplicaScaling:
    """A canary without a traffic router: the Service selects both ReplicaSets, so traffic
    follows the ready pods. ``replicas`` is ``spec.replicas``; ``max_surge`` and
    ``max_unavailable`` are pod counts, already resolved from percentages as Argo's
    ``resolveFenceposts`` does. A pod added is Ready (an endpoint) ``ready_after`` seconds
    after it is created (its readiness probe's ``initialDelaySeconds``) and Available
    ``min_ready`` seconds later (``minReadySeconds``), which is what the controller counts.
    """

    replicas: int
    max_surge: int
    max_unavailable: int
    ready_after: float = 0.0
    min_ready: float = 0.0


@dataclass(frozen=True)
class ArgoRollout:
    """An Argo ``Rollout`` with a canary strategy: with a traffic router (``scaling`` None)
    the controller sets route weights; without one (``scaling`` set) it scales the stable and
    canary ReplicaSets (``target.primary`` / ``target.canary`` versions) and the pods' share of
    the endpoints is the weight."""

    name: str
    target: TrafficTarget
    steps: tuple[ArgoStep, ...]
    background: ArgoAnalysis | None = None
    background_start_step: int = 0
    start: float = 0.0  # when the new revision is applied
    scaling: ReplicaScaling | None = None


Rollout = FlaggerCanary | ArgoRollout
