#!/usr/bin/env bash
# Times one grid of small cells two ways in the same session, alternating, several times:
#   "all threads":      one cell at a time, each with every core   (nmfx run --jobs 1)
#   "automatic packing": nmfx's scheduler chooses                   (nmfx run)
# and prints min and median wall time of each and their ratio. The grid: a 625 x 100 synthetic X,
# ranks 5..40, solvers mu, hals and pgd, 5 seeds (120 cells).
# Usage: tools/bench_grid.sh [path/to/nmfx] [repeats] [iterations per cell]
set -euo pipefail
nmfx=${1:-nmfx}
repeats=${2:-3}
iterations=${3:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/grid.yaml" <<'SPEC'
name: bench_grid
datasets: [{name: synthetic, params: {m: 625, n: 100, rank: 20, noise: 0.01}}]
solvers: [mu, hals, pgd]
losses: [frobenius]
ranks: [5, 10, 15, 20, 25, 30, 35, 40]
seeds: [0, 1, 2, 3, 4]
stopping: {max_iter: ITERATIONS}
checkpoints: {every: 50}
metrics: [relative_error]
SPEC
sed -i "s/ITERATIONS/$iterations/" "$work/grid.yaml"
time_run() {  # seconds of wall time of one whole grid
  local out="$work/out_$1_$2"; shift 2
  local t0 t1
  t0=$EPOCHREALTIME
  "$nmfx" run "$work/grid.yaml" -o "$out" --quiet "$@" > /dev/null
  t1=$EPOCHREALTIME
  rm -rf "$out"
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
seq_times=(); packed_times=()
for r in $(seq 1 "$repeats"); do
  seq_times+=("$(time_run seq "$r" --jobs 1)")
  packed_times+=("$(time_run packed "$r")")
done
python3 - "${#seq_times[@]}" "${seq_times[@]}" "${packed_times[@]}" "$iterations" <<'PY'
import statistics, sys
n = int(sys.argv[1]); s = [float(x) for x in sys.argv[2:2 + n]]; p = [float(x) for x in sys.argv[2 + n:2 + 2 * n]]
print(f"cores: {__import__('os').cpu_count()}, 120 cells (625x100, ranks 5-40, mu/hals/pgd, 5 seeds, {sys.argv[-1]} iterations), {n} runs each")
print("| run | min s | median s |")
print("|---|---|---|")
print(f"| one cell at a time, all threads (--jobs 1) | {min(s):.2f} | {statistics.median(s):.2f} |")
print(f"| automatic packing | {min(p):.2f} | {statistics.median(p):.2f} |")
print(f"| speed-up | {min(s)/min(p):.2f}x | {statistics.median(s)/statistics.median(p):.2f}x |")
PY
