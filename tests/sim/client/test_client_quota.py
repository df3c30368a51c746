"""The AWS SDKs' standard-mode retry quota: 500 tokens, 5 a retry, 10 after a timeout."""

from __future__ import annotations

from meshsim.model import RetryQuota
from meshsim.sim.client.quota import RetryTokens


def test_a_full_bucket_pays_for_one_hundred_retries() -> None:
    tokens = RetryTokens(RetryQuota())
    taken = [tokens.acquire(timeout=False) for _ in range(101)]
    assert taken[:100] == [5.0] * 100
    assert taken[100] == 0.0 and tokens.refused == 1
    assert tokens.available == 0.0


def test_timeouts_cost_twice_as_much() -> None:
    tokens = RetryTokens(RetryQuota())
    assert sum(tokens.acquire(timeout=True) for _ in range(60)) == 500.0
    assert tokens.refused == 10


def test_success_refunds_one_token_or_the_last_retry_cost() -> None:
    tokens = RetryTokens(RetryQuota())
    tokens.acquire(timeout=True)
    tokens.acquire(timeout=False)
    assert tokens.available == 485.0
    tokens.release(5.0)  # succeeded after a retry: its last retry's cost comes back
    assert tokens.available == 490.0
    tokens.release(0.0)  # succeeded first time: one token
    assert tokens.available == 491.0


def test_the_bucket_never_exceeds_its_start() -> None:
    tokens = RetryTokens(RetryQuota())
    for _ in range(10):
        tokens.release(0.0)
    assert tokens.available == 500.0


def test_an_empty_bucket_refills_one_success_at_a_time() -> None:
    tokens = RetryTokens(RetryQuota(initial=10.0))
    tokens.acquire(False)
    tokens.acquire(False)
    assert tokens.acquire(False) == 0.0
    for _ in range(4):
        tokens.release(0.0)
    assert tokens.acquire(False) == 0.0  # 4 tokens < 5
    tokens.release(0.0)
    assert tokens.acquire(False) == 5.0
