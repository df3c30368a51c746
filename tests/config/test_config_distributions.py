"""Latency distributions in call and mapping form, and empirical samples from CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_core import PydanticCustomError

from meshsim.config import load_scenario_text
from meshsim.config.distributions import EmpiricalRef, SamplesError, parse_latency, read_samples
from meshsim.errors import ScenarioError
from meshsim.model import Constant, Exponential, Gamma, LogNormal


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("constant(5ms)", Constant(0.005)),
        ("5ms", Constant(0.005)),
        ("exponential(10ms)", Exponential(0.01)),
        ("exponential(mean=10ms)", Exponential(0.01)),
        ("lognormal(median=5ms, p99=40ms)", LogNormal(0.005, 0.04)),
        ("lognormal(5ms, 40ms)", LogNormal(0.005, 0.04)),
        ("gamma(mean=10ms, cv=0.5)", Gamma(0.01, 0.5)),
        ({"dist": "lognormal", "median": "5ms", "p99": "40ms"}, LogNormal(0.005, 0.04)),
        ({"dist": "gamma", "mean": "1s", "cv": 2}, Gamma(1.0, 2.0)),
        ("empirical(samples.csv)", EmpiricalRef("samples.csv")),
        ({"dist": "empirical", "file": "x/y.csv"}, EmpiricalRef("x/y.csv")),
    ],
)
def test_forms(written: object, expected: object) -> None:
    assert parse_latency(written) == expected


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("lognormal(median=5ms, p99=5ms)", "must be greater than its median"),
        ("gamma(mean=10ms, cv=0)", "cv must be greater than zero"),
        ("gamma(mean=10ms, cv=lots)", "cv must be a number"),
        ("exponential(0ms)", "mean must be greater than zero"),
        ("exponential(10)", "bare number"),
        ("weibull(3ms)", "unknown distribution 'weibull'"),
        ("lognormal(median=5ms)", "lognormal needs p99="),
        ({"median": "5ms"}, "needs 'dist'"),
        ({"dist": "constant", "value": "1ms", "mean": "2ms"}, "not 'mean'"),
        ("exponential(10ms", "unclosed distribution"),
        ("exponential(10ms) + 1ms", "expected a distribution"),
        (True, "expected a duration"),
    ],
)
def test_impossible_or_malformed(written: object, words: str) -> None:
    with pytest.raises(PydanticCustomError) as info:
        parse_latency(written)
    assert words in info.value.message()


@pytest.mark.parametrize(
    ("text", "samples"),
    [
        ("latency_ms\n1\n2\n", (0.001, 0.002)),
        ("latency_us\n500\n", (0.0005,)),
        ("seconds\n0.5\n", (0.5,)),
        ("0.25\n0.75\n", (0.25, 0.75)),
        ("5ms\n1s\n", (0.005, 1.0)),
    ],
)
def test_samples(tmp_path: Path, text: str, samples: tuple[float, ...]) -> None:
    (tmp_path / "s.csv").write_text(text)
    assert read_samples(tmp_path / "s.csv").samples == pytest.approx(samples)


@pytest.mark.parametrize(
    ("text", "row", "words"),
    [
        ("", None, "empty"),
        ("latency_ms\n", None, "only a header"),
        ("a,b\n1,2\n", 2, "one column"),
        ("1\n-2\n", 2, "must not be negative"),
    ],
)
def test_bad_samples(tmp_path: Path, text: str, row: int | None, words: str) -> None:
    (tmp_path / "s.csv").write_text(text)
    with pytest.raises(SamplesError, match=words) as info:
        read_samples(tmp_path / "s.csv")
    assert info.value.row == row



def test_comma_split_in_flow_mapping_gets_a_quoting_hint(tmp_path: Path) -> None:
    text = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  duration: 60s
  services:
    ratings: {replicas: 2, latency: lognormal(median=5ms, p99=60ms)}
  workload: [{name: users, target: ratings, rate: 10/s}]
"""
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, tmp_path)
    assert info.value.location.path == "spec.services.ratings.latency"
    assert info.value.location.line == 6
    assert "quote it" in info.value.message
