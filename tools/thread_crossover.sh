#!/usr/bin/env bash
# Where a second thread starts paying for mu and hals: one iteration's median time (nmfx bench) on
# 1 and on 2 threads at sizes from a 625 x 100 ratings-sized matrix up, alternating 1 and 2 threads
# per size, each pair measured `rounds` times; the table gives the best of the rounds per cell.
# The scheduler's rule (kThreadCrossoverMNL in framework/host/include/nmfx/host/scheduler.hpp)
# comes from this table; docs/scheduling.md holds it.
# Usage: tools/thread_crossover.sh [path/to/nmfx] [rounds] [size ...]
set -euo pipefail
nmfx=${1:-nmfx}
rounds=${2:-3}
shift 2 || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(625x100:20 1000x500:20 2000x500:20 2000x1000:20 2000x1500:30 3000x2000:30 4000x3000:40)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for s in "${sizes[@]}"; do
    for t in 1 2; do
      "$nmfx" bench --solver mu --solver hals --size "$s" --sparse none --threads "$t" --no-compare --repeat 15 \
        --json "$work/$s.$t.$r.json" > /dev/null 2>&1
    done
  done
done
python3 - "$work" "${sizes[@]}" <<'PY'
import glob, json, os, sys
work, sizes = sys.argv[1], sys.argv[2:]
def best(size, threads, solver):
    ts = []
    for f in glob.glob(os.path.join(work, f"{size}.{threads}.*.json")):
        p = json.load(open(f))["selected"]["problems"][0]
        ts.append(p["solvers"][solver]["iteration_seconds"])
    return min(ts) * 1e3
print("| M x N : L | M·N·L | mu 1 thread (ms) | mu 2 threads (ms) | mu 1t/2t | hals 1 thread (ms) | hals 2 threads (ms) | hals 1t/2t |")
print("|---|---|---|---|---|---|---|---|")
for s in sizes:
    mn, l = s.split(":"); m, n = mn.split("x")
    row = [s, f"{int(m) * int(n) * int(l):.2e}"]
    for solver in ("mu", "hals"):
        a, b = best(s, 1, solver), best(s, 2, solver)
        row += [f"{a:.3f}", f"{b:.3f}", f"{a / b:.2f}"]
    print("| " + " | ".join(row) + " |")
PY
