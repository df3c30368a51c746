"""Every scenario's frames hash as in tests/golden/frames.json: behaviour did not change.

The runs are benchmarks/identical.py's (every scenario under scenarios/ and
benchmarks/scenarios/, shortened, seeds 1 and 7; every frame hashed), so a refactor that
changes one value, or the order of random draws or of same-time events, fails here. A
behaviour change that is meant regenerates the file in the same commit:

    python benchmarks/identical.py --save tests/golden/frames.json
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest
from paths import BENCHMARKS, ROOT, TESTS

pytestmark = pytest.mark.slow

EXPECTED: dict[str, dict[str, str]] = json.loads((TESTS / "golden" / "frames.json").read_text())


@pytest.fixture(scope="module")
def identical() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_identical", BENCHMARKS / "identical.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_scenario_and_seed_has_golden_frames(identical: ModuleType) -> None:
    runs = {f"{path.relative_to(ROOT)}@{seed}"
            for path in identical.scenario_paths() for seed in identical.SEEDS}
    assert runs == set(EXPECTED), "regenerate tests/golden/frames.json (see the docstring)"


@pytest.mark.parametrize("run", sorted(EXPECTED))
def test_frames_are_the_golden_ones(identical: ModuleType, run: str) -> None:
    path, seed = run.rsplit("@", 1)
    assert identical.hashes_of(ROOT / path, int(seed)) == EXPECTED[run]
