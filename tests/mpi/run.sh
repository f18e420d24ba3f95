#!/usr/bin/env bash
# The grid over MPI ranks: (1) mpirun -np 3 writes the result files of a sequential run (same ids,
# same values at every checkpoint) and one summary; (2) killing one rank's worker process mid-grid
# loses only that cell (recorded crashed, SIGKILL), every other cell is ok.
# Usage: run.sh NMFX WORKDIR
set -euo pipefail
nmfx=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=(mpirun --oversubscribe -np 3)

cat > grid.yaml <<'SPEC'
name: mpi
datasets: [{name: synthetic, params: {m: 60, n: 40, rank: 4, noise: 0.01}}]
solvers: [mu, hals, pgd]
losses: [frobenius]
ranks: [2, 3, 4]
seeds: [0, 1]
stopping: {max_iter: 20}
checkpoints: {every: 5}
metrics: [relative_error]
threads: 1
SPEC
"$nmfx" run grid.yaml -q --jobs 1 -o seq > seq.log 2>&1
"${mpirun[@]}" "$nmfx" run grid.yaml -o par > par.log 2>&1 || { cat par.log; exit 1; }
python3 - seq par <<'PY'
import json, pathlib, sys
def load(d):
    return {json.loads(p.read_text())["id"]: json.loads(p.read_text()) for p in pathlib.Path(d).glob("*.json")}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == 18 and a.keys() == b.keys(), (len(a), len(b))
for i in a:
    assert b[i]["status"] == "ok", b[i]["message"]
    for col in ("iteration", "loss", "relative_error"):
        assert a[i]["trace"][col] == b[i]["trace"][col], (i, col)
lines = pathlib.Path(sys.argv[2], "summary.jsonl").read_text().splitlines()
assert len(lines) == 18 and {json.loads(l)["id"] for l in lines} == a.keys()
print("mpirun -np 3: 18 results equal to the sequential run's")
PY

# (2) Cells slow enough (a few seconds each: 3000 iterations on 1000 x 800) that workers are running
# when one is killed, even on an idle machine.
cat > slow.yaml <<'SPEC'
name: mpi_slow
datasets: [{name: synthetic, params: {m: 1000, n: 800, rank: 5}}]
solvers: [mu, hals]
losses: [frobenius]
ranks: [3, 4, 5]
seeds: [0, 1]
stopping: {max_iter: 3000}
checkpoints: {every: 500}
metrics: [relative_error]
threads: 1
SPEC
"${mpirun[@]}" "$nmfx" run slow.yaml -o slow > slow.log 2>&1 &
runner=$!
victim=""
sleep 2  # past rank 0's probes of the datasets' shapes: from now on a grandchild of mpirun is a worker
for _ in $(seq 1 300); do
  for rank in $(pgrep -P "$runner" || true); do
    victim=$(pgrep -P "$rank" | head -n 1 || true)
    [ -z "$victim" ] || break 2
  done
  sleep 0.1
done
[ -n "$victim" ] || { echo "no worker process found"; cat slow.log; exit 1; }
kill -9 "$victim"
status=0
wait "$runner" || status=$?
[ "$status" -eq 1 ] || { echo "mpirun exit status $status, expected 1"; cat slow.log; exit 1; }
python3 - slow <<'PY'
import json, pathlib, sys
rs = [json.loads(p.read_text()) for p in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(rs) == 12, len(rs)
bad = [r for r in rs if r["status"] != "ok"]
assert len(bad) == 1 and bad[0]["status"] == "crashed" and "SIGKILL" in bad[0]["message"], [r["message"] for r in bad]
print("a killed worker lost only its cell:", bad[0]["message"])
PY
