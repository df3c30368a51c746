"""The client breaker on resilience4j's count-based rules (CircuitBreakerStateMachine)."""

from __future__ import annotations

from meshsim.model import ClientBreaker
from meshsim.sim.client.breaker import CLOSED, HALF_OPEN, OPEN, CountBreaker


def breaker(**kw: float) -> CountBreaker:
    config = dict(failure_rate=50.0, window=10, minimum_calls=4, open_wait=5.0,
                  half_open_calls=3)
    config.update(kw)
    return CountBreaker(ClientBreaker(**config))  # type: ignore[arg-type]


def test_it_waits_for_the_minimum_number_of_calls() -> None:
    cb = breaker()
    for _ in range(3):
        cb.record(True, 0.0)
    assert cb.state == CLOSED  # 3 failures of 3 but below minimumNumberOfCalls
    cb.record(True, 0.0)
    assert cb.state == OPEN


def test_the_threshold_is_inclusive_over_the_sliding_window() -> None:
    cb = breaker(minimum_calls=10)
    for failed in [True] + [False] * 6 + [True] * 3:
        cb.record(failed, 0.0)
    assert cb.state == CLOSED  # 4 of 10 = 40 %
    cb.record(True, 0.0)  # the window slides: the oldest failure leaves, 4 of 10 still
    assert cb.state == CLOSED
    cb.record(True, 0.0)  # a success leaves: 5 of 10 = 50 % >= 50 %
    assert cb.state == OPEN


def test_minimum_above_the_window_is_the_window() -> None:
    cb = breaker(window=4, minimum_calls=100)
    for _ in range(4):
        cb.record(True, 0.0)
    assert cb.state == OPEN


def test_open_rejects_until_the_wait_is_over_then_half_opens() -> None:
    cb = breaker()
    for _ in range(4):
        cb.record(True, 1.0)
    assert not cb.permit(5.9)
    assert cb.rejected == 1
    assert cb.permit(6.0)
    assert cb.state == HALF_OPEN
    assert cb.permit(6.0) and cb.permit(6.0)
    assert not cb.permit(6.0)  # only permittedNumberOfCallsInHalfOpenState


def test_half_open_closes_below_the_threshold() -> None:
    cb = breaker()
    for _ in range(4):
        cb.record(True, 0.0)
    cb.permit(10.0)
    for failed in (False, True, False):
        cb.record(failed, 10.0)
    assert cb.state == CLOSED
    assert len(cb.outcomes) == 0  # a fresh window
    assert [s for _, s in cb.transitions] == [OPEN, HALF_OPEN, CLOSED]


def test_half_open_reopens_at_the_threshold() -> None:
    cb = breaker(half_open_calls=2)
    for _ in range(4):
        cb.record(True, 0.0)
    cb.permit(10.0)
    cb.record(False, 10.0)
    assert cb.state == HALF_OPEN
    cb.record(True, 10.5)  # 1 of 2 = 50 %
    assert cb.state == OPEN
    assert cb.opened_at == 10.5
    assert not cb.permit(15.0) and cb.permit(15.5)


def test_outcomes_while_open_change_nothing() -> None:
    cb = breaker()
    for _ in range(4):
        cb.record(True, 0.0)
    for _ in range(20):
        cb.record(False, 1.0)
    assert cb.state == OPEN and not cb.permit(2.0)
