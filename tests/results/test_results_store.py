"""The run directory: files present, run.json content, Parquet round trips."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import meshsim
from meshsim.results import Results, parquet_rows
from meshsim.results.atomic import OutputError
from meshsim.results.store import RunDirError, load_run, open_run

FILES = [
    "requests/part-0000.parquet", "attempts/part-0000.parquet", "calls/part-0000.parquet",
    "events.parquet",
    "timeseries.parquet", "summary.parquet", "summary.csv", "workloads.csv", "slo.csv",
    "latency.json", "plots/overview.png", "plots/throughput.png", "plots/success_rate.png",
    "plots/latency.png",
    "run.json",
]


def _strict(text: str) -> object:
    def reject(constant: str) -> None:
        raise AssertionError(f"run.json holds {constant}, which is not JSON")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def saved(saved_run: tuple[Results, Path]) -> tuple[Results, Path]:
    return saved_run


def test_all_files_are_written(saved: tuple[Results, Path]) -> None:
    _, out = saved
    for name in FILES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
    for name in FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_json(saved: tuple[Results, Path]) -> None:
    results, out = saved
    info = _strict((out / "run.json").read_text())
    assert isinstance(info, dict)
    assert info["seed"] == 7
    assert info["scenario"] == "unit-scenario"
    assert info["scenario_hash"] == "abc123"
    assert info["meshsim_version"] == meshsim.__version__
    assert info["wall_time"] == 0.5
    assert info["sim_time"] == 10.0
    assert info["kernel_events"] == 1234
    assert info["events_per_second"] == pytest.approx(1234 / 0.5)
    assert info["sim_seconds_per_wall_second"] == pytest.approx(10.0 / 0.5)
    assert info["requests"] == 6
    assert info["attempts"] == 15
    assert info["passed"] is False
    assert [c["passed"] for c in info["slo"]] == [True, False]
    assert info["slo"][1]["value"] is None  # NaN (no traffic) is written as null
    assert info == results.run_info()


@pytest.mark.parametrize("name", ["events", "timeseries", "summary"])
def test_parquet_round_trips(saved: tuple[Results, Path], name: str) -> None:
    results, out = saved
    back = pd.read_parquet(out / f"{name}.parquet")
    pd.testing.assert_frame_equal(back, getattr(results, name))


@pytest.mark.parametrize("name", ["requests", "attempts", "calls"])
def test_row_datasets_read_back_as_the_frames(saved: tuple[Results, Path], name: str) -> None:
    """The row tables are Parquet datasets; a stored run reads them back lazily as exactly
    the frames the in-memory run had, and plain Parquet readers see names, not codes."""
    results, out = saved
    stored = load_run(out)
    assert name not in stored.__dict__  # nothing read before it is asked for
    pd.testing.assert_frame_equal(getattr(stored, name), getattr(results, name))
    plain = pd.read_parquet(out / name)
    assert len(plain) == len(getattr(results, name))
    if len(plain):
        assert set(plain["flags"].astype(str)) == set(getattr(results, name)["flags"].astype(str))


def test_csv_tables(saved: tuple[Results, Path]) -> None:
    results, out = saved
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""])
    assert list(summary.columns) == list(results.summary.columns)
    assert summary["requests"].tolist() == results.summary["requests"].tolist()
    slo = pd.read_csv(out / "slo.csv")
    assert slo["passed"].tolist() == [True, False]
    assert "no requests in the window" in slo["description"].iloc[1]
    assert slo["outcome"].tolist() == ["pass", "cannot tell"]
    workloads = pd.read_csv(out / "workloads.csv")
    assert workloads["workload"].tolist() == ["admins", "users"]


def test_empty_run_saves(empty_results: Results, tmp_path: Path) -> None:
    out = empty_results.save(tmp_path)
    info = _strict((out / "run.json").read_text())
    assert isinstance(info, dict)
    assert info["requests"] == 0 and info["passed"] is True
    assert info["events_per_second"] is None  # wall time 0
    assert info["sim_seconds_per_wall_second"] is None
    back = load_run(out).attempts
    assert back.empty and list(back.columns) == list(empty_results.attempts.columns)
    pd.testing.assert_frame_equal(back, empty_results.attempts)


def test_run_json_speed_of_a_real_run() -> None:
    """A real run states its speed as simulated seconds per wall second, its duration over
    its wall time, so a user can tell how long a longer run will take."""
    results = meshsim.simulate(meshsim.load("scenarios/single-queue.yaml"), duration=40.0)
    info = results.run_info()
    assert info["wall_time"] > 0 and info["sim_time"] == 40.0
    assert info["sim_seconds_per_wall_second"] > 0
    assert info["sim_seconds_per_wall_second"] == pytest.approx(40.0 / info["wall_time"])


# -- atomic run directories -------------------------------------------------------------------
def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _older_run(folder: Path) -> None:
    """A finished run with a rollout, as an earlier ``meshsim run`` left it."""
    (folder / "plots").mkdir(parents=True)
    (folder / "plots" / "rollout.png").write_bytes(b"old")
    (folder / "rollout.csv").write_text("rollout\nold\n")
    (folder / "run.json").write_text('{"seed": 99}\n')


def test_a_second_run_into_the_same_directory_is_refused(results: Results,
                                                          tmp_path: Path) -> None:
    out = results.save(tmp_path / "run", plots=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(OutputError, match="already holds a run directory; use --force"):
        results.save(out, plots=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert _entries(tmp_path) == ["run"]  # no temporary directory left behind


def test_force_replaces_the_old_run_wholesale(results: Results, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _older_run(out)
    results.save(out, force=True)
    assert not (out / "rollout.csv").exists()  # results has no rollout: nothing stale stays
    assert not (out / "plots" / "rollout.png").exists()
    assert json.loads((out / "run.json").read_text())["seed"] == 7
    assert (out / "plots" / "overview.png").is_file()
    assert _entries(tmp_path) == ["run"]


def test_force_never_replaces_what_is_not_a_run(results: Results, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="is not a run directory"):
        results.save(home, force=True, plots=False)
    assert _entries(home) == ["thesis.tex"]
    assert _entries(tmp_path) == ["home"]


@pytest.mark.parametrize(("dest", "fragment"), [
    ("", "empty path"),
    (".", "current directory"),
    ("afile", "is not a directory"),
    ("afile/run", "afile is not a directory"),
])
def test_destinations_that_are_not_a_new_directory(
    results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dest: str, fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=fragment):
        open_run(dest)
    assert _entries(tmp_path) == ["afile"]


def test_missing_parents_are_created_and_removed_again_on_discard(tmp_path: Path) -> None:
    staged = open_run(tmp_path / "a" / "b" / "run")
    assert staged.path.parent == tmp_path / "a" / "b" and staged.path.is_dir()
    assert not staged.dest.exists()
    staged.discard()
    assert _entries(tmp_path) == []


class _Interrupt:
    """Raises KeyboardInterrupt at the n-th file the store writes (counting from 0)."""

    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def wrap(self, write: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls - 1 == self.at:
                raise KeyboardInterrupt
            return write(*args, **kwargs)

        return counted


class _Figure:
    def savefig(self, path: Path, dpi: int) -> None:
        Path(path).write_bytes(b"\x89PNG")


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, at: int) -> _Interrupt:
    stop = _Interrupt(at)
    monkeypatch.setattr(Results, "figures", lambda self: {"a": _Figure(), "b": _Figure()})
    monkeypatch.setattr(_Figure, "savefig", stop.wrap(_Figure.savefig))
    monkeypatch.setattr(pd.DataFrame, "to_parquet", stop.wrap(pd.DataFrame.to_parquet))
    monkeypatch.setattr(parquet_rows._Dataset, "close",  # the row datasets
                        stop.wrap(parquet_rows._Dataset.close))
    monkeypatch.setattr(pd.DataFrame, "to_csv", stop.wrap(pd.DataFrame.to_csv))
    monkeypatch.setattr(Path, "write_text", stop.wrap(Path.write_text))
    monkeypatch.setattr(os, "rename", stop.wrap(os.rename))  # the commit itself
    return stop


def test_an_interrupt_at_any_write_leaves_no_finished_looking_directory(
    results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as m:
        points = _interrupt_at(m, -1)
        results.save(tmp_path / "complete")
    assert points.calls >= 14  # 6 Parquet, 4+ CSV, 2 plots, run.json, the rename
    for at in range(points.calls):
        folder = tmp_path / f"interrupted-{at}"
        folder.mkdir()
        with monkeypatch.context() as m:
            _interrupt_at(m, at)
            with pytest.raises(KeyboardInterrupt):
                results.save(folder / "run")
        assert _entries(folder) == [], f"interrupted at write {at}"


def test_an_interrupted_replacement_keeps_the_old_run(
    results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as m:
        points = _interrupt_at(m, -1)
        results.save(tmp_path / "complete")
    for at in range(points.calls):
        folder = tmp_path / f"interrupted-{at}"
        _older_run(folder / "run")
        with monkeypatch.context() as m:
            _interrupt_at(m, at)
            with pytest.raises(KeyboardInterrupt):
                results.save(folder / "run", force=True)
        assert _entries(folder) == ["run"], f"interrupted at write {at}"
        assert _entries(folder / "run") == ["plots", "rollout.csv", "run.json"]
        assert (folder / "run" / "run.json").read_text() == '{"seed": 99}\n'


def test_an_unfinished_directory_is_not_read_as_a_run(results: Results, tmp_path: Path) -> None:
    staged = open_run(tmp_path / "run")
    (staged.path / "summary.csv").write_text("service\n")
    with pytest.raises(RunDirError, match="unfinished run"):
        load_run(staged.path)
    staged.discard()
