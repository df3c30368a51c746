"""End to end: flagger-loadtester's hey runs feed a blue/green analysis; gateway traffic split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from paths import ROOT

import meshsim
from meshsim.config import load_scenario_text

BLUEGREEN = ROOT / "scenarios" / "canary" / "flagger-bluegreen-loadtester.yaml"


def canary_events(results: meshsim.Results, kind: str) -> pd.DataFrame:
    events = results.events
    return events[events.kind == kind]


def test_blue_green_is_promoted_thanks_to_the_load_tester() -> None:
    results = meshsim.simulate(meshsim.load(BLUEGREEN))
    assert len(canary_events(results, "canary-promoted")) == 1
    assert canary_events(results, "canary-rolled-back").empty
    attempts = results.attempts
    on_canary = attempts[(attempts.service == "podinfo") & (attempts.subset == "canary")]
    before = on_canary[on_canary.start < 70.0]  # 70 s: the last iteration routes users over
    # until then every canary request is the load tester's: 2 workers × 10/s from 30 s
    assert set(before.caller) == {"flagger-loadtester-0", "flagger-loadtester-1"}
    assert len(before) == 800
    requests = results.requests
    assert requests[requests.workload == "flagger-loadtester"].ok.all()


def test_without_the_load_tester_no_values_roll_it_back() -> None:
    text = BLUEGREEN.read_text()
    cut = text[: text.index("    webhooks:")]
    results = meshsim.simulate(load_scenario_text(cut, BLUEGREEN.parent, "no-tester.yaml"))
    (rollback,) = canary_events(results, "canary-rolled-back").itertuples()
    assert rollback.time == 50.0  # checks at 30 and 40 s find no values; threshold 2
    checks = canary_events(results, "canary-check")
    assert checks.detail.str.contains("value=none").all()


GATEWAY = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: gateway-canary}
spec:
  mesh: istio
  duration: 40s
  warmup: 5s
  rollout: {start: 5s}
  services:
    podinfo:
      namespace: test
      concurrency: 32
      latency: exponential(5ms)
      versions: {primary: {replicas: 2}, canary: {replicas: 1}}
  workload:
    - {name: internet, target: app.example.com, rate: 200/s, clients: 4}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: public-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 80, name: http, protocol: HTTP}
      hosts: ["*.example.com"]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service:
    port: 9898
    gateways: [public-gateway.istio-system.svc.cluster.local]
    hosts: [app.example.com]
  analysis:
    interval: 10s
    stepWeight: 20
    maxWeight: 40
    metrics:
      - {name: request-success-rate, thresholdRange: {min: 99}, interval: 10s}
"""


def test_gateway_traffic_gets_the_canary_weight(tmp_path: Path) -> None:
    results = meshsim.simulate(load_scenario_text(GATEWAY, tmp_path, "gw.yaml"))
    weights = canary_events(results, "canary-weight")
    assert list(weights.time) == [15.0, 25.0]  # 20 % at 15 s, 40 % at 25 s
    attempts = results.attempts
    via_gateway = attempts[(attempts.caller == "public-gateway-0")
                           & (attempts.service == "podinfo")]
    for (start, end), weight in (((5.0, 15.0), 0.0), ((15.0, 25.0), 0.2), ((25.0, 35.0), 0.4)):
        window = via_gateway[(via_gateway.start >= start) & (via_gateway.start < end)]
        share = (window.subset == "canary").mean()
        # ~2000 requests per window: binomial sd ≤ 0.011, tolerance 0.05 (> 4 sd)
        assert len(window) > 1500
        assert abs(share - weight) < 0.05, (start, share)
