#!/usr/bin/env bash
# Distributed cells (spec key `distribute`): one cell factored by all MPI processes together.
# (1) mu, hals and anls_bpp (Frobenius; hals and anls_bpp also with diagonal_scaling) and mu (KL), on dense and sparse X whose shapes do not
#     divide evenly, under mpirun -np 1, 2, 4 and 6 (grids 1x1, 2x1, 2x2, 3x2), give the iterates of
#     the single-process run: every checkpoint's loss and metrics, and the final W and H, to 1e-10
#     relative; two runs on one grid give the same bits; a cell that fails, fails on every process
#     and the grid goes on.
# (2) The bytes each process sends per iteration are PLANC's formula on shapes that divide evenly.
# (3) X larger than each process's memory limit (RLIMIT_DATA): one process fails, four succeed.
# Usage: distributed.sh NMFX WORKDIR
set -euo pipefail
nmfx=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
py=/usr/bin/python3

# Dense 37 x 29 (.npy) and sparse 41 x 33 (.mtx, 15% dense, with an empty row and an empty column).
$py - <<'PY'
import numpy as np, scipy.io, scipy.sparse as sp
rng = np.random.default_rng(7)
np.save("dense.npy", rng.random((37, 4)) @ rng.random((4, 29)) + 0.01 * rng.random((37, 29)))
S = sp.random(41, 33, density=0.15, random_state=3, format="lil")
S[5, :] = 0
S[:, 7] = 0
scipy.io.mmwrite("sparse.mtx", S.tocoo())
PY

spec() {  # spec NAME OUTPUT GRID(or "") -> NAME.yaml
  cat > "$1.yaml" <<SPEC
name: $1
datasets:
  - {name: npy, params: {path: dense.npy}}
  - {name: mtx, params: {path: sparse.mtx}}
  - {name: synthetic, params: {m: 31, n: 26, rank: 3, noise: 0.05, seed: 2}}
solvers: [mu, hals, anls_bpp, {name: hals, params: {diagonal_scaling: true}}, {name: anls_bpp, params: {diagonal_scaling: true}}]
losses: [frobenius]
ranks: [3, 40]
seeds: [1]
stopping: {max_iter: 12}
checkpoints: {every: 3}
metrics: [relative_error, loss, sparsity, kkt]
threads: 1
save_factors: true
output: $2
SPEC
  cat > "$1_kl.yaml" <<SPEC
name: $1_kl
datasets:
  - {name: mtx, params: {path: sparse.mtx}}
  - {name: npy, params: {path: dense.npy}}
solvers: [mu]
losses: [kl]
ranks: [4]
seeds: [2]
stopping: {max_iter: 12}
checkpoints: {every: 3}
metrics: [relative_error, loss, kkt]
threads: 1
save_factors: true
output: $2
SPEC
  if [ -n "$3" ]; then printf 'distribute: {grid: %s}\n' "$3" | tee -a "$1.yaml" >> "$1_kl.yaml"; fi
}

# The rank-40 cells fail (rank > min(M, N)), so nmfx exits 1 on these grids; the checks below read
# every result.
spec single single ""
"$nmfx" run single.yaml -q > single.log 2>&1 || true
"$nmfx" run single_kl.yaml -q >> single.log 2>&1 || { cat single.log; exit 1; }
for run in "1 [1, 1]" "2 [2, 1]" "4 [2, 2]" "6 [3, 2]" "4 [2, 2] again"; do
  set -- $run
  np=$1; grid="$2 $3"; name=np$np${4:-}
  spec "$name" "$name" "$grid"
  mpirun --oversubscribe -np "$np" "$nmfx" run "$name.yaml" > "$name.log" 2>&1 || true
  mpirun --oversubscribe -np "$np" "$nmfx" run "${name}_kl.yaml" >> "$name.log" 2>&1 || { cat "$name.log"; exit 1; }
done

$py - <<'PY'
import json, pathlib, numpy as np
def load(d):
    return {p.name: json.loads(p.read_text()) for p in pathlib.Path(d).glob("*.json") if p.name != "spec.json"}
def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))
single = load("single")
assert len(single) == 3 * 5 * 2 + 2, len(single)
for np_, grid in (("np1", None), ("np2", [2, 1]), ("np4", [2, 2]), ("np6", [3, 2])):
    other = load(np_)
    assert other.keys() == single.keys(), (np_, sorted(set(single) ^ set(other)))
    worst = 0.0
    for f, a in single.items():
        b = other[f]
        what = f"{np_} {a['cell']['solver']['name']}/{a['cell']['loss']['name']} on {a['cell']['dataset']['name']} rank {a['cell']['rank']}"
        if a["status"] != "ok":  # rank 40 > min(M, N): fails alike on every process, and the grid goes on
            assert b["status"] == "failed" and "exceeds min(M, N)" in b["message"], (what, b["message"])
            continue
        assert b["status"] == "ok", (what, b["message"])
        if grid:
            assert b["environment"]["distributed"]["grid"] == grid, (what, b["environment"]["distributed"])
        for col in ("loss", "relative_error", "kkt_projected_gradient", "sparsity_W", "sparsity_H"):
            if col in a["trace"]:
                worst = max(worst, rel(a["trace"][col], b["trace"][col]))
                assert rel(a["trace"][col], b["trace"][col]) <= 1e-10, (what, col, a["trace"][col], b["trace"][col])
        for w in "WH":
            x = np.load(pathlib.Path("single", a["factors"][w]))
            y = np.load(pathlib.Path(np_, b["factors"][w]))
            assert x.shape == y.shape, (what, w, x.shape, y.shape)
            worst = max(worst, rel(x, y))
            assert rel(x, y) <= 1e-10, (what, w, rel(x, y))
    print(f"{np_}: {len(single)} cells equal to the single-process run (largest relative difference {worst:.1e})")
again, four = load("np4again"), load("np4")
for f, a in four.items():
    if a["status"] == "ok":
        for w in "WH":
            assert np.array_equal(np.load(pathlib.Path("np4", a["factors"][w])), np.load(pathlib.Path("np4again", a["factors"][w]))), f
        assert a["trace"]["loss"] == again[f]["trace"]["loss"], f
print("np4 twice: the same bits")
PY

# (2) Bytes per iteration against PLANC's formula, on 48 x 36 with L = 6: every block, every piece of
# a gather and every piece of the L x L all-reduce splits evenly, so every process sends exactly it.
cat > bytes.yaml <<'SPEC'
name: bytes
datasets: [{name: synthetic, params: {m: 48, n: 36, rank: 4, seed: 1}}]
solvers: [mu, anls_bpp]
losses: [frobenius]
ranks: [6]
stopping: {max_iter: 6}
checkpoints: {every: 2}
threads: 1
output: bytes
SPEC
for grid in "2 1" "2 2" "3 2" "4 1"; do
  set -- $grid
  name=bytes_$1x$2
  sed "s/output: bytes/output: $name/" bytes.yaml > "$name.yaml"
  printf 'distribute: {grid: [%s, %s]}\n' "$1" "$2" >> "$name.yaml"
  mpirun --oversubscribe -np $(($1 * $2)) "$nmfx" run "$name.yaml" -q > bytes.log 2>&1 || { cat bytes.log; exit 1; }
done
$py - <<'PY'
import json, pathlib
M, N, L = 48, 36, 6
for d in sorted(pathlib.Path(".").glob("bytes_*")):
    if not d.is_dir(): continue
    for f in d.glob("*.json"):
        if f.name == "spec.json": continue
        r = json.loads(f.read_text())
        dist = r["environment"]["distributed"]
        pr, pc = dist["grid"]
        p = pr * pc
        words = 2 * ((pc - 1) / pc * M * L / pr + (pr - 1) / pr * N * L / pc) + 4 * (p - 1) / p * L * L
        measured = r["trace"]["comm_bytes_per_iteration"][1:]
        assert all(abs(m - 8 * words) <= 1e-9 * words for m in measured), (d.name, measured, 8 * words)
        assert abs(dist["planc_bytes_per_iteration"] - 8 * words) < 1e-6
        for proc in dist["per_process"]:  # every process sends the same on an even split
            assert abs(proc["bytes_sent"] - 8 * words * r["iterations"]) <= 1e-9 * words, (d.name, proc)
        print(f"{pr}x{pc} {r['cell']['solver']['name']}: {measured[0]:.0f} bytes per iteration per process = PLANC's formula")
PY

# (3) X larger than the memory each process may allocate (RLIMIT_DATA, `ulimit -d`). A tiny
# distributed run's least limit B is found by bisection (OpenBLAS's buffers alone take ~250 MB);
# then X is 10000 x 10000 doubles (800 MB) and each process gets B plus 1.25 times its quarter of X,
# which is less than X: one process cannot load X under it, four processes factor it.
cat > tiny.yaml <<'SPEC'
name: tiny
datasets: [{name: synthetic, params: {m: 40, n: 30, rank: 3}}]
solvers: [mu]
ranks: [3]
stopping: {max_iter: 3}
metrics: [relative_error]
threads: 1
output: tiny
distribute: {grid: [2, 2]}
SPEC
# limited NP KIB SPEC SECONDS: nmfx run SPEC on NP processes, each under ulimit -d KIB, for at most
# SECONDS (just below what OpenBLAS needs it retries its allocation forever); status 0 if its cell is ok.
limited() {
  rm -rf "$(sed -n 's/^output: //p' "$3")"
  # Each process is killed (SIGKILL: a process stuck in OpenBLAS's loop ignores gentler signals) by
  # its own timeout, so that none outlives the test; mpirun then ends the job.
  if [ "$1" = 1 ]; then
    (ulimit -d "$2" && OPENBLAS_NUM_THREADS=1 timeout -s KILL "$4" "$nmfx" run "$3" -q) > limited.log 2>&1 || return 1
  else
    mpirun --oversubscribe -np "$1" bash -c \
      "ulimit -d $2 && OPENBLAS_NUM_THREADS=1 exec timeout -s KILL $4 '$nmfx' run '$3' -q" > limited.log 2>&1 || return 1
  fi
}
lo=$((128 * 1024)) hi=$((1024 * 1024))
limited 4 $hi tiny.yaml 60 || { cat limited.log; exit 1; }
while [ $((hi - lo)) -gt $((16 * 1024)) ]; do
  mid=$(((lo + hi) / 2))
  if limited 4 $mid tiny.yaml 15; then hi=$mid; else lo=$mid; fi
done
x_kib=$((10000 * 10000 * 8 / 1024))
limit=$((hi + x_kib / 4 * 5 / 4))
echo "a tiny run needs ${hi} KiB per process; X is ${x_kib} KiB; each process may allocate ${limit} KiB"
[ $limit -lt $x_kib ] || { echo "the limit is not below the size of X"; exit 1; }
cat > big1.yaml <<'SPEC'
name: big
datasets: [{name: synthetic, params: {m: 10000, n: 10000, rank: 5, seed: 4}}]
solvers: [mu]
ranks: [5]
stopping: {max_iter: 3}
metrics: [relative_error]
threads: 1
output: big1
SPEC
sed 's/output: big1/output: big4/' big1.yaml > big4.yaml
printf 'distribute: {grid: [2, 2]}\n' >> big4.yaml
if limited 1 $limit big1.yaml 120; then echo "one process loaded all of X under the limit"; exit 1; fi
limited 4 $limit big4.yaml 300 || { cat limited.log; exit 1; }
$py - <<'PY'
import json, pathlib
four = [json.loads(p.read_text()) for p in pathlib.Path("big4").glob("*.json") if p.name != "spec.json"]
assert len(four) == 1 and four[0]["status"] == "ok", four
print("10000 x 10000 X (800 MB): one process fails under the limit, four factor it;",
      "relative error", four[0]["final"]["relative_error"])
PY
