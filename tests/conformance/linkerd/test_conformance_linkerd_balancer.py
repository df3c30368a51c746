"""Peak-EWMA, P2C, the balancer queue/failfast and failure accrual (reference/linkerd.md
§4, §5, C8–C12).

Sources: tower-rs/tower tower/src/load/peak_ewma.rs (default_decay, compound_decay);
linkerd2-proxy linkerd/pool/p2c/src/lib.rs (gen_pair), linkerd/proxy/balance/queue/src/tests.rs
(failfast, failfast_interrupted, limits_request_capacity),
linkerd/app/outbound/src/http/breaker/consecutive_failures.rs (transitions),
linkerd/app/outbound/src/http/logical/tests/failure_accrual.rs (consecutive_failures_accrue,
balancer_doesnt_select_tripped_breakers), linkerd/exp-backoff/src/lib.rs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshsim.sim.linkerd import (
    P2C,
    BalancerQueue,
    ConsecutiveFailures,
    ExponentialBackoff,
    PeakEwma,
    is_failure,
)
from meshsim.sim.linkerd.backoff import ACCRUAL_BACKOFF, RETRY_BACKOFF
from meshsim.sim.linkerd.ewma import gen_pair
from meshsim.sim.linkerd.queue import FAIL_FAST_STATUS, LOAD_SHED_STATUS

MS = 1_000_000.0  # nanoseconds per millisecond, tower's NANOS_PER_MILLI


class Seq:
    """Returns the given floats in order, then ``repeat``."""

    def __init__(self, *values: float, repeat: float = 0.0) -> None:
        self.values = list(values)
        self.repeat = repeat

    def __call__(self) -> float:
        return self.values.pop(0) if self.values else self.repeat


# -- C12 -----------------------------------------------------------------------------------------


def test_c12_default_decay() -> None:
    ewma = PeakEwma(0.010, 1.0)
    assert ewma.load_ns(0.0) == 10.0 * MS
    assert 9.0 * MS < ewma.load_ns(0.1) < 10.0 * MS
    assert 8.0 * MS < ewma.load_ns(0.2) < 9.0 * MS


def test_c12_compound_decay() -> None:
    ewma = PeakEwma(0.020, 1.0)
    assert ewma.load_ns(0.0) == 20.0 * MS
    a = ewma.start(0.1)
    assert ewma.load_ns(0.1) > 20.0 * MS
    b = ewma.start(0.2)
    assert ewma.load_ns(0.2) > 40.0 * MS
    ewma.finish(0.3, 0.3 - a)
    assert ewma.load_ns(0.3) == 400_000_000.0
    ewma.finish(0.4, 0.4 - b)
    assert ewma.load_ns(0.4) == 200_000_000.0
    assert ewma.load_ns(1.4) < 100_000_000.0
    assert ewma.load_ns(11.4) < 100_000.0
    assert ewma.cost(11.4) < 0.0001


def test_linkerd_default_estimate_decays_toward_zero_when_read() -> None:
    ewma = PeakEwma()  # 30 ms, 10 s
    assert ewma.cost(0.0) == pytest.approx(0.030)
    assert ewma.cost(1.0) == pytest.approx(0.030 * math.exp(-0.1))  # ≈ 27.1 ms
    assert ewma.cost(10.0) == pytest.approx(0.030 * math.exp(-1.0))  # ≈ 11.0 ms


def test_read_frequency_changes_how_much_a_low_sample_counts() -> None:
    """A below-estimate sample is weighted by 1 - exp(-Δt/decay) since the last *touch*."""
    read, unread = PeakEwma(0.100, 10.0), PeakEwma(0.100, 10.0)
    read.start(0.0)
    unread.start(0.0)
    for i in range(1, 100):
        read.load_ns(i * 0.01)
    read.finish(1.0, 0.080)
    unread.finish(1.0, 0.080)
    d = math.exp(-0.001)
    assert read.estimate() == pytest.approx(0.1 * math.exp(-0.099) * d + 0.080 * (1 - d))
    d = math.exp(-0.1)
    assert unread.estimate() == pytest.approx(0.1 * d + 0.080 * (1 - d))
    assert read.estimate() < unread.estimate() - 0.007


# -- P2C -----------------------------------------------------------------------------------------


@given(n=st.integers(2, 50), a=st.floats(0, 0.999999), b=st.floats(0, 0.999999))
def test_gen_pair_distinct_and_in_range(n: int, a: float, b: float) -> None:
    i, j = gen_pair(Seq(a, b), n)
    assert i != j and 0 <= i < n and 0 <= j < n


def test_p2c_picks_lower_cost_ties_to_first_draw() -> None:
    loads = {"a": 2.0, "b": 1.0, "c": 1.0}
    reads: list[str] = []

    def load(h: str) -> float:
        reads.append(h)
        return loads[h]

    p2c = P2C(Seq(0.0, 0.0))  # a=0 ("a"), b=0 → shifted to 1 ("b")
    assert p2c.pick(["a", "b", "c"], load) == "b"
    assert reads == ["a", "b"]
    p2c = P2C(Seq(0.5, 0.99))  # a=1 ("b"), b=1 → 2 ("c"): tie → first draw
    assert p2c.pick(["a", "b", "c"], load) == "b"


def test_p2c_single_ready_endpoint_reads_no_load() -> None:
    def load(h: str) -> float:
        raise AssertionError("no load read with one ready endpoint")

    assert P2C(Seq()).pick(["only"], load) == "only"
    assert P2C(Seq()).pick([], load) is None


# -- C11 -----------------------------------------------------------------------------------------


class Pool:
    """The engine side of the queue: ``ready`` endpoints, and what got dispatched."""

    def __init__(self) -> None:
        self.allow = 0
        self.sent: list[str] = []

    def dispatch(self, req: str) -> bool:
        if self.allow <= 0:
            return False
        self.allow -= 1
        self.sent.append(req)
        return True


def test_c11_failfast() -> None:
    q: BalancerQueue[str] = BalancerQueue(capacity=10, failfast=1.0)
    pool = Pool()
    assert q.ready()
    q.enqueue("r1", 0.0)
    assert q.step(0.0, pool.dispatch) == []
    assert q.next_deadline() == 1.0
    assert q.step(0.999, pool.dispatch) == []
    (res,) = q.step(1.0, pool.dispatch)
    assert (res.request, res.outcome, res.time) == ("r1", "fail_fast", 1.0)
    assert not q.ready()  # gate shut for the following second, and beyond
    assert q.step(2.0, pool.dispatch) == [] and not q.ready()
    pool.allow = 1
    q.endpoint_ready(2.0)  # readiness, not elapsed time, ends failfast
    assert q.ready()
    q.enqueue("r2", 3.0)
    (res,) = q.step(3.0, pool.dispatch)
    assert res.outcome == "dispatched" and pool.sent == ["r2"]
    assert q.ready()


def test_c11_failfast_interrupted() -> None:
    q: BalancerQueue[str] = BalancerQueue(capacity=10, failfast=1.0)
    pool = Pool()
    q.enqueue("r1", 0.0)
    assert q.step(0.0, pool.dispatch) == []
    pool.allow = 1
    (res,) = q.step(0.5, pool.dispatch)
    assert res.outcome == "dispatched" and res.time == 0.5
    assert q.ready() and q.state == "idle"


def test_c11_limits_request_capacity() -> None:
    q: BalancerQueue[str] = BalancerQueue(capacity=1, failfast=1.0)
    q.enqueue("r1", 0.0)
    assert not q.ready()  # every clone of the queue sees it full
    with pytest.raises(RuntimeError):
        q.enqueue("r2", 0.0)
    # Once the worker holds r1 the channel has room again: capacity + 1 in total (upstream).
    q.step(0.0, Pool().dispatch)
    assert q.ready() and len(q) == 1


def test_requests_dequeued_in_failfast_fail_at_once() -> None:
    q: BalancerQueue[str] = BalancerQueue(capacity=10, failfast=3.0)
    pool = Pool()
    for r in ("a", "b", "c"):
        q.enqueue(r, 0.0)
    assert q.step(0.0, pool.dispatch) == []
    out = q.step(3.0, pool.dispatch)
    assert [(x.request, x.outcome, x.time) for x in out] == [
        ("a", "fail_fast", 3.0),
        ("b", "fail_fast", 3.0),
        ("c", "fail_fast", 3.0),
    ]
    assert FAIL_FAST_STATUS == 504 and LOAD_SHED_STATUS == 503


# -- backoff (§2.2, §5.2) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "low", "high"),
    [(0, 0.025, 0.050), (1, 0.050, 0.100), (2, 0.100, 0.200), (3, 0.200, 0.250), (4, 0.25, 0.25)],
)
def test_retry_backoff_ranges(n: int, low: float, high: float) -> None:
    assert RETRY_BACKOFF.delay(n, lambda: 0.0) == pytest.approx(low)
    assert low <= RETRY_BACKOFF.delay(n, lambda: 0.999999) <= high + 1e-12


def test_accrual_backoff_jitter_is_truncated_per_whole_second() -> None:
    """exp-backoff jitters seconds and sub-second nanos separately, truncating each: a whole
    second base with ratio 0.5 gets jitter only in whole seconds (none for 1 s or 2 s)."""
    hi = 0.999999
    assert [ACCRUAL_BACKOFF.delay(k, lambda: hi) for k in range(7)] == [
        1.0,
        2.0,
        5.0,  # 4 × 0.4999995 = 1.99 → 1 s
        11.0,  # 8 × 0.4999995 = 3.99 → 3 s
        23.0,
        47.0,
        60.0,
    ]
    assert ACCRUAL_BACKOFF.delay(2, lambda: 0.1) == 4.0


def test_backoff_validation() -> None:
    with pytest.raises(ValueError):
        ExponentialBackoff(2.0, 1.0, 0.0)
    with pytest.raises(ValueError):
        ExponentialBackoff(0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        ExponentialBackoff(1.0, 2.0, 101.0)


# -- C8 (accrual defaults) / C9 unit twin ---------------------------------------------------------


def test_c8_consecutive_defaults() -> None:
    br = ConsecutiveFailures(rand=Seq())
    assert br.max_failures == 7
    assert (br.backoff.min, br.backoff.max, br.backoff.jitter) == (1.0, 60.0, 0.5)


def test_failure_classification() -> None:
    assert is_failure(500) and is_failure(503) and is_failure(None)
    assert not is_failure(429) and not is_failure(404) and not is_failure(200)
    assert is_failure(200, grpc_status=2)  # UNKNOWN is in the code's set
    assert not is_failure(200, grpc_status=8)  # RESOURCE_EXHAUSTED is not


def test_c9_transitions_unit_twin() -> None:
    br = ConsecutiveFailures(2, ExponentialBackoff(1.0, 100.0, 0.0), rand=Seq())
    br.on_response(0.0, True)
    assert br.ready(0.0)
    br.on_response(0.0, True)
    assert not br.ready(0.0)
    assert not br.ready(0.5)
    assert br.ready(1.0) and br.state == "probation" and br.permits == 1
    br.acquire(1.0)
    assert br.permits == 0 and not br.ready(1.0)  # exactly one probe
    br.on_response(1.0, True)  # probe fails: ejected for 2 s
    assert not br.ready(2.0)
    br.on_response(2.0, False)  # straggler while ejected: ignored
    assert br.state == "ejected"
    assert br.ready(3.0) and br.permits == 1
    br.acquire(3.0)
    br.on_response(3.0, False)
    assert br.state == "admitting" and br.ready(3.0)


def test_backoff_resets_after_success() -> None:
    br = ConsecutiveFailures(1, ExponentialBackoff(1.0, 100.0, 0.0), rand=Seq())
    br.on_response(0.0, True)
    assert br.next_deadline() == 1.0
    br.acquire(1.0)
    br.on_response(1.0, True)
    assert br.next_deadline() == 3.0  # 2 s
    br.acquire(3.0)
    br.on_response(3.0, False)
    br.on_response(3.0, True)  # a fresh ejection starts from min again
    assert br.next_deadline() == 4.0


def test_429_never_trips() -> None:
    br = ConsecutiveFailures(rand=Seq())
    for _ in range(50):
        br.on_response(0.0, is_failure(429))
    assert br.state == "admitting"


# -- C9 / C10 end to end -------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    breaker: ConsecutiveFailures
    ewma: PeakEwma = field(default_factory=PeakEwma)


class Backend:
    """One backend: queue + P2C over endpoints whose breaker is ready (a test-sized engine)."""

    def __init__(self, endpoints: list[Endpoint], rand: random.Random, failfast: float) -> None:
        self.endpoints = endpoints
        self.queue: BalancerQueue[int] = BalancerQueue(failfast=failfast)
        self.p2c = P2C(rand.random)
        self.now = 0.0
        self.picked: dict[int, Endpoint] = {}

    def _dispatch(self, req: int) -> bool:
        ready = [e for e in self.endpoints if e.breaker.ready(self.now)]
        ep = self.p2c.pick(ready, lambda e: e.ewma.load_ns(self.now))
        if ep is None:
            return False
        ep.breaker.acquire(self.now)
        ep.ewma.start(self.now)
        self.picked[req] = ep
        return True

    def advance(self, now: float) -> None:
        self.now = now
        for e in self.endpoints:
            was = e.breaker.state
            e.breaker.advance(now)
            if was == "ejected" and e.breaker.ready(now):
                self.queue.endpoint_ready(now)

    def send(self, req: int, at: float, status_of: dict[str, int]) -> tuple[int | str, float]:
        """Returns (status or error, time it completed); responses are instantaneous."""
        self.advance(at)
        if not self.queue.ready():  # a shut gate or a full queue sheds (BackendPool.send)
            return "load_shed", at
        self.queue.enqueue(req, at)
        t = at
        while True:
            for res in self.queue.step(t, self._dispatch):
                if res.request == req and res.outcome == "fail_fast":
                    return "fail_fast", res.time
                if res.request == req:
                    ep = self.picked[req]
                    status = status_of[ep.name]
                    ep.ewma.finish(t, 0.0)
                    ep.breaker.on_response(t, is_failure(status))
                    return status, t
            deadline = self.queue.next_deadline()
            assert deadline is not None
            t = deadline
            self.advance(t)


def test_c9_consecutive_failures_accrue() -> None:
    ep = Endpoint("ep", ConsecutiveFailures(3, ExponentialBackoff(4.0, 24.0, 0.0), rand=Seq()))
    be = Backend([ep], random.Random(1), failfast=3.0)
    assert be.send(1, 0.0, {"ep": 200}) == (200, 0.0)
    for i in range(3):
        assert be.send(2 + i, 0.0, {"ep": 500}) == (500, 0.0)
    assert be.send(5, 0.0, {"ep": 200}) == ("fail_fast", 3.0)  # waits the failfast timeout
    assert be.send(6, 3.0, {"ep": 200}) == ("load_shed", 3.0)  # gate shut: 503 at once
    assert be.send(7, 4.0, {"ep": 500}) == (500, 4.0)  # probation at trip + 4 s; probe fails
    assert ep.breaker.next_deadline() == 12.0  # re-ejected for 8 s
    assert be.send(8, 4.0, {"ep": 200}) == ("fail_fast", 7.0)
    assert be.send(9, 12.0, {"ep": 200}) == (200, 12.0)  # probe succeeds
    assert be.send(10, 12.0, {"ep": 200}) == (200, 12.0)
    assert ep.breaker.state == "admitting"


@pytest.mark.parametrize("seed", range(20))
def test_c10_balancer_doesnt_select_tripped_breakers(seed: int) -> None:
    def breaker() -> ConsecutiveFailures:
        return ConsecutiveFailures(3, ExponentialBackoff(4.0, 24.0, 0.0), rand=Seq())

    ep1, ep2 = Endpoint("ep1", breaker()), Endpoint("ep2", breaker())
    be = Backend([ep1, ep2], random.Random(seed), failfast=3.0)
    statuses = {"ep1": 200, "ep2": 500}
    req = 0
    while ep2.breaker.state == "admitting":
        req += 1
        be.send(req, 0.0, statuses)
    for _ in range(9):
        req += 1
        assert be.send(req, 0.0, statuses) == (200, 0.0)
        assert be.picked[req] is ep1
