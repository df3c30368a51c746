"""Istio durations are Go duration strings; anything else is refused with a reason."""

from __future__ import annotations

import pytest

from meshsim.config.manifest.durations import parse_istio_duration
from meshsim.errors import UnitError


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10.0), ("0.5s", 0.5), ("250ms", 0.25), ("1h30m", 5400.0), ("1m0.5s", 60.5),
    ("100us", 1e-4), ("1500ns", 1.5e-6), ("0s", 0.0), ("0", 0.0), (".5s", 0.5),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_istio_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("value", "reason"), [
    (10, "need a unit"), ("10", "expected a duration"), ("10 s", "expected a duration"),
    ("-1s", "cannot be negative"), ("1d", "expected a duration"), ("1s2", "expected a duration"),
    (True, "expected a duration"), (None, "expected a duration"),
])
def test_what_is_not_a_duration(value: object, reason: str) -> None:
    with pytest.raises(UnitError, match=reason):
        parse_istio_duration(value)
