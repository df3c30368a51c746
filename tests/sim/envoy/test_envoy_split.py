"""Envoy's weighted-cluster pick, on fixed weights and on a rollout's live route."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from meshsim.model.rollout import TrafficTarget, Version
from meshsim.model.routes import Backend, Route
from meshsim.sim.envoy.split import live_pick, static_pick
from meshsim.sim.live_routes import LiveRoute, LiveWeights, register, with_live

PRIMARY, CANARY = Backend("api", "primary", weight=90), Backend("api", "canary", weight=10)


class Rolls:
    """A roll that counts its draws, so tests can see the stream stays aligned."""

    def __init__(self, values: list[float]) -> None:
        self.values, self.draws = values, 0

    def __call__(self) -> float:
        self.draws += 1
        return self.values.pop(0)


def test_one_backend_draws_nothing() -> None:
    roll = Rolls([])
    assert static_pick((PRIMARY,), roll) is PRIMARY
    assert roll.draws == 0


def test_the_draw_walks_the_weights_in_order() -> None:
    assert static_pick((PRIMARY, CANARY), Rolls([0.0])) is PRIMARY
    assert static_pick((PRIMARY, CANARY), Rolls([0.8999])) is PRIMARY
    assert static_pick((PRIMARY, CANARY), Rolls([0.9])) is CANARY


def test_a_zero_weight_backend_is_never_picked_even_at_the_top_of_the_roll() -> None:
    off = Backend("api", "off", weight=0)
    assert static_pick((PRIMARY, off), Rolls([0.999999999])) is PRIMARY


def test_fixed_weights_share_the_traffic_within_three_sigma() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    picks = Counter(static_pick((PRIMARY, CANARY), rng.random).subset for _ in range(n))
    sigma = (n * 0.1 * 0.9) ** 0.5
    assert abs(picks["canary"] - 0.1 * n) < 3 * sigma


def _live(canary: float | None) -> LiveRoute:
    target = TrafficTarget(host="api", primary=Version("api", "primary"),
                           canary=Version("api", "canary"), routes=("r",))
    weights = LiveWeights(target)
    table: dict = {}
    register(table, weights)
    if canary is not None:
        weights.set(canary)
    (route,) = with_live(table, "api", (Route(name="r", backends=(PRIMARY, CANARY)),))
    assert isinstance(route, LiveRoute)
    return route


@pytest.mark.parametrize(("canary", "roll", "subset"), [
    (0.0, 0.0, "primary"), (100.0, 0.999, "canary"), (25.0, 0.2, "canary"), (25.0, 0.3, "primary"),
])
def test_a_live_route_follows_the_controller_with_one_draw(
    canary: float, roll: float, subset: str,
) -> None:
    rolls = Rolls([roll])
    route = _live(canary)
    assert live_pick(route, rolls).subset == subset
    assert rolls.draws == 1


def test_a_live_route_keeps_its_own_weights_until_the_controller_sets_one() -> None:
    assert live_pick(_live(None), Rolls([0.95])).subset == "canary"
