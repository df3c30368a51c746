"""Peak memory of ``meshsim run`` at two run lengths and every record level (issue 13).

    python benchmarks/memory.py                          # 100 s and 400 s at 1,500 req/s
    python benchmarks/memory.py --durations 20s 80s --levels all

Each run is its own process (``meshsim run`` on ``benchmarks/scenarios/three-hop.yaml``, the
rate set with ``--set``), and its peak RSS is the child's ``ru_maxrss``, what ``/usr/bin/time
-v`` reports. Prints one row per level with the ratio of the longest to the shortest run; the
issue's targets are at most 1.25x, ``all`` under 600 MB at 600k requests and ``summary`` under
300 MB. Run on a quiet machine: the figures are memory, not time, but a loaded machine makes
the runs long.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "three-hop.yaml"
_CHILD = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss(duration: str, level: str, rate: str, out: Path) -> tuple[float, int]:
    """Peak RSS (MB) of one ``meshsim run`` and the requests it recorded."""
    command = [
        sys.executable, "-m", "meshsim", "run", str(SCENARIO), "--duration", duration,
        "--set", f"spec.workload[0].rate={rate}", "--record", level, "-q", "-o", str(out),
    ]
    answer = subprocess.run([sys.executable, "-c", _CHILD, *command], capture_output=True,
                            text=True, check=True)
    code, kilobytes = answer.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"meshsim run failed ({code}): {' '.join(command)}")
    info = json.loads((out / "run.json").read_text())
    return int(kilobytes) / 1024, int(info["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", nargs="+", default=["100s", "400s"])
    parser.add_argument("--levels", nargs="+", default=["all", "requests", "summary"])
    parser.add_argument("--rate", default="1500/s")
    args = parser.parse_args()
    print(f"{'record':<10}" + "".join(f"{d:>22}" for d in args.durations) + f"{'ratio':>8}")
    with tempfile.TemporaryDirectory() as scratch:
        for level in args.levels:
            peaks = []
            cells = ""
            for duration in args.durations:
                mb, requests = peak_rss(duration, level, args.rate,
                                        Path(scratch) / f"{level}-{duration}")
                peaks.append(mb)
                cells += f"{mb:>9.0f} MB {requests:>8,} req"
            print(f"{level:<10}{cells}{peaks[-1] / peaks[0]:>8.2f}", flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script itself: {own:.0f} MB)")


if __name__ == "__main__":
    main()
