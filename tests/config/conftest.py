"""Shared helpers for the config-stage tests: a small valid scenario and a loader for text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from meshsim.config import Scenario, load_scenario_text

BASE = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: base, description: two services}
spec:
  duration: 60s
  services:
    frontend:
      latency: exponential(5ms)
      calls: [ratings]
    ratings:
      replicas: 2
      latency: exponential(10ms)
  workload:
    - name: users
      target: frontend
      rate: 100/s
"""

Loader = Callable[..., Scenario]


@pytest.fixture
def base() -> str:
    return BASE


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """``load(text, overrides, strict)``: the text as ``scenario.yaml`` in a temporary directory."""

    def loader(
        text: str, overrides: Mapping[str, object] | None = None, strict: bool = False
    ) -> Scenario:
        (tmp_path / "scenario.yaml").write_text(text)
        return load_scenario_text(text, tmp_path, "scenario.yaml", overrides, strict)

    return loader
