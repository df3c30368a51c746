"""``meshsim run``'s clients tables and ``meshsim curve``."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import assert_one_error_line, meshsim

CLOSED = """\
apiVersion: meshsim/v1alpha1
kind: Scenario
metadata: {name: closed}
spec:
  mesh: none
  duration: 20s
  warmup: 2s
  network: {latency: 0ms}
  services:
    api: {concurrency: 2, latency: exponential(10ms), errors: 0.1}
  workload:
    - {name: users, target: api, users: 4, thinkTime: exponential(30ms),
       client: {maxAttempts: 2, backoff: {base: 1ms}}}
"""


def write(tmp_path: Path, text: str = CLOSED) -> Path:
    path = tmp_path / "closed.yaml"
    path.write_text(text)
    return path


def section(stdout: str, title: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_run_prints_amplification_and_goodput(tmp_path: Path) -> None:
    proc = meshsim("run", write(tmp_path), "--no-plots", "-o", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, client, proxy = section(proc.stdout,
                                    "clients: attempts per layer (user requests after warm-up)")
    assert header.split()[:3] == ["WORKLOAD", "LAYER", "SERVICE"]
    per_user = float(client.split()[-1])
    assert 1.05 < per_user < 1.15  # 1 + 0.1 retries per user request
    assert proxy.split()[1:3] == ["proxy", "api"]
    header, row = section(proc.stdout,
                          "clients: offered vs admitted vs goodput (mean after warm-up)")[:2]
    assert row.split()[0] == "users" and row.endswith("%")


def test_an_open_loop_report_has_no_clients_tables(tmp_path: Path) -> None:
    text = CLOSED.replace("users: 4, thinkTime: exponential(30ms),\n       client: "
                          "{maxAttempts: 2, backoff: {base: 1ms}}", "rate: 50/s")
    proc = meshsim("run", write(tmp_path, text), "--no-plots", "-o", tmp_path / "run",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "clients:" not in proc.stdout


def test_curve_runs_each_user_count(tmp_path: Path) -> None:
    proc = meshsim("curve", write(tmp_path), "--users", "1,8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[2:]]
    assert [r[0] for r in rows] == ["1", "8"]
    low, high = (float(r[1].removesuffix("/s")) for r in rows)
    assert low < high < 200.0  # 2 workers of 10 ms: at most 200/s


def test_curve_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    assert_one_error_line(meshsim("curve", write(tmp_path), "--users", "0,x", cwd=tmp_path),
                          "--users")
    open_loop = CLOSED.replace("users: 4, thinkTime: exponential(30ms),\n       client: "
                               "{maxAttempts: 2, backoff: {base: 1ms}}", "rate: 50/s")
    assert_one_error_line(meshsim("curve", write(tmp_path, open_loop), "--users", "2",
                                  cwd=tmp_path), "not a closed-loop workload")


def test_the_workloads_table_says_it_counts_user_requests(tmp_path: Path) -> None:
    """The printed row, its note and --json agree: user requests over their tries."""
    path = write(tmp_path)
    proc = meshsim("run", path, "--no-plots", "-o", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = section(proc.stdout, "workloads (end to end)")
    assert rows[2].startswith("users: user requests over their app client's tries")
    printed = int(rows[1].split()[1].replace(",", ""))
    out = meshsim("run", path, "--no-plots", "--json", "-o", tmp_path / "run2", cwd=tmp_path)
    payload = json.loads(out.stdout)
    row = payload["workloads"][0]
    assert row["requests"] == printed and row["attempts"] > row["requests"]
