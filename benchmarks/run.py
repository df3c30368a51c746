"""meshsim benchmarks (DESIGN §6), measured as ratios within one run so machine noise cancels.

    python benchmarks/run.py [--quick] [--json out.json] [--compare baseline.json]
    python benchmarks/run.py --save-baseline              # store benchmarks/baseline.json
    python benchmarks/run.py --baseline benchmarks/baseline.json   # exit 1 on a slowdown

1. M/M/4 at load 0.9: the idiomatic SimPy model (benchmarks/simpy_mmc.py) and the same queue as
   a one-pod meshsim scenario (benchmarks/scenarios/mmc.yaml), the same number of customers.
   Figure: meshsim requests per wall second / SimPy customers per wall second (target ≥ 1.0).
2. Three hops under Istio (benchmarks/scenarios/three-hop.yaml): hop attempts (rows of the
   attempts frame) per wall second, and its ratio to the one-pod requests per wall second
   (target ≥ 1/3).
3. Bytes per recorded attempt: the recording's column arrays (attempts + calls + requests)
   divided by the number of attempts (target < 150).

``--baseline FILE`` (or ``--compare FILE``) prints current / baseline for every figure and exits
1 when the M/M/c ratio fell below the baseline by more than the noise band. The band is measured:
each repeat pairs one SimPy run with one meshsim run, back to back, and keeps their ratio; the
band is two robust standard deviations (1.4826 × the median absolute deviation, over the median)
of those per-repeat ratios, from whichever of the two runs is noisier, and at least 5 %. The MAD
keeps one disturbed repeat from widening the band. When either run has fewer than 3 repeats
the band is the stated 20 % (the spread seen between runs on the shared 2-core machine).
``--save-baseline [FILE]`` writes the run as the stored baseline (default
``benchmarks/baseline.json``). Speed is only ever compared as a ratio of ratios, never as wall
time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for simpy_mmc when run as a script from anywhere

from simpy_mmc import erlang_c_response, run_mmc  # noqa: E402

import meshsim  # noqa: E402

SCENARIOS = HERE / "scenarios"
SERVERS, ARRIVAL_RATE, SERVICE_MEAN = 4, 3600.0, 1e-3  # must match scenarios/mmc.yaml
REGRESSION = 0.8  # without measured noise, --compare fails below this share of the baseline
MIN_BAND, NOISE_SIGMAS, MIN_REPEATS = 0.05, 2.0, 3  # the measured noise band (see module doc)
MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation per median absolute deviation
DEFAULT_BASELINE = HERE / "baseline.json"
TARGETS = {"mmc_ratio": 1.0, "hop_ratio": 1.0 / 3.0, "bytes_per_attempt": 150.0}


def recording_bytes(results: meshsim.Results) -> tuple[int, int]:
    """(bytes the recorder held during the run, recorded attempts).

    The recorder keeps attempts and calls in typed columns; the requests table is derived from
    the depth-0 calls when the run finishes, so it is not part of the per-attempt cost.
    """
    recording = results.recording
    nbytes = sum(
        int(column.nbytes)
        for table in (recording.attempts, recording.calls)
        for column in table.values()
    )
    attempts = len(next(iter(recording.attempts.values()), ()))
    return nbytes, attempts


def fastest(
    scenario: meshsim.Scenario, duration: float, repeat: int
) -> tuple[meshsim.Results, float]:
    """The fastest of ``repeat`` runs of ``meshsim.simulate`` (results, wall seconds)."""
    best: tuple[meshsim.Results, float] | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        results = meshsim.simulate(scenario, duration=duration)
        wall = time.perf_counter() - started
        if best is None or wall < best[1]:
            best = (results, wall)
        del results
    assert best is not None
    return best


def bench_mmc(customers: int, repeat: int) -> dict[str, Any]:
    """Both models ``repeat`` times, interleaved; each keeps its fastest run (least disturbed)."""
    scenario = meshsim.load(SCENARIOS / "mmc.yaml")
    simpy_best = mesh_best = None
    ratios: list[float] = []  # per repeat: the back-to-back pair, so slow spells hit both
    for _ in range(repeat):
        simpy_run = run_mmc(
            customers, servers=SERVERS, arrival_rate=ARRIVAL_RATE, service_mean=SERVICE_MEAN
        )
        if simpy_best is None or simpy_run.wall < simpy_best.wall:
            simpy_best = simpy_run
        mesh_run = fastest(scenario, customers / ARRIVAL_RATE, 1)
        ratios.append((len(mesh_run[0].requests) / mesh_run[1]) / simpy_run.per_second)
        if mesh_best is None or mesh_run[1] < mesh_best[1]:
            mesh_best = mesh_run
        del mesh_run
    assert simpy_best is not None and mesh_best is not None
    results, wall = mesh_best
    requests = results.requests
    nbytes, attempts = recording_bytes(results)
    return {
        "customers": customers,
        "repeat": repeat,
        "erlang_c_mean_response": erlang_c_response(SERVERS, ARRIVAL_RATE, SERVICE_MEAN),
        "simpy": {
            "customers": simpy_best.customers,
            "wall": simpy_best.wall,
            "per_second": simpy_best.per_second,
            "mean_response": simpy_best.mean_response,
        },
        "meshsim": {
            "requests": len(requests),
            "wall": wall,
            "per_second": len(requests) / wall,
            "mean_response": float(requests["latency"].mean()),
            "bytes_per_attempt": nbytes / max(attempts, 1),
        },
        "ratio": (len(requests) / wall) / simpy_best.per_second,
        "ratios": ratios,
    }


def bench_three_hop(attempts_wanted: int, repeat: int) -> dict[str, Any]:
    scenario = meshsim.load(SCENARIOS / "three-hop.yaml")
    rate = sum(w.schedule[0].rate for w in scenario.model.workloads)
    duration = attempts_wanted / 3 / rate  # three hop attempts per request
    results, wall = fastest(scenario, duration, repeat)
    attempts = len(results.attempts)
    nbytes, recorded = recording_bytes(results)
    return {
        "requests": len(results.requests),
        "attempts": attempts,
        "retries": int(results.attempts["retry"].sum()),
        "wall": wall,
        "attempts_per_second": attempts / wall,
        "bytes_per_attempt": nbytes / max(recorded, 1),
    }


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_commit": commit,
        "meshsim": meshsim.__version__,
    }


def measure(customers: int, repeat: int) -> dict[str, Any]:
    mmc = bench_mmc(customers, repeat)
    hop = bench_three_hop(customers, repeat)
    hop["ratio_to_one_pod"] = hop["attempts_per_second"] / mmc["meshsim"]["per_second"]
    return {
        "figures": {
            "mmc_ratio": mmc["ratio"],
            "hop_ratio": hop["ratio_to_one_pod"],
            "bytes_per_attempt": hop["bytes_per_attempt"],
        },
        "mmc": mmc,
        "three_hop": hop,
        "machine": machine(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def report(data: dict[str, Any]) -> None:
    mmc, hop, figures = data["mmc"], data["three_hop"], data["figures"]
    simpy_row, mesh_row = mmc["simpy"], mmc["meshsim"]
    ms = 1e3
    print(
        f"M/M/{SERVERS} at load {ARRIVAL_RATE * SERVICE_MEAN / SERVERS:.1f}, "
        f"{mmc['customers']:,} customers, best of {mmc['repeat']} (Erlang C mean response "
        f"{mmc['erlang_c_mean_response'] * ms:.3f}ms)"
    )
    print(f"  {'model':<22}{'per wall s':>12}{'wall':>9}{'mean resp':>11}")
    print(
        f"  {'SimPy, idiomatic':<22}{simpy_row['per_second']:>12,.0f}"
        f"{simpy_row['wall']:>8.2f}s{simpy_row['mean_response'] * ms:>9.3f}ms"
    )
    print(
        f"  {'meshsim, one pod':<22}{mesh_row['per_second']:>12,.0f}"
        f"{mesh_row['wall']:>8.2f}s{mesh_row['mean_response'] * ms:>9.3f}ms"
    )
    print(
        f"three hops (istio): {hop['requests']:,} requests, {hop['attempts']:,} hop attempts "
        f"({hop['retries']:,} retries), {hop['attempts_per_second']:,.0f} attempts per wall s, "
        f"wall {hop['wall']:.2f}s"
    )
    print(
        f"  bytes per recorded attempt: {hop['bytes_per_attempt']:.1f} "
        f"(one pod: {mesh_row['bytes_per_attempt']:.1f})"
    )
    print("figures (higher is better except bytes):")
    labels = {
        "mmc_ratio": "meshsim / SimPy, M/M/c",
        "hop_ratio": "hop attempts / one-pod requests",
        "bytes_per_attempt": "bytes per attempt",
    }
    for key, value in figures.items():
        target = TARGETS[key]
        ok = value < target if key == "bytes_per_attempt" else value >= target
        op = "<" if key == "bytes_per_attempt" else "≥"
        print(
            f"  {labels[key]:<34}{value:>8.2f}   target {op} {target:.3g}  "
            f"{'ok' if ok else 'MISSED'}"
        )


def _median(values: list[float]) -> float:
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def relative_sigma(ratios: list[float]) -> float | None:
    """Robust relative spread of the per-repeat M/M/c ratios: 1.4826 × MAD / median (None
    with fewer than 3 repeats)."""
    if len(ratios) < MIN_REPEATS:
        return None
    median = _median(ratios)
    return MAD_TO_SIGMA * _median([abs(r - median) for r in ratios]) / median


def noise_band(data: dict[str, Any], baseline: dict[str, Any]) -> tuple[float, str]:
    """(band, how it was found): the share the M/M/c ratio may fall before it is flagged."""
    sigmas = [relative_sigma(list(run.get("mmc", {}).get("ratios", []))) for run in
              (baseline, data)]
    if any(sigma is None for sigma in sigmas):
        return 1.0 - REGRESSION, "stated (fewer than 3 repeats in a run)"
    widest = max(sigma for sigma in sigmas if sigma is not None)
    return max(MIN_BAND, NOISE_SIGMAS * widest), (
        f"measured: {NOISE_SIGMAS:g} × the larger robust spread {widest:.1%} of the "
        f"per-repeat ratios, at least {MIN_BAND:.0%}"
    )


def compare(data: dict[str, Any], baseline: dict[str, Any]) -> int:
    """Print current / baseline per figure; 1 when the M/M/c ratio fell beyond the noise band."""
    band, how = noise_band(data, baseline)
    print(
        f"compared with {baseline.get('machine', {}).get('git_commit') or 'baseline'} "
        f"({baseline.get('created', '?')}); noise band {band:.0%} ({how}):"
    )
    status = 0
    for key, value in data["figures"].items():
        before = baseline.get("figures", {}).get(key)
        if not before:
            print(f"  {key:<20} no baseline figure")
            continue
        change = value / before
        note = ""
        if key == "mmc_ratio" and change < 1.0 - band:
            note, status = f"  REGRESSION (below {1.0 - band:.0%} of baseline)", 1
        print(f"  {key:<20}{before:>10.2f} → {value:>8.2f}   ×{change:.2f}{note}")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50k customers instead of 200k")
    parser.add_argument("--customers", type=int, help="customers (and hop attempts) per model")
    parser.add_argument(
        "--repeat", type=int, help="runs per model, fastest kept (default 3; 1 with --quick)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write all figures as JSON")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE",
        help="a --json file of an earlier run to compare against",
    )
    parser.add_argument(
        "--baseline", type=Path, metavar="FILE",
        help="the stored baseline (a --save-baseline file) to compare against; exit 1 on a "
        "slowdown beyond the noise band",
    )
    parser.add_argument(
        "--save-baseline", type=Path, nargs="?", const=DEFAULT_BASELINE, metavar="FILE",
        help="store this run as the baseline (default benchmarks/baseline.json)",
    )
    args = parser.parse_args(argv)
    if args.compare and args.baseline:
        parser.error("give --baseline or --compare, not both")
    against = args.baseline or args.compare
    try:
        baseline = json.loads(against.read_text()) if against else None
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the baseline {against}: {exc}")
    customers = args.customers or (50_000 if args.quick else 200_000)

    repeat = args.repeat or (1 if args.quick else 3)
    data = measure(customers, max(1, repeat))
    report(data)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.save_baseline:
        args.save_baseline.write_text(json.dumps(data, indent=2) + "\n")
        print(f"stored the baseline in {args.save_baseline}")
    return compare(data, baseline) if baseline is not None else 0


if __name__ == "__main__":
    sys.exit(main())
