"""The README's run-directory table names every file a run writes, and each name it gives is
written by some run: the table cannot drift from the store."""

from __future__ import annotations

import re
from fnmatch import fnmatch

import pytest
from paths import ROOT

import meshsim

RUNS = {
    "no faults": ROOT / "tests" / "fixtures" / "cli" / "small.yaml",
    "rollout": ROOT / "scenarios" / "canary" / "flagger-errors-rolled-back.yaml",
    "local replies": ROOT / "scenarios" / "istio" / "circuit-breaker.yaml",
    "proxy cost": ROOT / "scenarios" / "meshes" / "istio-perf-bench.yaml",
}


def documented() -> list[str]:
    """The file names in the first column of the README's run-directory table, ``<x>`` as
    ``*``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Run directory", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names = [name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])]
    return [re.sub(r"<[^>]+>", "*", name) for name in names]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    files = {}
    for label, scenario in RUNS.items():
        out = meshsim.simulate(meshsim.load(scenario)).save(tmp_path_factory.mktemp("run") / "r")
        files[label] = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return files


def test_every_file_a_run_writes_is_in_the_table(written: dict[str, set[str]]) -> None:
    patterns = documented()
    assert "run.json" in patterns and "plots/overview.png" in patterns
    for label, files in written.items():
        missing = sorted(f for f in files if not any(fnmatch(f, p) for p in patterns))
        assert not missing, f"{label}: written but not in the README: {missing}"


def test_every_file_in_the_table_is_written(written: dict[str, set[str]]) -> None:
    every = set().union(*written.values())
    for pattern in documented():
        if "*" in pattern:  # one file per rollout when there are several: no such scenario
            continue
        assert any(fnmatch(f, pattern) for f in every), f"{pattern}: in the README, never written"
