"""A rollout on a Linkerd mesh: the HTTPRoute's backend services carry the live weights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from builders import deployment, model
from rollout_helpers import MS, binomial_ok, events, names, run

from meshsim.model import Call, Constant, Model
from meshsim.model.policy import TrafficPolicy
from meshsim.model.rollout import FlaggerCanary, FlaggerCheck, Measure, TrafficTarget, Version
from meshsim.model.routes import Backend, Route

PRIMARY, CANARY = Version("app-primary"), Version("app-canary")


def linkerd_model(spec: FlaggerCanary, *, canary_errors: float = 0.0) -> Model:
    deps = [
        deployment("frontend", latency=Constant(1 * MS), concurrency=64, calls=(Call("app"),)),
        deployment("app-primary", latency=Constant(5 * MS), concurrency=64),
        deployment("app-canary", latency=Constant(5 * MS), concurrency=64, errors=canary_errors),
    ]
    m = model(deps, rate=100, duration=55, mesh="linkerd", target="frontend")
    route = Route("app-route", backends=(Backend("app-primary", weight=100),
                                          Backend("app-canary", weight=0)))
    return replace(m, policy=TrafficPolicy(routes={"app": (route,)}), rollouts=(spec,))


def flagger(**kw: object) -> FlaggerCanary:
    spec: dict[str, object] = {
        "name": "app", "strategy": "canary", "interval": 10.0, "threshold": 2,
        "step_weight": 40, "max_weight": 80, "start": 5.0,
        "target": TrafficTarget("app", PRIMARY, CANARY, routes=("app-route",)),
        "checks": (FlaggerCheck("request-success-rate",
                                Measure("success_rate", CANARY, window=10.0, scale=100),
                                min=99),),
    }
    spec.update(kw)
    return FlaggerCanary(**spec)  # type: ignore[arg-type]


def test_linkerd_split_follows_the_scheduler() -> None:
    rec = run(linkerd_model(flagger()))
    assert [(t, float(d["weight"])) for t, d in events(rec, "canary-weight")] == [
        (15.0, 40), (25.0, 80), (45.0, 0)]  # tick 0 at 5.0 detects
    calls = rec.calls
    service = names(rec, calls["service"])
    window = (calls["start"] > 15.1) & (calls["start"] < 24.9) & np.isin(
        service, ["app-primary", "app-canary"])
    hits = int(np.sum(service[window] == "app-canary"))
    assert binomial_ok(hits, int(window.sum()), 0.40)
    before = (calls["start"] < 14.9) & (service == "app-canary")
    assert not before.any()


def test_linkerd_canary_errors_roll_back() -> None:
    rec = run(linkerd_model(flagger(), canary_errors=0.3))
    (when, back), = events(rec, "canary-rolled-back")
    assert when == 45.0 and back["weight"] == "40"
