#!/usr/bin/env bash
# Where the event loop's wall time goes, by function, in nanoseconds per hop attempt: perf's
# CPU-clock samples taken only while Kernel.run runs (perf's control FIFO switches sampling
# on and off around it), so imports, loading, the recording and the teardown are left out.
# Where loop_instructions.sh counts instructions, this sees what they cost on this machine:
# cache misses, a cold object, a page walk (docs/performance.md, "Issue 12's sixth round").
#   bash benchmarks/loop_profile.sh benchmarks/scenarios/mesh-30-overloaded.yaml 3.8 8
# Needs Linux perf (any event source: cpu-clock works in a VM without hardware counters).
# Two scenarios' outputs compare line by line; the figures move with the machine's load.
set -euo pipefail
scenario=$1
seconds=${2:-3.8}
runs=${3:-8}
python=${PYTHON:-python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkfifo "$out/ctl" "$out/ack"
PERF_CTL="$out/ctl" PERF_ACK="$out/ack" perf record -q -e cpu-clock -F 4000 -D -1 \
    --control "fifo:$out/ctl,$out/ack" -o "$out/perf.data" "$python" -c '
import os, sys
import meshsim
from meshsim.sim.kernel import Kernel

ctl, ack = open(os.environ["PERF_CTL"], "w"), open(os.environ["PERF_ACK"])
def command(word):
    ctl.write(word + "\n"); ctl.flush(); ack.readline()
loop = Kernel.run
def sampled(self, *args, **kwargs):
    command("enable")
    try:
        return loop(self, *args, **kwargs)
    finally:
        command("disable")
Kernel.run = sampled
scenario = meshsim.load(sys.argv[1])
attempts = 0
for _ in range(int(sys.argv[3])):
    attempts += len(meshsim.simulate(scenario, duration=float(sys.argv[2])).attempts)
print(meshsim.build(), attempts)' "$scenario" "$seconds" "$runs" > "$out/stdout" 2> "$out/log"
read -r build attempts < "$out/stdout"
perf report -i "$out/perf.data" --no-children --sort dso,symbol -n --stdio 2> /dev/null |
    awk -v n="$attempts" -v build="$build" -v scenario="$scenario" '
        /^ *[0-9.]+%/ { ns = $2 * 250000 / n; total += ns; sub(/^ *[0-9.]+% +[0-9]+ +/, "");
                        sub(/[ -]+$/, ""); gsub(/ +/, " ");
                        if (ns >= 10) printf "%8.1f  %s\n", ns, $0 }
        END { printf "%8.1f  ns per hop attempt in the loop (%s build, %s, %d attempts)\n",
              total, build, scenario, n }' | sort -rn
