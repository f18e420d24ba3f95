#!/usr/bin/env bash
# A grid over MPI ranks that is interrupted: (1) Ctrl-C to mpirun (which passes SIGTERM to every
# rank and SIGKILL a second later), (2) one rank process killed with SIGKILL (Open MPI then ends the
# whole job). Either way: every finished cell is kept, no file is torn or left behind, the running
# cells are recorded interrupted (or missing, for the lost rank's cell), summary.jsonl lists exactly
# the result files, and --resume runs exactly the cells not ok, after which all are ok.
# Usage: interrupt.sh NMFX WORKDIR
set -euo pipefail
nmfx=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=(mpirun --oversubscribe -np 3)

# Cells of a few seconds each (3000 iterations on 1000 x 800), so that some finish and two are
# running when the signal comes, even on an idle machine.
cat > slow.yaml <<'SPEC'
name: mpi_interrupt
datasets: [{name: synthetic, params: {m: 1000, n: 800, rank: 5}}]
solvers: [mu, hals]
losses: [frobenius]
ranks: [4, 5]
seeds: [0, 1]
stopping: {max_iter: 3000}
checkpoints: {every: 500}
metrics: [relative_error]
threads: 1
SPEC

# Waits until `n` result files are in folder $1 (at most a minute).
wait_for_results() {
  for _ in $(seq 1 600); do
    [ "$(find "$1" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "fewer than $2 results in $1 after a minute"; return 1
}

# What an interrupted run left in folder $1: checked, and the ids that are not ok printed.
check_left() {
  python3 - "$1" <<'PY'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
stray = [p.name for p in d.iterdir() if ".tmp" in p.name]
assert not stray, f"temporary files left: {stray}"
results = {}
for p in d.glob("*.json"):
    r = json.loads(p.read_text())  # a torn file would not parse
    assert p.stem == r["id"], p
    results[r["id"]] = r
ok = [i for i, r in results.items() if r["status"] == "ok"]
interrupted = [i for i, r in results.items() if r["status"] == "interrupted"]
assert len(ok) + len(interrupted) == len(results), {r["status"] for r in results.values()}
assert ok, "no cell finished before the signal"
assert len(results) < 8, "the grid finished before the signal"
for i in interrupted:
    r = results[i]
    assert "SIGTERM" in r["message"] or "SIGINT" in r["message"], r["message"]
    assert r["trace"]["iteration"][0] == 0, "an interrupted cell keeps its trace so far"
summary = [json.loads(l) for l in (d / "summary.jsonl").read_text().splitlines()]
listed = {s["id"] for s in summary}
assert len(listed) == len(summary), "a cell listed twice"
assert listed <= set(results), "the summary lists a cell without a result file"
# Every finished cell is in the summary (an interrupted one may miss it if its rank was killed
# before it could report; its file is there and --resume runs it again).
assert set(ok) <= listed, set(ok) - listed
print(f"{len(ok)} ok, {len(interrupted)} interrupted, {8 - len(results)} missing; summary lists {len(listed)}")
print(" ".join(sorted(ok)))
PY
}

# --resume in folder $1 keeps exactly the ok cells ($2 of them) and runs the rest.
check_resume() {
  local kept=$2
  "${mpirun[@]}" "$nmfx" run slow.yaml -o "$1" --resume > "$1.resume.log" 2>&1 || { cat "$1.resume.log"; exit 1; }
  grep -q "^$((8 - kept)) ok, 0 failed, 0 skipped, $kept kept from an earlier run" "$1.resume.log" ||
    { echo "--resume did not keep exactly the $kept ok cells:"; cat "$1.resume.log"; exit 1; }
  python3 - "$1" <<'PY'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
rs = [json.loads(p.read_text()) for p in d.glob("*.json")]
assert len(rs) == 8 and all(r["status"] == "ok" for r in rs), [r["status"] for r in rs]
assert len((d / "summary.jsonl").read_text().splitlines()) == 8
assert not [p for p in d.iterdir() if ".tmp" in p.name]
PY
}

# (1) Ctrl-C to mpirun once two cells are done.
"${mpirun[@]}" "$nmfx" run slow.yaml -o int > int.log 2>&1 &
runner=$!
wait_for_results int 2
kill -INT "$runner"
status=0
wait "$runner" || status=$?
# Open MPI's mpirun exits 1 after a signal of its own, whatever its ranks return.
[ "$status" -ne 0 ] || { echo "mpirun exited 0 after SIGINT"; cat int.log; exit 1; }
left=$(check_left int) || { echo "$left"; cat int.log; exit 1; }
echo "SIGINT to mpirun: $(echo "$left" | head -n 1)"
ok_before=$(echo "$left" | sed -n 2p)
check_resume int "$(echo "$ok_before" | wc -w)"
for id in $ok_before; do  # the finished cells were not run again
  grep -q "\"$id\"" int/summary.jsonl
done

# (2) SIGKILL to one rank process (not rank 0, whose loss ends the grid's bookkeeping) once two
# cells are done: Open MPI ends the job; the other ranks record their cells interrupted.
"${mpirun[@]}" "$nmfx" run slow.yaml -o lost > lost.log 2>&1 &
runner=$!
wait_for_results lost 2
victim=""
for _ in $(seq 1 100); do  # a rank with a worker child (not rank 0, which runs no cells)
  for rank in $(pgrep -P "$runner"); do
    if [ -n "$(pgrep -P "$rank" || true)" ]; then victim=$rank; break 2; fi
  done
  sleep 0.05
done
[ -n "$victim" ] || { echo "no rank with a running worker"; cat lost.log; exit 1; }
kill -9 "$victim"
status=0
wait "$runner" || status=$?
[ "$status" -ne 0 ] || { echo "mpirun exited 0 after losing a rank"; cat lost.log; exit 1; }
left=$(check_left lost) || { echo "$left"; cat lost.log; exit 1; }
echo "a rank killed with SIGKILL: $(echo "$left" | head -n 1)"
check_resume lost "$(echo "$left" | sed -n 2p | wc -w)"
echo "--resume ran exactly the cells that were not ok, twice"
