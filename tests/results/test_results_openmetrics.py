"""The OpenMetrics export: cumulative series that equal the run's frames, a file promtool
backfills sample for sample, and a PromQL success rate over it equal to meshsim's own."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from viz_runs import ISTIO, LINKERD, SavedRun, promtool, saved_run

from meshsim.results import viz
from meshsim.results.openmetrics import DEFAULT_EPOCH, istio, linkerd, write_openmetrics
from meshsim.results.openmetrics.series import Series, counts, histogram, scrape_times

SAMPLE = re.compile(r'^([a-z_]+)\{(.*)\} (\S+) (\S+)$')
INTERVAL = 2.0


@pytest.fixture(scope="module")
def istio_run(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    # No warm-up: the summary then covers the whole run, as the export does.
    return saved_run(ISTIO, tmp_path_factory.mktemp("om-istio"), **{"spec.warmup": "0s"})


@pytest.fixture(scope="module")
def linkerd_run(tmp_path_factory: pytest.TempPathFactory) -> SavedRun:
    return saved_run(LINKERD, tmp_path_factory.mktemp("om-linkerd"),
                     **{"spec.duration": "8s", "spec.warmup": "0s"})


def export(saved: SavedRun, mesh: str, folder: Path) -> Path:
    path = folder / f"{mesh}.om"
    with path.open("w", encoding="utf-8") as out:
        write_openmetrics(viz.from_run_dir(saved.path), out, mesh=mesh, interval=INTERVAL)
    return path


def parse(text: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(sample name, label text) -> [(timestamp, value)] in file order."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, line
        name, labels, value, stamp = match.groups()
        found[(name, labels)].append((float(stamp), float(value)))
    return found


def label(labels: str, key: str) -> str | None:
    match = re.search(rf'(?:^|,){key}="([^"]*)"', labels)
    return match.group(1) if match else None


# -- the series themselves ----------------------------------------------------------------------
def test_cumulative_counts_and_buckets_at_scrape_times() -> None:
    at = scrape_times(4.5, 2.0)
    assert list(at) == [0.0, 2.0, 4.0, 6.0]
    s = Series((("a", "b"),), np.array([0.5, 2.0, 3.0, 5.0]), np.array([1.0, 7.0, 0.2, 30.0]))
    assert list(counts(s, at)) == [0, 2, 3, 4]  # an answer at exactly 2.0 is in the 2.0 scrape
    cum, total, sums = histogram(s, at, (0.5, 5, 10))
    assert cum.tolist() == [[0, 0, 0, 0], [0, 1, 2, 2], [1, 2, 3, 3], [1, 2, 3, 4]]
    assert list(total) == [0, 2, 3, 4]
    assert list(sums) == pytest.approx([0.0, 8.0, 8.2, 38.2])


def test_file_shape_and_istio_totals_equal_the_frames(istio_run: SavedRun, tmp_path: Path) -> None:
    text = export(istio_run, "istio", tmp_path).read_text()
    assert text.endswith("# EOF\n")
    assert "# TYPE istio_requests counter" in text
    assert "# TYPE istio_request_duration_milliseconds histogram" in text
    series = parse(text)
    horizon = scrape_times(12.0, INTERVAL)[-1]
    last: dict[tuple[str, str], float] = {}
    for (name, labels), points in series.items():
        stamps = [t for t, _ in points]
        assert stamps == sorted(stamps) and stamps[0] == DEFAULT_EPOCH
        values = [v for _, v in points]
        assert values == sorted(values), (name, labels)  # cumulative: never goes down
        last[(name, labels)] = values[-1]
        assert stamps[-1] == DEFAULT_EPOCH + horizon
    results = istio_run.results
    attempts = results.attempts[~results.attempts["mirror"]]
    calls = results.calls[~results.calls["mirror"]]
    dest = [(lab, v) for (n, lab), v in last.items()
            if n == "istio_requests_total" and label(lab, "reporter") == "destination"]
    # legacy has no sidecar: the batch clients' calls to it are reported by batch's sidecar
    # only; every attempt reaches a meshed pod except those into legacy.
    into_legacy = attempts["pod"].astype(str).str.startswith("legacy-")
    assert sum(v for _, v in dest) == int((~into_legacy).sum())
    source = [(lab, v) for (n, lab), v in last.items()
              if n == "istio_requests_total" and label(lab, "reporter") == "source"]
    from_legacy = calls["caller"].astype(str).str.startswith("legacy-")
    assert sum(v for _, v in source) == int((~from_legacy).sum())
    by_code: dict[str, float] = defaultdict(float)
    for lab, v in dest:
        by_code[label(lab, "response_code") or ""] += v
    codes = attempts[~into_legacy]["status"].astype(str).value_counts().to_dict()
    assert by_code == pytest.approx({k: float(v) for k, v in codes.items()})
    for (name, lab), value in last.items():  # every histogram's +Inf bucket is its count
        if name == "istio_request_duration_milliseconds_count":
            inf = lab + ',le="+Inf"'
            assert last[("istio_request_duration_milliseconds_bucket", inf)] == value


def test_linkerd_names_and_classification(linkerd_run: SavedRun, tmp_path: Path) -> None:
    text = export(linkerd_run, "linkerd", tmp_path).read_text()
    series = parse(text)
    names = {name for name, _ in series}
    assert {"request_total", "response_total", "response_latency_ms_bucket",
            "response_latency_ms_count", "response_latency_ms_sum"} <= names
    inbound = {lab: pts[-1][1] for (n, lab), pts in series.items()
               if n == "response_total" and label(lab, "direction") == "inbound"}
    attempts = linkerd_run.results.attempts
    failures = sum(v for lab, v in inbound.items() if label(lab, "classification") == "failure")
    assert sum(inbound.values()) == len(attempts)
    assert failures == int((~attempts["ok"]).sum()) > 0
    assert all(label(lab, "deployment") == "my-service" and label(lab, "namespace") ==
               "my-namespace" and label(lab, "tls") == "true" for lab in inbound)
    le = {label(lab, "le") for (n, lab) in series if n == "response_latency_ms_bucket"}
    assert le == {f"{float(b)!r}" for b in linkerd.BUCKETS} | {"+Inf"}


def test_istio_buckets_are_envoys_defaults() -> None:
    assert istio.BUCKETS[:4] == (0.5, 1, 5, 10) and istio.BUCKETS[-1] == 3600000


def test_bad_arguments(istio_run: SavedRun) -> None:
    run = viz.from_run_dir(istio_run.path)
    with pytest.raises(viz.VizError, match="istio or linkerd"):
        write_openmetrics(run, io.StringIO(), mesh="consul")
    with pytest.raises(viz.VizError, match="positive"):
        write_openmetrics(run, io.StringIO(), mesh="istio", interval=0.0)


# -- promtool and Prometheus --------------------------------------------------------------------
def backfill(path: Path, data: Path) -> None:
    """promtool must read every sample the file has (it drops out-of-order ones silently)."""
    proc = subprocess.run(
        [promtool(), "tsdb", "create-blocks-from", "openmetrics", str(path), str(data)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    samples = sum(int(line.split()[4]) for line in proc.stdout.splitlines()[1:] if line.strip())
    lines = sum(1 for line in path.read_text().splitlines() if not line.startswith("#"))
    assert samples == lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(data: Path, promql: str, at: float) -> float:
    """One instant query against a Prometheus serving the backfilled TSDB."""
    binary = Path(promtool()).with_name("prometheus")
    config = data.parent / "prometheus.yml"
    config.write_text("global: {}\n")
    port = _free_port()
    server = subprocess.Popen(
        [str(binary), f"--config.file={config}", f"--storage.tsdb.path={data}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql, "time": f"{at:.3f}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    payload = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = payload["data"]["result"]
    assert len(result) == 1, payload
    return float(result[0]["value"][1])


def test_promtool_backfills_and_flaggers_success_rate_matches(
    istio_run: SavedRun, tmp_path: Path,
) -> None:
    path = export(istio_run, "istio", tmp_path)
    data = tmp_path / "data"
    backfill(path, data)
    # Flagger's request-success-rate for Istio, with meshsim's ok (a caller that gave up,
    # response_code 0, is not a success), over the whole run.
    end = scrape_times(12.0, INTERVAL)[-1]
    select = ('reporter="destination",destination_workload_namespace="default",'
              'destination_workload=~"reviews-v2"')
    promql = (f'sum(rate(istio_requests_total{{{select},response_code!~"5.*|0"}}[{end:.0f}s]))'
              f' / sum(rate(istio_requests_total{{{select}}}[{end:.0f}s]))')
    value = query(data, promql, DEFAULT_EPOCH + end)
    summary = istio_run.results.summary
    v2 = summary[(summary["service"] == "reviews") & (summary["subset"] == "v2")].iloc[0]
    assert value == pytest.approx(float(v2["attempt_success_rate"]), abs=1e-12)
    assert value < 0.8


def test_linkerd_success_rate_over_a_window_matches_the_frames(
    linkerd_run: SavedRun, tmp_path: Path,
) -> None:
    path = export(linkerd_run, "linkerd", tmp_path)
    data = tmp_path / "data"
    backfill(path, data)
    since, until = 2.0, 8.0
    select = 'namespace="my-namespace",deployment=~"my-service",direction="inbound"'
    promql = (f'sum(rate(response_total{{{select},classification!="failure"}}[6s])) / '
              f'sum(rate(response_total{{{select}}}[6s]))')
    value = query(data, promql, DEFAULT_EPOCH + until)
    attempts = linkerd_run.results.attempts
    ends = attempts["end"].to_numpy()
    answered = attempts[(ends > since) & (ends <= until)]
    assert value == pytest.approx(float(answered["ok"].mean()), abs=1e-12)
    assert isinstance(answered, pd.DataFrame) and len(answered) > 100
