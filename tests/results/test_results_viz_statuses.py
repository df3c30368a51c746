"""The status breakdown: attempts per destination, status and flag, as the frames hold them."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshsim
from meshsim.config import load_scenario_text
from meshsim.results import viz

TEXT = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
spec:
  duration: 4s
  warmup: 1s
  services:
    web: {replicas: 2, latency: constant(2ms), calls: [api]}
    api:
      replicas: 2
      latency: constant(5ms)
      errors: {rate: 30%, status: {503: 1, 429: 1, reset: 1}, pods: [1]}
  workload:
    - {name: users, target: web, rate: 300/s}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> viz.VizRun:
    folder: Path = tmp_path_factory.mktemp("statuses")
    return viz.from_results(meshsim.simulate(load_scenario_text(TEXT, folder, "s.yaml")))


def test_counts_match_the_attempts_in_the_window(run: viz.VizRun) -> None:
    window = run.default_window
    table = viz.statuses(run, window, viz.Resource("pod"))
    att = run.attempts[window.mask(run.attempts)]
    for row in table.itertuples(index=False):
        keep = ((att["pod"] == row.name) & (att["status"] == row.status)
                & (att["flags"].astype(str) == row.flags))
        assert int(keep.sum()) == row.attempts
    assert int(table["attempts"].sum()) == len(att)
    shares = table.groupby("name")["share"].sum()
    assert shares.to_numpy() == pytest.approx(1.0)


def test_only_the_bad_pod_fails_and_classes_are_named(run: viz.VizRun) -> None:
    table = viz.statuses(run, run.default_window, viz.Resource("pod"))
    good = table[table["name"] == "api-0"]
    assert list(good["status"]) == [200]
    bad = table[table["name"] == "api-1"]
    got = {(s, f, c) for s, f, c in zip(bad["status"], bad["flags"], bad["class"], strict=True)}
    assert got == {(200, "", "2xx"), (429, "", "4xx"), (503, "", "5xx"), (503, "UR", "5xx")}


def test_one_destination_by_name(run: viz.VizRun) -> None:
    table = viz.statuses(run, run.default_window, viz.Resource("svc", "web"))
    assert set(table["name"]) == {"web"}
    assert set(table["status"]) == {200, 500}  # a failed required call: web answers 500
