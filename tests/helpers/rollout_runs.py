"""A synthetic canary run written through the real ``Recorder``, with known answers.

Model: ``frontend`` (workload entry) calls ``api``, which has versions ``primary`` and
``canary``. A Flagger loop (interval 10 s, threshold 2, checks request-success-rate then
request-duration; events as the engine writes them: ``key=value`` details): tick 0 (10 s)
detects the revision and moves no traffic, tick 1 (20 s) sets 10 % without a check, tick 2
(30 s) passes both checks (→ 20 %), tick 3 (40 s) fails the success rate (failed checks 1; the
failure halts the tick, request-duration is not run), tick 4 (50 s) finds no values (failed
checks 2), tick 5 (60 s) reaches the threshold and rolls back: weight 0, then the rollback.

requests (frontend, depth 0) and their api call (depth 1):
    1 @5   primary 200                     (before the rollout)
    2 @15  canary 200                      exposed, not hurt
    3 @25  canary 500 → request 500        exposed and hurt
    4 @35  canary 500, request retried ok  exposed, canary failure, not hurt
    5 @45  primary 500 → request 500       hurt, but not by the canary
    6 @45  primary 200 + mirrored copy to canary 500 → request ok: a mirror hurts nobody
    7 @65  canary 500 → request 500        after the rollback: outside the window
"""

from __future__ import annotations

from meshsim.metrics import Recorder, Recording
from meshsim.metrics.details import encode
from meshsim.model import (
    Constant,
    Contention,
    Deployment,
    MeshProfile,
    Model,
    RateStep,
    Service,
    Topology,
    Workload,
)
from meshsim.results import Results

DURATION = 90.0


def _deployment(service: str, version: str | None) -> Deployment:
    return Deployment(
        service=service, version=version, replicas=1, concurrency=4, queue=None,
        latency=Constant(0.01), errors=0.0, contention=Contention(), calls=(),
    )


def make_model() -> Model:
    services = {
        "frontend": Service("frontend", "default", (_deployment("frontend", None),)),
        "api": Service("api", "default", (_deployment("api", "primary"),
                                          _deployment("api", "canary"))),
    }
    return Model(
        name="synthetic-canary", mesh=MeshProfile("istio"), duration=DURATION, warmup=0.0,
        seed=3, topology=Topology(services=services, network_latency=0.0, proxy_overhead=0.0),
        workloads=(Workload("users", "frontend", (RateStep(0.0, 1.0),), clients=1),),
    )


class Run:
    """Writes requests, hop calls and canary events by name."""

    def __init__(self) -> None:
        self.rec = Recorder()
        self.i = self.rec.intern
        self.clients = {self.i("users-0"): self.i("users")}
        self.next_call = 1000

    def request(self, rid: int, start: float, status: int, api_subset: str, api_status: int,
                *, attempts: int = 1, mirror_status: int | None = None) -> None:
        end = start + 0.1
        self.rec.call(rid, rid, self.i("users-0"), self.i("frontend"), self.i(""), start, end,
                      status, self.i(""), 1, 0)
        self._api(rid, api_subset, start, api_status, attempts, mirror=False)
        if mirror_status is not None:
            self._api(rid, "canary", start, mirror_status, 1, mirror=True)

    def _api(self, rid: int, subset: str, start: float, status: int, attempts: int, *,
             mirror: bool) -> None:
        self.next_call += 1
        self.rec.call(self.next_call, rid, self.i("frontend-0"), self.i("api"), self.i(subset),
                      start + 0.01, start + 0.05, status, self.i(""), attempts, 1, mirror)

    def event(self, time: float, kind: str, **fields: object) -> None:
        self.rec.event(time, kind, proxy="flagger", service="api", subset="canary",
                       detail=encode(**fields))

    def results(self, end: float = DURATION) -> Results:
        recording: Recording = self.rec.finish(end, {"events": 1, "sim_time": end},
                                               self.clients)
        return Results(make_model(), recording, scenario_meta={"name": "synthetic-canary"})


def rolled_back_run() -> Run:
    run = Run()
    run.request(1, 5.0, 200, "primary", 200)
    run.request(2, 15.0, 200, "canary", 200)
    run.request(3, 25.0, 500, "canary", 500)
    run.request(4, 35.0, 200, "canary", 500, attempts=2)
    run.request(5, 45.0, 500, "primary", 500)
    run.request(6, 45.5, 200, "primary", 200, mirror_status=500)
    run.request(7, 65.0, 500, "canary", 500)
    common = {"controller": "flagger", "rollout": "api"}
    check = {**common, "threshold": 2}
    run.event(10.0, "canary-start", **common, strategy="canary", interval=10, threshold=2)
    run.event(20.0, "canary-weight", **common, weight=10, step=1, phase="Progressing",
              mirror="false")
    run.event(30.0, "canary-check", **check, metric="request-success-rate", value=100.0,
              min=99, passed="true", failed_checks=0, step=2)
    run.event(30.0, "canary-check", **check, metric="request-duration", value=12.0,
              max=500, passed="true", failed_checks=0, step=2)
    run.event(30.0, "canary-weight", **common, weight=20, step=2, phase="Progressing",
              mirror="false")
    run.event(40.0, "canary-check", **check, metric="request-success-rate", value=50.0,
              min=99, passed="false", failed_checks=1, step=3)
    run.event(50.0, "canary-check", **check, metric="request-success-rate", value="none",
              min=99, passed="false", failed_checks=2, step=4)
    run.event(60.0, "canary-weight", **common, weight=0, step=5, phase="Failed",
              mirror="false")
    run.event(60.0, "canary-rolled-back", **common, weight=20, failed_checks=2,
              reason="threshold", step=5)
    return run

