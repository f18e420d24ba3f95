#!/usr/bin/env bash
# A rank lost mid-grid while Open MPI keeps the others running (mpirun --enable-recovery --mca
# orte_abort_on_non_zero_status 0). (1) One worker rank killed with SIGKILL: rank 0 hears nothing
# from it for --rank-timeout seconds, hands its cell to the other rank, and the grid ends with every
# cell ok and equal to a sequential run's. (2) Both worker ranks killed, the second while it runs
# the first one's cell: that cell is recorded rank_lost, the cells no rank was left to run are
# missing, the summary is written and the job still ends. Either way: bounded time, nothing torn.
# Usage: lost_rank.sh NMFX WORKDIR
set -euo pipefail
nmfx=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=(mpirun --oversubscribe -np 3 --enable-recovery --mca orte_abort_on_non_zero_status 0)
timeout_s=4  # --rank-timeout: short, so that the test takes seconds

# Cells of about a second each (600 iterations on 1000 x 800), so that a rank holds one when it is killed.
cat > grid.yaml <<'SPEC'
name: mpi_lost_rank
datasets: [{name: synthetic, params: {m: 1000, n: 800, rank: 5}}]
solvers: [mu, hals]
losses: [frobenius]
ranks: [4, 5]
seeds: [0, 1]
stopping: {max_iter: 600}
checkpoints: {every: 150}
metrics: [relative_error]
threads: 1
SPEC
"$nmfx" run grid.yaml -q --jobs 1 -o seq > seq.log 2>&1

# The pid of MPI rank $2 of the job mpirun $1 started.
rank_pid() {
  for p in $(pgrep -P "$1"); do
    tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
  done
  return 0
}
# The pid of a worker rank (1 or 2) that has a worker process running a cell, or "".
rank_with_worker() {
  for r in 1 2; do
    p=$(rank_pid "$1" $r)
    [ -n "$p" ] && [ -n "$(pgrep -P "$p" || true)" ] && { echo "$p"; return; }
  done
  return 0
}
# Waits (at most 30 s) until file $1 has a line matching $2.
wait_for_line() {
  for _ in $(seq 1 300); do grep -q "$2" "$1" && return 0; sleep 0.1; done
  echo "no line '$2' in $1 after 30 s"; cat "$1"; return 1
}
# Waits for the job $1 at most $2 seconds; its exit status, or fails when it is still running.
wait_bounded() {
  for _ in $(seq 1 $(($2 * 10))); do kill -0 "$1" 2> /dev/null || { wait "$1"; return $?; }; sleep 0.1; done
  echo "mpirun still running $2 s after the rank was lost"; kill -9 "$1"; return 124
}

# What the run left in folder $1, checked against the sequential run: prints "ok lost missing".
check() {
  python3 - seq "$1" <<'PY'
import json, pathlib, sys
seq, d = (pathlib.Path(a) for a in sys.argv[1:3])
assert not [p.name for p in d.iterdir() if ".tmp" in p.name], "temporary files left"
ref = {p.stem: json.loads(p.read_text()) for p in seq.glob("*.json")}
results = {p.stem: json.loads(p.read_text()) for p in d.glob("*.json")}  # a torn file would not parse
assert len(ref) == 8 and set(results) <= set(ref), (len(ref), set(results) - set(ref))
lost = []
for i, r in results.items():
    assert r["id"] == i
    if r["status"] == "rank_lost":
        assert "ranks" in r["message"] and "lost" in r["message"], r["message"]
        lost.append(i)
        continue
    assert r["status"] == "ok", (i, r["status"], r["message"])
    assert r["iterations"] == ref[i]["iterations"], i
    for col in ("iteration", "loss", "relative_error"):
        assert r["trace"][col] == ref[i]["trace"][col], (i, col)
summary = [json.loads(l) for l in (d / "summary.jsonl").read_text().splitlines()]
assert sorted(s["id"] for s in summary) == sorted(results), "summary.jsonl lists exactly the result files once"
assert all(s["status"] == results[s["id"]]["status"] for s in summary)
print(len(results) - len(lost), len(lost), 8 - len(results))
PY
}

# (1) One worker rank killed once a cell is done: its cell goes to the other rank.
start=$SECONDS
"${mpirun[@]}" "$nmfx" run grid.yaml -o one --rank-timeout $timeout_s > one.log 2>&1 &
runner=$!
until [ "$(find one -maxdepth 1 -name '*.json' 2> /dev/null | wc -l)" -ge 1 ]; do sleep 0.05; done
victim=""
for _ in $(seq 1 200); do victim=$(rank_with_worker "$runner"); [ -n "$victim" ] && break; sleep 0.05; done
[ -n "$victim" ] || { echo "no rank with a running worker"; cat one.log; exit 1; }
kill -9 "$victim"
wait_bounded "$runner" 40 || { cat one.log; exit 1; }
grep -q "MPI rank [12] lost (nothing heard from it for $timeout_s s); its cell [0-9a-f]* goes to another rank" one.log ||
  { echo "rank 0 did not report the lost rank"; cat one.log; exit 1; }
grep -q "^8 ok, 0 failed" one.log || { echo "not every cell ok after losing a rank:"; cat one.log; exit 1; }
read -r ok lost missing <<< "$(check one)" || { cat one.log; exit 1; }
[ "$ok" = 8 ] || { echo "$ok ok, $lost lost, $missing missing"; cat one.log; exit 1; }
echo "a rank lost: its cell run by the other rank, 8 cells ok and equal to the sequential run ($((SECONDS - start)) s)"

# (2) The first rank killed, then the second while it runs the first one's cell.
start=$SECONDS
"${mpirun[@]}" "$nmfx" run grid.yaml -o two --rank-timeout $timeout_s > two.log 2>&1 &
runner=$!
first=""
for _ in $(seq 1 600); do first=$(rank_with_worker "$runner"); [ -n "$first" ] && break; sleep 0.05; done
[ -n "$first" ] || { echo "no rank with a running worker"; cat two.log; exit 1; }
kill -9 "$first"
wait_for_line two.log "goes to another rank"
handed=$(grep -o "its cell [0-9a-f]* goes to another rank" two.log | head -n 1 | awk '{print $3}')
second=""
for r in 1 2; do p=$(rank_pid "$runner" $r); [ -n "$p" ] && [ "$p" != "$first" ] && second=$p; done
[ -n "$second" ] || { echo "no second worker rank"; cat two.log; exit 1; }
# Killed while its worker runs the handed cell: a worker's process name is nmfx-<first 10 of its
# cell id>. (Waiting for "the next worker" raced: rank 0 may hand the cell over before the log
# line is read, and the next worker then runs another cell.)
found=""
for _ in $(seq 1 500); do
  for c in $(pgrep -P "$second" || true); do
    [ "$(cat "/proc/$c/comm" 2> /dev/null)" = "nmfx-${handed:0:10}" ] && found=$c
  done
  [ -n "$found" ] && break
  sleep 0.02
done
[ -n "$found" ] || { echo "the handed cell $handed was not seen running on the second rank"; cat two.log; exit 1; }
kill -9 "$second"
status=0
wait_bounded "$runner" 40 || status=$?
[ "$status" -ne 124 ] || { cat two.log; exit 1; }
grep -q "is recorded rank_lost (its second rank lost)" two.log || { echo "no cell recorded rank_lost"; cat two.log; exit 1; }
grep -q "^[0-9] ok, 1 failed" two.log || { echo "rank 0 did not count the lost cell failed"; cat two.log; exit 1; }
read -r ok lost missing <<< "$(check two)" || { cat two.log; exit 1; }
[ "$lost" = 1 ] || { echo "$ok ok, $lost lost, $missing missing"; cat two.log; exit 1; }
echo "both ranks lost: $ok ok, 1 rank_lost, $missing not run ($((SECONDS - start)) s)"
