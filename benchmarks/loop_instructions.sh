#!/usr/bin/env bash
# Instructions inside the event loop per hop attempt (compiled build), with callgrind:
# deterministic where CPU time is not (a shared or loaded machine), so A/B changes compare
# by this (docs/performance.md, "Issue 12's third round").
#   bash benchmarks/loop_instructions.sh benchmarks/scenarios/mesh-30.yaml 1.5
# Needs valgrind; counts only under the compiled `drain_queue` (the pure build's loop is
# Python: it reports nothing). PYTHONHASHSEED is fixed: dict look-up paths vary with it.
set -euo pipefail
scenario=$1
seconds=${2:-1.5}
python=${PYTHON:-python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
PYTHONHASHSEED=0 valgrind --tool=callgrind --toggle-collect='*drain_queue*' \
    --callgrind-out-file="$out/cg" "$python" -c '
import sys, meshsim
r = meshsim.simulate(meshsim.load(sys.argv[1]).with_duration(float(sys.argv[2])))
print(meshsim.build(), len(r.attempts))' "$scenario" "$seconds" > "$out/stdout" 2> "$out/log"
read -r build attempts < "$out/stdout"
ir=$(grep -m1 '^summary:\|^totals:' "$out/cg" | awk '{print $2}')
if [ "$build" != compiled ] || [ -z "$ir" ]; then
    echo "no compiled event loop ran (build: $build)" >&2
    exit 1
fi
echo "$scenario, $seconds s: $attempts hop attempts, $ir loop instructions, $((ir / attempts)) per hop attempt"
