"""Linkerd reads the status a service really sent: ServiceProfile ``responseClasses`` decide
what is a failure, ``isRetryable`` routes retry only failures, and 4xx are successes by default
(linkerd/app/core/src/classify.rs; reference/linkerd.md §1.3).

Profile retries have no attempt cap, only a budget; with a budget far above the retries made
here, attempts per request follow the untruncated geometric law, mean 1 / (1 − q). Tolerance:
4.5 standard errors, from the law's variance q / (1 − q)².
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from meshsim.api import simulate
from meshsim.config import load_scenario_text

Z = 4.5
RATE = 0.3

SCENARIO = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  mesh: linkerd
  duration: 20s
  seed: 9
  services:
    api:
      replicas: 3
      concurrency: 64
      latency: constant(5ms)
      errors: {{rate: {rate}, status: {{429: 1, 500: 1}}}}
  workload:
    - {{name: users, target: api, rate: 400/s, clients: 2, request: {{path: /items}}}}
---
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {{name: api.default.svc.cluster.local, namespace: default}}
spec:
  routes:
    - name: GET /items
      condition: {{method: GET, pathRegex: /items}}
      isRetryable: true
{classes}
  retryBudget: {{retryRatio: 10.0, minRetriesPerSecond: 10000, ttl: 10s}}
"""

CLASS_429 = """\
      responseClasses:
        - condition: {status: {min: 429, max: 429}}
          isFailure: true"""


@pytest.mark.parametrize(("classes", "share"), [("", 0.5), (CLASS_429, 1.0)])
def test_response_classes_decide_what_is_retried(
    tmp_path: Path, classes: str, share: float
) -> None:
    text = SCENARIO.format(rate=RATE, classes=classes)
    res = simulate(load_scenario_text(text, tmp_path, "scenario.yaml"))
    per_request = res.attempts.groupby("request_id", observed=True).size()
    q = RATE * share
    mean, var = 1.0 / (1.0 - q), q / (1.0 - q) ** 2
    n = len(per_request)
    assert n > 5000
    assert abs(per_request.mean() - mean) <= Z * math.sqrt(var / n), (per_request.mean(), mean)
