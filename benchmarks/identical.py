"""Same seed ⇒ bit-identical frames: a guard for engine speed work (DESIGN §5, §6).

    python benchmarks/identical.py --save before.json     # before changing the engine
    python benchmarks/identical.py --check before.json    # after: exit 1 on any difference
    python benchmarks/identical.py --src /tmp/ref --save ref.json   # a reference copy's package

Runs every scenario under ``scenarios/`` (all subfolders) and the ``benchmarks/scenarios/``
ones, each shortened with ``duration=`` and with two seeds, and hashes every frame
(``requests``, ``attempts``, ``calls``, ``events``, ``timeseries``, ``summary``, plus
``workloads`` and ``rollout``): column names, dtypes and every value. An optimisation that
changes one hash changed a result, or the order of random draws or of same-time events.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO_DIRS = (ROOT / "scenarios", HERE / "scenarios")
FRAMES = ("requests", "attempts", "calls", "events", "timeseries", "summary", "workloads",
          "rollout")
SEEDS = (1, 7)
DURATION = 30.0  # seconds of simulated time per run: long enough for faults, retries, canaries
BENCH_DURATION = 20.0
# The 24- and 30-service meshes make 5-20k hop attempts per simulated second: 10 s still covers
# their retries, ejections (5 s interval) and the overloaded mesh's 2 s timeouts, at half the
# cost of 20 s.
MESH_DURATION = 10.0



def _src() -> str:
    """The directory to import meshsim from: ``--src DIR`` (a reference copy), else this repo."""
    args = sys.argv[1:]
    return args[args.index("--src") + 1] if "--src" in args[:-1] else str(ROOT)


sys.path.insert(0, _src())

import meshsim  # noqa: E402


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and the values (index included), row order kept."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(repr(len(frame)).encode())
    if len(frame.columns):
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def scenario_paths() -> list[Path]:
    return [path for folder in SCENARIO_DIRS for path in sorted(folder.rglob("*.yaml"))]


def hashes_of(path: Path, seed: int) -> dict[str, str]:
    scenario = meshsim.load(path)
    duration = BENCH_DURATION if path.parent == HERE / "scenarios" else DURATION
    if path.parent == HERE / "scenarios" and path.name.startswith("mesh-"):
        duration = MESH_DURATION
    # A run must outlast its warm-up (a shorter one is refused): keep 10 s after it.
    duration = max(duration, scenario.model.warmup + 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            results = meshsim.simulate(scenario, seed=seed, duration=duration)
        except Exception as exc:  # a refused run (e.g. no time after warm-up) is a result too
            return {name: f"error: {type(exc).__name__}: {exc}" for name in FRAMES}
        out: dict[str, str] = {}
        for name in FRAMES:
            try:
                frame = getattr(results, name)
            except Exception as exc:  # a frame that fails is a result too
                out[name] = f"error: {type(exc).__name__}: {exc}"
                continue
            out[name] = frame_hash(frame)
    return out


def run_all() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for path in scenario_paths():
        for seed in SEEDS:
            started = time.perf_counter()
            key = f"{path.relative_to(ROOT)}@{seed}"
            table[key] = hashes_of(path, seed)
            print(f"{key:<60}{time.perf_counter() - started:6.1f}s", flush=True)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, metavar="OUT", help="write the hashes as JSON")
    group.add_argument("--check", type=Path, metavar="BEFORE", help="compare with a --save file")
    parser.add_argument("--src", metavar="DIR", help="import meshsim from DIR (a reference "
                        "copy of the package), not from this repository")
    args = parser.parse_args(argv)
    print(f"meshsim from {Path(meshsim.__file__).parent}", flush=True)
    table = run_all()
    if args.save:
        args.save.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(table)} runs to {args.save}")
        return 0
    before = json.loads(args.check.read_text())
    differences = [
        f"{key} {frame}"
        for key in sorted(set(before) | set(table))
        for frame in FRAMES
        if before.get(key, {}).get(frame) != table.get(key, {}).get(frame)
    ]
    for line in differences:
        print(f"DIFFERENT: {line}")
    print(f"{len(table)} runs, {len(differences)} frames differ")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
