"""The unit conventions of DESIGN §2 as the schema applies them."""

from __future__ import annotations

import pytest

from meshsim.errors import UnitError
from meshsim.units import parse_duration, parse_latency_change, parse_probability, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250us", 250e-6), ("5ms", 0.005), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (0, 0.0),
     ("1.5s", 1.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [300, "5 sec", "5", "-5ms", "ms", True, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(UnitError):
        parse_duration(text)


def test_bare_number_suggests_units() -> None:
    with pytest.raises(UnitError, match="did you mean '300s'"):
        parse_duration(300)


def test_rates() -> None:
    assert parse_rate("400/s") == 400.0
    assert parse_rate("600/m") == pytest.approx(10.0)
    with pytest.raises(UnitError, match="400/s"):
        parse_rate(400)


def test_probabilities_accept_percent() -> None:
    assert parse_probability("1%") == pytest.approx(0.01)
    assert parse_probability(0.25) == 0.25
    with pytest.raises(UnitError, match="between 0 and 1"):
        parse_probability(1.5)


def test_latency_changes() -> None:
    assert parse_latency_change("x10") == (10.0, 0.0)
    assert parse_latency_change("+50ms") == (1.0, pytest.approx(0.05))
    with pytest.raises(UnitError):
        parse_latency_change("10")
