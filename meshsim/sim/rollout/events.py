"""The events a rollout controller records, and the keys of their ``detail``.

Every event has ``proxy`` empty and ``service``/``subset`` naming the **canary** version; the
``detail`` is :func:`meshsim.metrics.details.encode` ``key=value`` pairs. Keys present on all:
``controller`` (``flagger`` | ``argo``) and ``rollout`` (the rollout's name).

==================== =======================================================================
kind                 further detail keys
==================== =======================================================================
canary-start         (Flagger: the tick that detects the revision, one interval before the
                     first step) ``strategy`` (Flagger: canary | ab | bluegreen; Argo: canary),
                     ``interval`` (Flagger, s), ``threshold`` (Flagger), ``steps`` (Argo)
canary-weight        ``weight`` canary weight in % after the change, ``step`` (Flagger: tick
                     number from 1; Argo: step index from 0), ``phase`` (Flagger: Progressing,
                     Promoting, Finalising, Failed; Argo: Progressing, Healthy, Degraded),
                     ``mirror`` true/false (a live 100 % mirror to the canary is on)
canary-check         ``metric``, ``value`` (scaled number; ``none`` when no traffic; Argo:
                     ``none`` for no series yet (an empty vector), ``NaN`` for a series with
                     no requests in the window),
                     Flagger: ``min``/``max`` (when set), ``passed`` true/false,
                     ``failed_checks`` (cumulative, after this check), ``threshold``, ``step``;
                     Argo: ``analysis`` (AnalysisRun name), ``success``/``failure`` (condition
                     text, when set), ``result`` (Successful | Failed | Inconclusive | Error),
                     ``passed`` (result is Successful), ``failed_checks`` (the metric's failed
                     measurements), ``threshold`` (its failureLimit), ``errors`` (consecutive
                     errors), ``step``
canary-paused        ``step``, ``reason`` (pause | inconclusive), ``until`` (seconds, or
                     ``end`` for an indefinite pause: paused to the end of the run)
canary-phase         ``phase`` (Flagger: Promoting, Finalising, Succeeded; Argo: Healthy,
                     Degraded, Paused), ``step``
canary-promoted      ``step``, ``promoted_at`` (when the primary/stable adopted the canary's
                     pod template, s); recorded when the rollout has succeeded
canary-rolled-back   ``weight`` (canary weight in % where it was left), ``failed_checks``,
                     ``reason`` (Flagger: threshold | progress-deadline; Argo:
                     analysis-failed | analysis-error, with ``analysis`` and ``metric``),
                     ``step``
canary-scale         (Argo without a traffic router: weights are pod counts) ``weight``,
                     ``stable``/``canary`` (desired pods), ``stable_ready``/``canary_ready``
                     (pods that are endpoints)
==================== =======================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsim.metrics.details import encode
from meshsim.model.rollout import Version

if TYPE_CHECKING:
    from meshsim.metrics import Recorder


class Reporter:
    """Writes one controller's events with its common columns and keys."""

    def __init__(self, recorder: Recorder, controller: str, rollout: str, canary: Version,
                 ) -> None:
        self.recorder = recorder
        self.controller = controller
        self.rollout = rollout
        self.service = canary.service
        self.subset = canary.subset or ""

    def __call__(self, now: float, kind: str, **detail: object) -> None:
        text = encode(controller=self.controller, rollout=self.rollout,
                      **{k: _text(v) for k, v in detail.items()})
        self.recorder.event(now, kind, service=self.service, subset=self.subset, detail=text)


def _text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
