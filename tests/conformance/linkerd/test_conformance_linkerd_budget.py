"""tower TpsBudget against tower's own tests and reference/linkerd.md §1.1–§1.2, C1, C2, C5.

Source: tower-rs/tower tower/src/retry/budget/tps_budget.rs (tps_reserve, tps_empty,
tps_leaky, tps_slots); linkerd2-proxy linkerd/service-profiles/src/proto.rs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.sim.linkerd import TpsBudget, budget_from_profile
from meshsim.sim.linkerd.budget import token_amounts

# -- C1 ------------------------------------------------------------------------------------------


def test_c1a_reserve_allows_exactly_min_per_sec() -> None:
    bgt = TpsBudget(1.0, 5, 1.0)
    assert [bgt.withdraw(0.0) for _ in range(6)] == [True] * 5 + [False]


def test_c1b_empty_budget_refuses_first_withdraw() -> None:
    assert not TpsBudget(1.0, 0, 1.0).withdraw(0.0)


def test_c1c_leaky_deposit_ages_out() -> None:
    bgt = TpsBudget(1.0, 0, 1.0)
    bgt.deposit(0.0)
    assert not bgt.withdraw(3.0)


# -- C2 ------------------------------------------------------------------------------------------


def test_c2_slots_expire_on_unaligned_windows() -> None:
    bgt = TpsBudget(1.0, 0, 0.5)  # deposit 1, withdraw 2
    assert (bgt.deposit_amount, bgt.withdraw_amount) == (1, 2)
    bgt.deposit(0.0)
    bgt.deposit(0.0)
    assert bgt.withdraw(0.901)  # 900 ms later both deposits still count
    bgt.deposit(2.902)
    bgt.deposit(3.203)
    bgt.deposit(4.004)
    assert bgt.withdraw(4.004)  # first of the three expired; 2nd + 3rd cover the cost


def test_c2_companion_ten_deposits_pay_five_withdrawals() -> None:
    bgt = TpsBudget(1.0, 0, 0.5)
    for _ in range(10):
        bgt.deposit(0.0)
    assert [bgt.withdraw(0.0) for _ in range(6)] == [True] * 5 + [False]


def test_c2_linkerd_defaults_cold_start_allow_exactly_100_retries() -> None:
    bgt = TpsBudget(10.0, 10, 0.2)
    assert (bgt.deposit_amount, bgt.withdraw_amount, bgt.reserve) == (1, 5, 500)
    results = [bgt.withdraw(0.0) for _ in range(101)]
    assert results[:100] == [True] * 100
    assert results[100] is False


def test_reserve_refills_about_one_ttl_after_spending() -> None:
    bgt = TpsBudget(1.0, 5, 1.0)
    assert all(bgt.withdraw(0.0) for _ in range(5))
    assert not bgt.withdraw(0.5)
    assert bgt.withdraw(2.5)  # the negative entries aged out


# -- §1.1 truncation table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "amounts"),
    [
        (0.0, (0, 1)),
        (0.2, (1, 5)),
        (0.25, (1, 4)),
        (0.3, (1, 3)),
        (0.4, (1, 2)),
        (0.5, (1, 2)),
        (0.6, (1, 1)),
        (0.7, (1, 1)),
        (0.9, (1, 1)),
        (1.0, (1, 1)),
        (0.1, (1, 10)),
        (1.5, (1000, 666)),
        (1000.0, (1000, 1)),
    ],
)
def test_token_amounts_truncate_in_f32(ratio: float, amounts: tuple[int, int]) -> None:
    assert token_amounts(ratio) == amounts


def test_reserve_uses_whole_seconds_of_ttl() -> None:
    assert TpsBudget(1.9, 10, 0.2).reserve == 10 * 1 * 5


@pytest.mark.parametrize(
    ("ttl", "min_per_sec", "ratio"),
    [(0.5, 1, 0.2), (61.0, 1, 0.2), (10.0, 1, -0.1), (10.0, 1, 1000.5), (10.0, 2**31 - 1, 0.2)],
)
def test_constructor_asserts(ttl: float, min_per_sec: int, ratio: float) -> None:
    with pytest.raises(AssertionError):
        TpsBudget(ttl, min_per_sec, ratio)


# -- C5 / §1.2 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "ratio", "min_per_sec"),
    [
        (1000.0, 0.2, 10),  # ignores_invalid_retry_budget_ttl
        (10.0, 10000.0, 10),  # ignores_invalid_retry_budget_ratio
        (10.0, -1.0, 10),  # ignores_invalid_retry_budget_negative_ratio
        (None, 0.2, 10),  # missing ttl
        (0.999, 0.2, 10),
        (10.0, float("nan"), 10),
        (10.0, 0.2, 2**31),  # min > i32::MAX
    ],
)
def test_c5_invalid_budgets_are_rejected(ttl: float | None, ratio: float, min_per_sec: int) -> None:
    assert budget_from_profile(ttl, min_per_sec, ratio) is None


def test_budget_from_profile_defaults() -> None:
    bgt = budget_from_profile(10.0)
    assert bgt is not None
    assert (bgt.deposit_amount, bgt.withdraw_amount, bgt.reserve) == (1, 5, 500)
    assert budget_from_profile(1.0, 0, 0.0) is not None  # 0 and the bounds are valid
    assert budget_from_profile(60.0, 0, 1000.0) is not None


# -- properties ----------------------------------------------------------------------------------

events = st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(
    ttl=st.integers(1, 60),
    min_per_sec=st.integers(0, 20),
    ratio=st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.4, 0.5, 1.0, 1.5, 3.0]),
    evs=events,
)
def test_withdrawals_bounded_by_deposits_and_reserve_before_any_slot_wraps(
    ttl: int, min_per_sec: int, ratio: float, evs: list[tuple[float, bool]]
) -> None:
    """With every event inside 0.4 × ttl no slot can be overwritten, so the budget never
    grants more than reserve + deposits × deposit_amount tokens."""
    bgt = TpsBudget(float(ttl), min_per_sec, ratio)
    times = sorted(t * 0.4 * ttl for t, _ in evs)
    deposits = granted = 0
    for now, (_, is_deposit) in zip(times, evs, strict=True):
        if is_deposit:
            bgt.deposit(now)
            deposits += 1
        elif bgt.withdraw(now):
            granted += 1
    assert granted * bgt.withdraw_amount <= bgt.reserve + deposits * bgt.deposit_amount


@settings(max_examples=200, deadline=None)
@given(ttl=st.integers(1, 60), gaps=st.lists(st.floats(0.0, 130.0), max_size=50))
def test_reserve_alone_never_exceeded_in_a_burst(ttl: int, gaps: list[float]) -> None:
    """With no deposits, a burst at one instant gets at most reserve / withdraw retries."""
    bgt = TpsBudget(float(ttl), 3, 0.2)
    now = 0.0
    for gap in gaps:
        now += gap
        bgt.withdraw(now)
    now += 2 * ttl  # everything aged out
    granted = sum(bgt.withdraw(now) for _ in range(bgt.reserve + 5))
    assert granted == bgt.reserve // bgt.withdraw_amount


def test_frequent_expiry_ages_deposits_out_before_ttl() -> None:
    """Upstream characteristic (derived from the algorithm): each expiry zeroes one slot per
    extra window and then *also* moves past the slot it lands on, so touching the budget every
    window + ε advances the ring two slots at a time and a deposit lives only ~6 s of a 10 s ttl.
    """
    bgt = TpsBudget(10.0, 0, 1.0)
    bgt.deposit(0.0)
    t = 0.0
    seen = []
    for _ in range(6):
        t += 1.0001
        seen.append(bgt.balance(t))
    assert seen == [1, 1, 1, 1, 1, 0]
