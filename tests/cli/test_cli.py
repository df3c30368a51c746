"""The command line through its real entry points: ``python -m meshsim`` and the console script.

Scenarios live in tests/fixtures/cli/ and simulate a few seconds, so each run takes about as
long as the imports. Every test runs in its own temporary directory (runs/ lands there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from paths import FIXTURES

CLI_FIXTURES = FIXTURES / "cli"
SMALL = CLI_FIXTURES / "small.yaml"
SLO_FAILS = CLI_FIXTURES / "slo-fails.yaml"
CONSOLE_SCRIPT = Path(sys.executable).with_name("meshsim")
GOLDEN_HEADERS = (
    "SERVICE",
    "SUBSET",
    "SUCCESS",
    "DENIED",
    "RPS",
    "P50",
    "P90",
    "P99",
    "RETRIES",
    "TIMEOUTS",
    "OVERFLOWS",
)


def meshsim(*args: object, cwd: Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would; ``script=True`` uses the installed ``meshsim`` command."""
    command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "meshsim"]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert proc.stdout == ""
    return lines[0]


def summary_row(payload: dict, service: str) -> dict:
    rows = [r for r in payload["summary"] if r["service"] == service]
    assert rows, payload["summary"]
    # A service without versions has one row (or an all-subsets row first).
    return rows[0]


@pytest.fixture(scope="module")
def small_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cwd = tmp_path_factory.mktemp("json")
    proc = meshsim("run", SMALL, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)  # the whole of stdout is one JSON object


# -- run --------------------------------------------------------------------------------------
def test_run_prints_golden_metrics_and_writes_the_run_directory(tmp_path: Path) -> None:
    proc = meshsim("run", SMALL, cwd=tmp_path, script=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    header = next(line for line in out.splitlines() if "SERVICE" in line)
    assert header.split() == list(GOLDEN_HEADERS)
    assert any(line.split()[:1] == ["api"] for line in out.splitlines())
    assert "✔ success_rate api" in out and "✔ p99 api" in out
    assert "✘" not in out

    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("cli-small-")
    assert f"run directory: {Path('runs') / runs[0].name}" in out
    files = {p.name for p in runs[0].rglob("*")}
    assert "run.json" in files and "summary.csv" in files
    assert any(name.endswith(".parquet") for name in files), files
    assert any(name.endswith(".png") for name in files), files
    info = json.loads((runs[0] / "run.json").read_text())
    assert info["seed"] == 7
    summary = pd.read_csv(runs[0] / "summary.csv")
    assert "api" in set(summary["service"])


def test_run_with_out_seed_duration_and_no_plots(tmp_path: Path) -> None:
    out_dir = tmp_path / "here"
    proc = meshsim(
        "run", SMALL, "--out", out_dir, "--seed", 11, "--duration", "2s", "--no-plots", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert str(out_dir) in proc.stdout
    assert not (tmp_path / "runs").exists()
    files = {p.name for p in out_dir.rglob("*")}
    assert "run.json" in files
    assert not any(name.endswith(".png") for name in files), files
    info = json.loads((out_dir / "run.json").read_text())
    assert info["seed"] == 11
    requests = pd.read_parquet(next(out_dir.rglob("requests/part-0000.parquet")))
    assert requests["start"].max() < 2.0  # --duration 2s, not the scenario's 4s


def test_json_is_the_only_thing_on_stdout(small_json: dict) -> None:
    assert set(small_json) >= {"run", "summary", "slo", "run_dir", "passed"}
    assert small_json["passed"] is True
    row = summary_row(small_json, "api")
    assert row["requests"] > 100
    assert 0.99 <= row["success_rate"] <= 1.0
    assert row["p50"] < row["p99"]
    assert [r["metric"] for r in small_json["slo"]] == ["success_rate", "p99"]
    assert all(r["passed"] is True for r in small_json["slo"])


def test_set_more_replicas_lowers_the_tail(small_json: dict, tmp_path: Path) -> None:
    proc = meshsim("run", SMALL, "--json", "--set", "spec.services.api.replicas=4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    scaled = summary_row(json.loads(proc.stdout), "api")
    base = summary_row(small_json, "api")
    # Same arrivals (same seed), a quarter of the load per pod: queueing all but disappears.
    assert scaled["rps"] == pytest.approx(base["rps"], rel=0.05)
    assert scaled["p99"] < 0.7 * base["p99"]


def test_failed_slo_exits_1_and_says_why(tmp_path: Path) -> None:
    proc = meshsim("run", SLO_FAILS, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "✔ success_rate api" in proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("✘")]
    assert len(failed) == 1 and "p99 api" in failed[0] and "> max 1ms" in failed[0]
    lines = proc.stdout.splitlines()
    verdict = lines[lines.index("after the faults") + 1]
    assert verdict.startswith("users: ") and "after the last fault ended at 1.5s" in verdict


def test_subsets_get_their_own_rows_and_slos(tmp_path: Path) -> None:
    proc = meshsim("run", CLI_FIXTURES / "versions.yaml", "--no-plots", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    rows = {tuple(line.split()[:2]) for line in proc.stdout.splitlines() if line.strip()}
    assert {("front", "-"), ("reviews", "(all)"), ("reviews", "v1"), ("reviews", "v2")} <= rows
    verdicts = [line for line in proc.stdout.splitlines() if line[:1] in "✔✘" and line]
    assert verdicts[0].startswith("✔ success_rate reviews/v1")
    assert verdicts[1].startswith("✘ success_rate reviews/v2") and "< min 99.00%" in verdicts[1]


def test_quiet_prints_nothing_when_all_is_well(tmp_path: Path) -> None:
    proc = meshsim("run", SMALL, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert len(list((tmp_path / "runs").iterdir())) == 1  # still writes the run directory


def test_quiet_prints_only_the_bad_news(tmp_path: Path) -> None:
    proc = meshsim("run", SLO_FAILS, "-q", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    # 1.5 s of data after the fault cannot show a recovery; the passing SLO is not printed
    assert len(lines) == 2, proc.stdout
    assert lines[0].startswith("users: cannot tell whether it recovered")
    assert lines[1].startswith("✘ p99 api")


# -- user errors: one line, exit 2, no traceback ------------------------------------------------
def test_misspelt_field_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    line = assert_one_error_line(
        meshsim("run", CLI_FIXTURES / "misspelt.yaml", cwd=tmp_path), "misspelt.yaml", "concurency"
    )
    assert "did you mean" in line and "concurrency" in line
    assert not (tmp_path / "runs").exists()


def test_broken_yaml_is_one_line(tmp_path: Path) -> None:
    assert_one_error_line(
        meshsim("run", CLI_FIXTURES / "broken-yaml.yaml", "--json", cwd=tmp_path),
        "broken-yaml.yaml",
    )


def test_missing_file(tmp_path: Path) -> None:
    assert_one_error_line(meshsim("run", "nope.yaml", cwd=tmp_path, script=True), "nope.yaml")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "spec.services.api.replicas"], "PATH=VALUE"),
        (["--set", "=4"], "PATH=VALUE"),
        (["--set", "spec.services.api.latency={median: 5ms"], "--set"),
        (["--duration", "10 parsecs"], "--duration"),
        (["--duration", "0s"], "--duration"),
        (["--duration", "1s"], "warm-up"),  # small.yaml warms up for 1s: nothing left to measure
        (["--set", "spec.services.api.replicas=many"], "replicas"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_one_error_line(meshsim("run", SMALL, *args, cwd=tmp_path), fragment)


# -- validate, version, help ------------------------------------------------------------------
def test_validate_ok(tmp_path: Path) -> None:
    proc = meshsim("validate", SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "ok: cli-small: 1 service, 1 workload, 0 manifests",
        "  api (namespace default): sidecar no (spec.mesh is none: no proxies)",
        "    manifests: none",
    ]
    assert not (tmp_path / "runs").exists()


def test_validate_applies_overrides(tmp_path: Path) -> None:
    proc = meshsim("validate", SMALL, "--set", "spec.services.api.concurency=3", cwd=tmp_path)
    assert_one_error_line(proc, "concurency")


def test_validate_bad(tmp_path: Path) -> None:
    assert_one_error_line(
        meshsim("validate", CLI_FIXTURES / "misspelt.yaml", cwd=tmp_path, script=True), "concurency"
    )


def test_warnings_go_to_stderr_and_strict_makes_them_errors(tmp_path: Path) -> None:
    warns = CLI_FIXTURES / "warns.yaml"
    proc = meshsim("validate", warns, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "ok: cli-warns: 1 service, 1 workload, 1 manifest"
    assert "    manifests: VirtualService/api" in proc.stdout.splitlines()
    warnings = proc.stderr.strip().splitlines()
    assert warnings and all("warns.yaml:" in w and "warning:" in w for w in warnings)
    assert "VirtualService" in proc.stderr

    quiet = meshsim("run", warns, "--quiet", "--no-plots", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""

    assert_one_error_line(meshsim("validate", warns, "--strict", cwd=tmp_path), "warns.yaml")


def test_version_and_help(tmp_path: Path) -> None:
    import meshsim as package

    version = meshsim("version", cwd=tmp_path, script=True)
    assert version.returncode == 0 and version.stdout.strip() == f"meshsim {package.__version__}"
    help_text = meshsim("--help", cwd=tmp_path)
    assert help_text.returncode == 0
    for word in ("run", "validate", "version", "Exit codes"):
        assert word in help_text.stdout
    run_help = meshsim("run", "--help", cwd=tmp_path)
    for option in (
        "--seed",
        "--duration",
        "--out",
        "--set",
        "--quiet",
        "--json",
        "--strict",
        "--no-plots",
    ):
        assert option in run_help.stdout
