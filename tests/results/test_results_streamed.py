"""Runs that stream their rows to a run directory: the same frames as in memory, every row
on disk, record levels, SQL, and an interrupted run that never looks finished."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from paths import FIXTURES, ROOT

import meshsim
from meshsim.errors import ScenarioError
from meshsim.metrics import columns
from meshsim.results import parquet_rows
from meshsim.results.rows import QueryError

SMALL = FIXTURES / "cli" / "small.yaml"
ROWS = ("requests", "calls", "attempts")


def _rows_on_disk(folder: Path, table: str) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (folder / table).glob("*.parquet"))


@pytest.fixture(scope="module")
def in_memory() -> meshsim.Results:
    return meshsim.simulate(meshsim.load(SMALL))


@pytest.fixture
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 64 rows, row groups of 100 and files of 300: a small run spans parts."""
    monkeypatch.setattr(columns, "CHUNK", 64)
    monkeypatch.setattr(parquet_rows, "ROW_GROUP", 100)
    monkeypatch.setattr(parquet_rows, "FILE_ROWS", 300)


def test_streamed_frames_equal_the_in_memory_ones(
    in_memory: meshsim.Results, tmp_path: Path, small_files: None,
) -> None:
    streamed = meshsim.simulate(meshsim.load(SMALL), record_dir=tmp_path / "run")
    assert streamed.rows is not None and streamed.rows.folder == tmp_path / "run"
    assert streamed.recording.streamed and len(streamed.recording.calls["start"]) == 0
    assert streamed.recording.stats["recorded_bytes"] == 0  # no row held during the run
    assert len(list((tmp_path / "run" / "attempts").glob("part-*.parquet"))) > 1  # rotated
    for table in (*ROWS, "summary", "timeseries", "workloads", "events"):
        pd.testing.assert_frame_equal(getattr(streamed, table), getattr(in_memory, table))
    pd.testing.assert_frame_equal(streamed.slo(), in_memory.slo())
    stored = meshsim.load_run(tmp_path / "run")
    for table in ROWS:
        pd.testing.assert_frame_equal(getattr(stored, table), getattr(in_memory, table))


@pytest.mark.parametrize("level", ["all", "requests", "summary"])
def test_rows_on_disk_equal_the_counts_in_run_json(tmp_path: Path, level: str) -> None:
    results = meshsim.simulate(meshsim.load(SMALL), record=level, record_dir=tmp_path / "r")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["record"] == level
    stored = {"all": ROWS, "requests": ("requests", "calls"), "summary": ()}[level]
    assert set(info["stored_rows"]) == set(stored)
    for table in ROWS:
        on_disk = _rows_on_disk(tmp_path / "r", table)
        if table in stored:
            assert on_disk == info["stored_rows"][table] == info[table] > 0
        else:
            assert not (tmp_path / "r" / table).exists()
    assert info["issued"] == info["requests"] + info["in_flight_at_end"]
    assert info["attempts"] >= info["calls"]  # attempts are counted at every level
    assert len(results.summary) > 0


def test_the_requests_level_keeps_no_attempt_rows(
    in_memory: meshsim.Results, tmp_path: Path,
) -> None:
    streamed = meshsim.simulate(meshsim.load(SMALL), record="requests",
                                record_dir=tmp_path / "r")
    in_ram = meshsim.simulate(meshsim.load(SMALL), record="requests")
    for results in (streamed, in_ram):
        assert results.attempts.empty
        assert list(results.attempts.columns) == list(in_memory.attempts.columns)
        pd.testing.assert_frame_equal(results.calls, in_memory.calls)
        pd.testing.assert_frame_equal(results.requests, in_memory.requests)
    assert streamed.attempt_count == in_memory.attempt_count


def test_an_unknown_record_level_is_one_clear_error() -> None:
    with pytest.raises(ScenarioError, match="record='raw': expected one of all, requests, summary"):
        meshsim.simulate(meshsim.load(SMALL), record="raw")


def test_an_interrupted_run_leaves_no_finished_looking_directory(tmp_path: Path) -> None:
    """An exception half-way through the run (Ctrl-C, a crash) discards the staged
    directory and its half-written Parquet files: nothing under the final name, no
    temporary directory left."""
    scenario = meshsim.load(SMALL)

    def stop(now: float, duration: float) -> None:
        if now > duration / 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        meshsim.simulate(scenario, record_dir=tmp_path / "run", progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_sql_over_the_run_directory_and_in_memory_agree(
    in_memory: meshsim.Results, tmp_path: Path,
) -> None:
    query = ("SELECT service, count(*) AS n, sum(CASE WHEN ok THEN 1 ELSE 0 END) AS good "
             "FROM attempts GROUP BY service ORDER BY service")
    streamed = meshsim.simulate(meshsim.load(SMALL), record_dir=tmp_path / "r")
    on_disk, in_ram = streamed.sql(query), in_memory.sql(query)
    assert on_disk["service"].tolist() == sorted(in_memory.attempts["service"].unique())
    expected = in_memory.attempts.groupby("service", observed=True).size()
    assert on_disk["n"].tolist() == expected.tolist()
    pd.testing.assert_frame_equal(on_disk.astype({"service": str}),
                                  in_ram.astype({"service": str}), check_dtype=False)
    joined = meshsim.load_run(tmp_path / "r").sql(
        "SELECT count(*) AS n FROM requests r JOIN calls c ON c.request_id = r.id "
        "WHERE c.depth = 0")
    assert int(joined["n"].iloc[0]) == len(in_memory.requests)


def test_sql_errors_are_query_errors(tmp_path: Path) -> None:
    streamed = meshsim.simulate(meshsim.load(SMALL), record_dir=tmp_path / "r")
    with pytest.raises(QueryError, match="nope"):
        streamed.sql("SELECT nope FROM attempts")


def test_a_streamed_rollout_decides_as_the_in_memory_one(tmp_path: Path) -> None:
    """A streaming run keeps only a window of the canary's rows; the controller's checks
    read the same values from it as from every row."""
    scenario = meshsim.load(ROOT / "scenarios" / "canary" / "flagger-errors-rolled-back.yaml")
    in_ram = meshsim.simulate(scenario)
    streamed = meshsim.simulate(scenario, record_dir=tmp_path / "r")
    pd.testing.assert_frame_equal(streamed.rollout_decisions(), in_ram.rollout_decisions())
    pd.testing.assert_frame_equal(streamed.events, in_ram.events)


def test_a_run_directory_from_before_datasets_still_reads(
    in_memory: meshsim.Results, tmp_path: Path,
) -> None:
    """Older run directories hold ``requests.parquet`` files, not folders: still read and
    queried."""
    out = in_memory.save(tmp_path / "old", plots=False)
    for table in ROWS:
        for part in (out / table).iterdir():
            part.unlink()
        (out / table).rmdir()
        getattr(in_memory, table).to_parquet(out / f"{table}.parquet", index=False)
    old = meshsim.load_run(out)
    pd.testing.assert_frame_equal(old.attempts, in_memory.attempts)
    answer = old.sql("SELECT count(*) AS n FROM requests")
    assert int(answer["n"].iloc[0]) == len(in_memory.requests)


def test_a_streamed_run_saved_elsewhere_copies_its_rows(
    in_memory: meshsim.Results, tmp_path: Path,
) -> None:
    streamed = meshsim.simulate(meshsim.load(SMALL), record_dir=tmp_path / "a")
    copy = streamed.save(tmp_path / "b", plots=False)
    for table in ROWS:
        assert _rows_on_disk(copy, table) == _rows_on_disk(tmp_path / "a", table) > 0
        pd.testing.assert_frame_equal(getattr(meshsim.load_run(copy), table),
                                      getattr(in_memory, table))


def test_the_summary_level_keeps_no_rows_and_the_same_tables(
    in_memory: meshsim.Results, small_files: None,
) -> None:
    """``summary`` holds no row, in memory or on disk, yet its tables (read off the online
    aggregates) equal those of a run that kept every row."""
    summary = meshsim.simulate(meshsim.load(SMALL), record="summary")
    assert summary.recording.streamed and summary.recording.stats["recorded_bytes"] == 0
    assert summary.requests.empty and summary.calls.empty and summary.attempts.empty
    assert summary.recording.count("requests") == len(in_memory.requests)
    for table in ("summary", "timeseries", "workloads", "recovery", "refused"):
        pd.testing.assert_frame_equal(getattr(summary, table), getattr(in_memory, table))
    pd.testing.assert_frame_equal(summary.slo(), in_memory.slo())
    assert summary.attempt_count == in_memory.attempt_count


def test_a_rollout_scenario_keeps_its_rows_at_summary_for_the_rollout_report() -> None:
    """Users hurt by a canary follow call trees: at ``summary`` a scenario with a rollout
    keeps its rows, so its rollout report equals the one of a run at ``all``."""
    scenario = meshsim.load(ROOT / "scenarios" / "canary" / "flagger-errors-rolled-back.yaml")
    summary = meshsim.simulate(scenario, record="summary")
    assert not summary.recording.streamed and len(summary.requests) > 0
    pd.testing.assert_frame_equal(summary.rollout, meshsim.simulate(scenario).rollout)
    assert summary.rollout["users_hurt"].iloc[0] > 0
