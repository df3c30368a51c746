"""A hand-built model and recording with known values, shared by the results tests.

The recording is written through the real ``Recorder`` (the engine's own hot-path API), so
the tests exercise the same columns and codes the engine produces.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rollout_runs import Run, rolled_back_run

from meshsim.metrics import Recorder, Recording
from meshsim.model import (
    Constant,
    Contention,
    Deployment,
    Expectation,
    MeshProfile,
    Model,
    RateStep,
    Service,
    Topology,
    Workload,
)
from meshsim.results import Results

DURATION = 10.0
WARMUP = 2.0


def _deployment(service: str, version: str | None, replicas: int = 1) -> Deployment:
    return Deployment(
        service=service, version=version, replicas=replicas, concurrency=4, queue=None,
        latency=Constant(0.01), errors=0.0, contention=Contention(), calls=(),
    )


def make_model(
    expectations: tuple[Expectation, ...] = (), *, record_attempts: bool = True,
    duration: float = DURATION, warmup: float = WARMUP,
) -> Model:
    """frontend (no versions), reviews (v1, v2), ratings (never called); workloads users
    (2 clients) and admins (1 client), both calling frontend."""
    services = {
        "frontend": Service("frontend", "default", (_deployment("frontend", None, 2),)),
        "reviews": Service(
            "reviews", "default", (_deployment("reviews", "v1"), _deployment("reviews", "v2"))
        ),
        "ratings": Service("ratings", "default", (_deployment("ratings", None),)),
    }
    return Model(
        name="unit", mesh=MeshProfile("istio"), duration=duration, warmup=warmup, seed=7,
        topology=Topology(services=services, network_latency=0.0005, proxy_overhead=0.0003),
        workloads=(
            Workload("users", "frontend", (RateStep(0.0, 1.0),), clients=2),
            Workload("admins", "frontend", (RateStep(0.0, 0.1),), clients=1),
        ),
        expectations=expectations, record_attempts=record_attempts,
    )


class Book:
    """Writes rows through a Recorder by name instead of code."""

    def __init__(self, record_attempts: bool = True) -> None:
        self.rec = Recorder(record_attempts=record_attempts)
        self.i = self.rec.intern
        self.clients: dict[int, int] = {}

    def request(self, rid: int, start: float, end: float, status: int, flags: str = "",
                attempts: int = 1, client: str = "users-0") -> None:
        """A workload request: the depth-0 call its client proxy makes to frontend."""
        self.clients[self.i(client)] = self.i(client.rsplit("-", 1)[0])
        self.call(rid, rid, client, "frontend", "", start, end, status, flags, attempts)

    def call(self, cid: int, rid: int, caller: str, service: str, subset: str, start: float,
             end: float, status: int, flags: str = "", attempts: int = 1,
             depth: int = 0) -> None:
        self.rec.call(cid, rid, self.i(caller), self.i(service), self.i(subset), start, end,
                      status, self.i(flags), attempts, depth)

    def attempt(self, rid: int, cid: int, caller: str, service: str, subset: str, pod: str,
                n: int, start: float, end: float, status: int, flags: str = "",
                mirror: bool = False) -> None:
        self.rec.attempt(rid, cid, self.i(caller), self.i(service), self.i(subset),
                         self.i(pod), n, start, end, status, self.i(flags), n > 1, mirror)

    def finish(self, end: float = DURATION) -> Recording:
        return self.rec.finish(end, {"events": 1234, "sim_time": end}, self.clients)


def standard_book(record_attempts: bool = True) -> Book:
    """The standard run (warm-up 2 s, duration 10 s). Values the tests rely on:

    requests (depth-0 calls to frontend), id @start-end status [flags, attempts] client:
        1 @1.0-1.1 200 users-0 (warm-up) | 2 @2.0-2.2 200 users-1 |
        3 @3.0-3.5 503 URX 3 attempts users-0 | 4 @4.0-6.0 status 0 (gave up) users-1 |
        5 @5.0-5.3 404 users-0 | 11 @6.0-6.1 500 admins-0
    reviews calls: 6 v1 @2.05-2.15 200 | 7 v2 @3.05-3.45 503 URX 3 attempts |
        8 v2 @6.0 503 UO | 9 v1 @1.5 503 UO (warm-up) | 10 v1 @7.0-7.5 504 UT
    events: eject reviews/v1 @1.0 (warm-up), fault reviews 3.0-5.0, eject reviews/v2 @6.5
        by frontend-0, eject frontend-1 @6.6 by users-0, uneject reviews/v2 @8.0.
    levels: in_flight frontend 2 over [0.5, 1.5); queue_depth reviews/v1 1 over [2, 3),
        reviews/v2 4 over [2.5, 3).
    """
    b = Book(record_attempts)
    reqs = [  # rid, start, end, status, flags, attempts, client
        (1, 1.0, 1.1, 200, "", 1, "users-0"),
        (2, 2.0, 2.2, 200, "", 1, "users-1"),
        (3, 3.0, 3.5, 503, "URX", 3, "users-0"),
        (4, 4.0, 6.0, 0, "", 1, "users-1"),
        (5, 5.0, 5.3, 404, "", 1, "users-0"),
        (11, 6.0, 6.1, 500, "", 1, "admins-0"),
    ]
    for rid, start, end, status, flags, attempts, client in reqs:
        b.request(rid, start, end, status, flags, attempts, client)
        if rid == 3:
            b.attempt(3, 3, client, "frontend", "", "frontend-0", 1, 3.0, 3.1, 503)
            b.attempt(3, 3, client, "frontend", "", "frontend-1", 2, 3.1, 3.3, 503)
            b.attempt(3, 3, client, "frontend", "", "frontend-0", 3, 3.3, 3.5, 503, "URX")
        else:
            b.attempt(rid, rid, client, "frontend", "", "frontend-0", 1, start, end, status,
                      flags)
    b.call(6, 2, "frontend-0", "reviews", "v1", 2.05, 2.15, 200, depth=1)
    b.attempt(2, 6, "frontend-0", "reviews", "v1", "reviews-v1-0", 1, 2.05, 2.15, 200)
    b.call(7, 3, "frontend-0", "reviews", "v2", 3.05, 3.45, 503, "URX", 3, depth=1)
    for n, (s, e) in enumerate([(3.05, 3.15), (3.15, 3.3), (3.3, 3.45)], start=1):
        b.attempt(3, 7, "frontend-0", "reviews", "v2", "reviews-v2-0", n, s, e, 503,
                  "URX" if n == 3 else "")
    b.call(8, 5, "frontend-1", "reviews", "v2", 6.0, 6.001, 503, "UO", depth=1)
    b.attempt(5, 8, "frontend-1", "reviews", "v2", "", 1, 6.0, 6.001, 503, "UO")
    b.call(9, 1, "frontend-1", "reviews", "v1", 1.5, 1.501, 503, "UO", depth=1)
    b.attempt(1, 9, "frontend-1", "reviews", "v1", "", 1, 1.5, 1.501, 503, "UO")
    b.call(10, 5, "frontend-1", "reviews", "v1", 7.0, 7.5, 504, "UT", depth=1)
    b.attempt(5, 10, "frontend-1", "reviews", "v1", "reviews-v1-0", 1, 7.0, 7.5, 504, "UT")

    b.rec.event(1.0, "eject", proxy="frontend-1", service="reviews", subset="v1",
                pod="reviews-v1-0", detail="consecutive_5xx")
    b.rec.event(3.0, "fault-start", service="reviews", detail="latency x10")
    b.rec.event(5.0, "fault-end", service="reviews", detail="latency x10")
    b.rec.event(6.5, "eject", proxy="frontend-0", service="reviews", subset="v2",
                pod="reviews-v2-0", detail="consecutive_5xx")
    b.rec.event(6.6, "eject", proxy="users-0", service="frontend", pod="frontend-1",
                detail="consecutive_5xx")
    b.rec.event(8.0, "uneject", proxy="frontend-0", service="reviews", subset="v2",
                pod="reviews-v2-0", detail="consecutive_5xx")

    inflight = b.rec.level("in_flight", "frontend", "")
    inflight.change(0.5, +2)
    inflight.change(1.5, -2)
    v1 = b.rec.level("queue_depth", "reviews", "v1")
    v1.change(2.0, +1)
    v1.change(3.0, -1)
    v2 = b.rec.level("queue_depth", "reviews", "v2")
    v2.change(2.5, +4)
    v2.change(3.0, -4)
    return b


@pytest.fixture
def standard_results() -> Callable[..., Results]:
    """Results of the standard run, for a given set of expectations."""

    def build(expectations: tuple[Expectation, ...] = ()) -> Results:
        return Results(
            make_model(expectations), standard_book().finish(), wall_time=0.5,
            scenario_meta={"name": "unit-scenario", "hash": "abc123"},
        )

    return build


@pytest.fixture
def results(standard_results: Callable[..., Results]) -> Results:
    return standard_results()


@pytest.fixture
def empty_results() -> Results:
    return Results(make_model(), Book().finish(), wall_time=0.0, scenario_meta={})


@pytest.fixture
def model_factory() -> Callable[..., Model]:
    return make_model


@pytest.fixture
def book_factory() -> Callable[..., Book]:
    return Book


@pytest.fixture
def standard() -> Callable[..., Book]:
    """The standard run's rows, to extend or finish."""
    return standard_book


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Path]:
    """The standard run with one passing and one failing SLO, saved once per module."""
    exps = (Expectation("success_rate", "frontend", min=0.3),
            Expectation("success_rate", "ratings", min=0.9))
    results = Results(make_model(exps), standard_book().finish(), wall_time=0.5,
                      scenario_meta={"name": "unit-scenario", "hash": "abc123"})
    return results, results.save(tmp_path_factory.mktemp("run") / "nested" / "dir")


@pytest.fixture
def rolled_back() -> Results:
    """The synthetic Flagger run of helpers/rollout_runs.py, which rolls back."""
    return rolled_back_run().results()


@pytest.fixture
def run_factory() -> Callable[[], Run]:
    return Run
