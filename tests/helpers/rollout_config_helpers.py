"""Builders for the progressive-delivery config tests: scenarios from text, error locations."""

from __future__ import annotations

from pathlib import Path

import paths
import pytest

from meshsim.config import Scenario, load_scenario, load_scenario_text
from meshsim.errors import ConfigWarning, ScenarioError
from meshsim.model.policy import TrafficPolicy

FIXTURES = paths.FIXTURES / "rollout"
FILE = "s.yaml"


def fixture(name: str) -> Scenario:
    return load_scenario(FIXTURES / name)


def scenario(mesh: str, services: str, manifests: str, extra: str = "") -> str:
    """A scenario (its document is 14 lines + ``services`` + ``extra``) followed by manifests."""
    body = "".join(f"    {line}\n" for line in services.strip().splitlines())
    return (
        "apiVersion: meshsim/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n"
        f"  mesh: {mesh}\n  duration: 300s\n  warmup: 15s\n{extra}  services:\n"
        "    frontend: {latency: exponential(2ms), calls: [podinfo]}\n"
        f"{body}"
        "  workload:\n    - {name: users, target: frontend, rate: 10/s}\n---\n"
        + manifests
    )


def load(tmp_path: Path, text: str) -> Scenario:
    return load_scenario_text(text, tmp_path, FILE)


def error(tmp_path: Path, text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, text)
    return info.value


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``fragment``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return hits[occurrence - 1]


def find(warnings: list[ConfigWarning], fragment: str) -> ConfigWarning:
    hits = [w for w in warnings if fragment in w.message]
    assert len(hits) == 1, [w.format() for w in warnings]
    return hits[0]


def policy(loaded: Scenario) -> TrafficPolicy:
    """The translated policy (every scenario here has a mesh)."""
    assert loaded.model.policy is not None
    return loaded.model.policy
