#!/usr/bin/python3
"""nmfx against scikit-learn, RcppML and R's NMF package: time to reach the best error any of them reaches.

    /usr/bin/python3 tools/compare_peers.py [--cases all|small|NAME,...] [--ranks 20,60] [--losses frobenius,kl]
                                            [--budget 10] [--threads 2] [--nmfx build/nmfx] [--data data]
                                            [--out DIR] [--json FILE] [--sklearn-malloc tuned|default]

For every case (a matrix, a loss, a rank) each library runs each of its candidate settings from
the same start where it accepts one, for about --budget seconds of its own solver time, and
records its error against its own solver time. The best error any run reaches is E*; the table
gives, per library, the earliest time its best setting gets within 1% of E* (E* x 1.01), and which
setting that was. "-" means no setting of that library got there within the budget.

Matrices: `faces` (tools/get-data's lfw_subset.npy, 625 pixels x 200 images), `digits` (its
digits.csv.gz, 64 pixels x 1797 images, three all-zero rows), `text` (the first 20000 Debian
package descriptions, term counts of the 5000 most frequent words that are not English stop words
and occur in at least 5 of them, 5000 x 20000 sparse), `dense` (a planted rank-20 product plus 10%
noise, 2000 x 1500) and `sparse` (20000 x 5000, 1% nonzeros, the planted values at random
positions). Errors: the relative error ||X - WH||_F / ||X||_F for Frobenius, the generalized KL
divergence D(X || WH) divided by sum(X) for KL, both computed here from each library's factors
(nmfx's own trace gives the same numbers).

Settings, each library's candidates (all without early stopping):
  nmfx          Frobenius: hals, accel_hals (its defaults, and epsilon = 0.5 with rho_formula = gillis),
                anls_bpp; KL: mu, cd_kl.
  scikit-learn  NMF(solver="cd") and NMF(solver="mu") for Frobenius; "mu" for KL (its only KL solver).
  RcppML        nmf(diag = TRUE, its default and recommended setting), Frobenius only (it has no KL),
                from its own random start (it takes no initial factors), seed 1.
  R NMF         the update kernels of its methods "lee" (Frobenius) and "brunet" (KL), Lee & Seung's
                multiplicative updates (nmf_update.euclidean.h/w, nmf_update.KL.h/w), called in a loop:
                nmf() itself spends about 2.5 s per call on setup here. Dense X only (it has no sparse path).
nmfx, scikit-learn and R NMF start from the same W0, H0 (scikit-learn's random init,
|N(0, 1)| sqrt(mean(X) / L)). scikit-learn and RcppML have no time callback: they are run again with 1, 2, 4, ... iterations
from the same start (after one warm-up call), and each run's own time is recorded with its error;
R NMF's loop records its factors at iterations 1, 2, 4, ... with the clock stopped; nmfx records its
trace at log-spaced checkpoints with the clock stopped.

Threads: --threads for nmfx, for scikit-learn's OpenBLAS and for RcppML (OpenMP); R NMF runs its
updates on one core. scikit-learn allocates fresh arrays every iteration; glibc's malloc returns
large ones to the system at once (mmap), so each iteration pays for fresh pages (about 10 us per
4 KiB page on this VM). --sklearn-malloc tuned (the default) runs it with MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ raised to 1 GiB, so the figures measure the implementation, not the
allocator; --sklearn-malloc default gives what a user gets with default settings.

Needs Debian's python3-sklearn, r-base-core, r-cran-rcppml and r-cran-nmf (tools/setup), the data of
tools/get-data, and a built nmfx.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# nmfx's candidates: (solver, params), the same on every case. accel_hals runs twice: with the
# paper's epsilon = 0.1, and with epsilon = 0.5 and the rho of Gillis & Glineur's code, fewer inner
# sweeps, which pays on small matrices where a sweep costs about as much as the products.
NMFX_SOLVERS = {"frobenius": [("hals", {}), ("accel_hals", {}),
                              ("accel_hals", {"epsilon": 0.5, "rho_formula": "gillis"}), ("anls_bpp", {})],
                "kl": [("mu", {}), ("cd_kl", {})]}


def nmfx_label(solver, params):
    """hals, or accel_hals epsilon=0.5 rho_formula=gillis."""
    return " ".join([solver] + [f"{k}={v}" for k, v in params.items()])
SKLEARN_SOLVERS = {"frobenius": ["cd", "mu"], "kl": ["mu"]}
RNMF_METHOD = {"frobenius": "lee", "kl": "brunet"}
CASES = ["faces", "digits", "dense", "sparse", "text"]
SMALL = ["faces", "digits"]


# ---------------------------------------------------------------- data

def load_case(name, data):
    rng = np.random.default_rng(0)
    if name == "faces":
        A = np.load(os.path.join(data, "lfw_subset.npy"))
        return A.reshape(A.shape[0], -1).T.astype(np.float64)
    if name == "digits":
        with gzip.open(os.path.join(data, "digits.csv.gz"), "rt") as f:
            A = np.loadtxt(f, delimiter=",")
        return A[:, :64].T.copy()
    if name == "dense":
        M, N, L = 2000, 1500, 20
        return rng.random((M, L)) @ rng.random((L, N)) + 0.1 * rng.random((M, N)) * L / 4
    if name == "sparse":
        import scipy.sparse
        M, N, L = 20000, 5000, 20
        Wp, Hp = rng.random((M, L)), rng.random((L, N))
        X = scipy.sparse.random(M, N, density=0.01, format="csr", random_state=1)
        rows, cols = X.nonzero()
        X.data = np.einsum("ij,ij->i", Wp[rows], Hp[:, cols].T) + 0.1 * rng.random(len(rows)) * L / 4
        return X
    if name == "text":
        from sklearn.feature_extraction.text import CountVectorizer
        with open(os.path.join(data, "debian", "descriptions.txt"), encoding="utf-8", errors="replace") as f:
            docs = [next(f) for _ in range(20000)]
        counts = CountVectorizer(max_features=5000, stop_words="english", min_df=5).fit_transform(docs)
        X = counts.T.tocsr().astype(np.float64)  # terms x documents
        X.eliminate_zeros()
        return X
    sys.exit(f"compare_peers: unknown case '{name}' (known: {', '.join(CASES)})")


def is_sparse(X):
    return not isinstance(X, np.ndarray)


def error(X, W, H, loss):
    """Relative Frobenius error, or D(X || WH) / sum(X); sparse X without forming WH."""
    if loss == "frobenius":
        if not is_sparse(X):
            return float(np.linalg.norm(X - W @ H) / np.linalg.norm(X))
        x2 = float(X.multiply(X).sum())
        cross = float(np.sum((X @ H.T) * W))
        wh2 = float(np.sum((W.T @ W) * (H @ H.T)))
        return float(np.sqrt(max(x2 - 2 * cross + wh2, 0.0) / x2))
    total = float(X.sum())
    if not is_sparse(X):
        WH = W @ H
        nz = X > 0
        if np.any(WH[nz] <= 0):
            return float("inf")
        return float((np.sum(X[nz] * np.log(X[nz] / WH[nz])) - total + WH.sum()) / total)
    C = X.tocoo()
    wh = np.einsum("ij,ij->i", W[C.row], H[:, C.col].T)
    if np.any(wh <= 0):
        return float("inf")
    return float((np.sum(C.data * np.log(C.data / wh)) - total + float(W.sum(axis=0) @ H.sum(axis=1))) / total)


def write_case(folder, X, L):
    """X for every library (npy/npz, mtx, raw column-major for R), and the common start W0, H0."""
    import scipy.io
    import scipy.sparse
    os.makedirs(folder, exist_ok=True)
    for stale in ("X.npy", "X.npz", "X.mtx", "X.f64"):
        if os.path.exists(os.path.join(folder, stale)):
            os.remove(os.path.join(folder, stale))
    M, N = X.shape
    if is_sparse(X):
        scipy.sparse.save_npz(os.path.join(folder, "X.npz"), X)
        scipy.io.mmwrite(os.path.join(folder, "X.mtx"), X, precision=17)
        mean = X.sum() / (M * N)
    else:
        np.save(os.path.join(folder, "X.npy"), X)
        np.asfortranarray(X).T.tofile(os.path.join(folder, "X.f64"))  # column-major, as R reads it
        mean = X.mean()
    rng = np.random.default_rng(1)
    scale = np.sqrt(mean / L)
    W0 = np.abs(rng.standard_normal((M, L))) * scale
    H0 = np.abs(rng.standard_normal((L, N))) * scale
    np.save(os.path.join(folder, "W0.npy"), W0)
    np.save(os.path.join(folder, "H0.npy"), H0)
    W0.T.copy().tofile(os.path.join(folder, "W0.f64"))  # column-major M x L
    H0.T.copy().tofile(os.path.join(folder, "H0.f64"))  # column-major L x N


def load_X(folder):
    if os.path.exists(os.path.join(folder, "X.npz")):
        import scipy.sparse
        return scipy.sparse.load_npz(os.path.join(folder, "X.npz")).tocsr()
    return np.load(os.path.join(folder, "X.npy"))


# ---------------------------------------------------------------- nmfx

def run_nmfx(exe, folder, loss, L, solver, params, budget, threads):
    sparse = os.path.exists(os.path.join(folder, "X.mtx"))
    dataset = "mtx\n    params: {path: X.mtx}" if sparse else "npy\n    params: {path: X.npy}"
    name = nmfx_label(solver, params).replace(" ", "_").replace("=", "-")
    spec = os.path.join(folder, f"nmfx_{name}.yaml")
    with open(spec, "w") as f:
        f.write(f"""name: compare_peers
datasets:
  - name: {dataset}
solvers:
  - name: {solver}
    params: {json.dumps(params)}
losses: [{loss}]
ranks: [{L}]
init: {{method: file, W: W0.npy, H: H0.npy}}
stopping: {{max_iter: 100000, max_time_s: {budget}}}
checkpoints: {{log: 60}}
metrics: [relative_error]
threads: {threads}
""")
    results = os.path.join(folder, f"nmfx_{name}")
    proc = subprocess.run([exe, "run", spec, "-o", results, "--force"], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stdout + proc.stderr).strip().splitlines()[-1:]}
    with open(os.path.join(results, "summary.jsonl")) as f:
        rec = json.loads(f.readline())
    if rec["status"] != "ok":
        return {"error": rec.get("message")}
    with open(os.path.join(results, rec["file"])) as f:
        trace = json.load(f)["trace"]
    X = None
    if loss == "kl":
        X = load_X(folder)
        total = float(X.sum())
        errors = [v / total for v in trace["loss"]]
    else:
        errors = trace["relative_error"]
    return {"points": list(zip(trace["solver_seconds"], errors)), "iterations": rec["iterations"]}


# ---------------------------------------------------------------- scikit-learn (child process)

def sklearn_child(folder, loss, solver, budget):
    import warnings

    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    X = load_X(folder)
    W0 = np.load(os.path.join(folder, "W0.npy"))
    H0 = np.load(os.path.join(folder, "H0.npy"))
    points, spent, iters = [], 0.0, 1
    NMF(n_components=W0.shape[1], init="custom", solver=solver, max_iter=1).fit_transform(X, W=W0.copy(), H=H0.copy())
    while spent < budget:
        model = NMF(n_components=W0.shape[1], init="custom", solver=solver,
                    beta_loss="frobenius" if loss == "frobenius" else "kullback-leibler", tol=0.0, max_iter=iters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            W = model.fit_transform(X, W=W0.copy(), H=H0.copy())
            t = time.perf_counter() - t0
        spent += t
        points.append((t, error(X, W, model.components_, loss)))
        iters *= 2
    import sklearn
    print(json.dumps({"points": points, "iterations": iters // 2, "version": sklearn.__version__}))


def run_sklearn(folder, loss, solver, budget, threads, malloc):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    if malloc == "tuned":
        env["MALLOC_MMAP_THRESHOLD_"] = str(1 << 30)
        env["MALLOC_TRIM_THRESHOLD_"] = str(1 << 30)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--sklearn-child", folder, "--loss-child", loss,
                           "--solver-child", solver, "--budget", str(budget)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- R: RcppML and NMF

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(Matrix))  # RcppML reads a dgCMatrix only with Matrix loaded
folder <- args[1]; library_name <- args[2]; loss <- args[3]; budget <- as.numeric(args[4]); threads <- as.integer(args[5])
dims <- scan(file.path(folder, "dims.txt"), quiet = TRUE)
M <- dims[1]; N <- dims[2]; L <- dims[3]
if (file.exists(file.path(folder, "X.mtx"))) {
  A <- as(Matrix::readMM(file.path(folder, "X.mtx")), "dgCMatrix")
} else {
  A <- matrix(readBin(file.path(folder, "X.f64"), "double", M * N), M, N)
}
out <- file.path(folder, paste0("r_", library_name))
dir.create(out, showWarnings = FALSE)
spent <- 0; iters <- 1; k <- 0
if (library_name == "rcppml") {
  suppressMessages(library(RcppML))
  options(RcppML.threads = threads)
  while (spent < budget) {
    t <- system.time(m <- RcppML::nmf(A, L, tol = 1e-15, maxit = iters, verbose = FALSE, seed = 1))[["elapsed"]]
    w <- m$w %*% diag(m$d, nrow = L)
    writeBin(as.vector(w), file.path(out, paste0("W", k, ".f64")))
    writeBin(as.vector(m$h), file.path(out, paste0("H", k, ".f64")))
    cat(k, iters, t, "\n", file = file.path(out, "times.txt"), append = TRUE)
    spent <- spent + t; iters <- iters * 2; k <- k + 1
  }
  cat(as.character(packageVersion("RcppML")), "\n", file = file.path(out, "version.txt"))
} else {
  suppressMessages(library(NMF))
  W0 <- matrix(readBin(file.path(folder, "W0.f64"), "double", M * L), M, L)
  H0 <- matrix(readBin(file.path(folder, "H0.f64"), "double", L * N), L, N)
  # The package's own update kernels (what methods "brunet" and "lee" iterate), called in a loop:
  # nmf() itself adds about 2.5 s of setup per call here, which would measure the wrapper.
  w <- W0; h <- H0; done <- 0
  while (spent < budget) {
    t <- system.time(for (s in seq_len(iters - done)) {
      if (loss == "kl") { h <- nmf_update.KL.h(A, w, h); w <- nmf_update.KL.w(A, w, h) }
      else { h <- nmf_update.euclidean.h(A, w, h); w <- nmf_update.euclidean.w(A, w, h) }
    })[["elapsed"]]
    spent <- spent + t
    writeBin(as.vector(w), file.path(out, paste0("W", k, ".f64")))
    writeBin(as.vector(h), file.path(out, paste0("H", k, ".f64")))
    cat(k, iters, spent, "\n", file = file.path(out, "times.txt"), append = TRUE)
    done <- iters; iters <- iters * 2; k <- k + 1
  }
  cat(as.character(packageVersion("NMF")), "\n", file = file.path(out, "version.txt"))
}
"""


def run_r(folder, library_name, loss, L, budget, threads):
    import shutil
    X = load_X(folder)
    M, N = X.shape
    with open(os.path.join(folder, "dims.txt"), "w") as f:
        f.write(f"{M} {N} {L}\n")
    script = os.path.join(folder, "peers.R")
    with open(script, "w") as f:
        f.write(R_SCRIPT)
    out = os.path.join(folder, "r_" + library_name)
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(["Rscript", script, folder, library_name, loss, str(budget), str(threads)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    points, iters = [], 0
    with open(os.path.join(out, "times.txt")) as f:
        for line in f:
            k, iters, t = line.split()
            W = np.fromfile(os.path.join(out, f"W{k}.f64")).reshape(L, M).T
            H = np.fromfile(os.path.join(out, f"H{k}.f64")).reshape(N, L).T
            points.append((float(t), error(X, W, H, loss)))
    with open(os.path.join(out, "version.txt")) as f:
        version = f.read().strip()
    return {"points": points, "iterations": int(iters), "version": version}


# ---------------------------------------------------------------- driver

def first_time_below(points, target):
    for t, e in points:
        if e <= target:
            return t
    return None


def run_case(name, X, loss, L, a, folder):
    write_case(folder, X, L)
    runs = {}
    for solver, params in NMFX_SOLVERS[loss]:
        runs[("nmfx", nmfx_label(solver, params))] = run_nmfx(os.path.abspath(a.nmfx), folder, loss, L, solver, params,
                                                             a.budget, a.threads)
    for s in SKLEARN_SOLVERS[loss]:
        runs[("scikit-learn", s)] = run_sklearn(folder, loss, s, a.budget, a.threads, a.sklearn_malloc)
    if loss == "frobenius":
        runs[("RcppML", "nmf, diag = TRUE")] = run_r(folder, "rcppml", loss, L, a.budget, a.threads)
    if not is_sparse(X):
        runs[("R NMF", RNMF_METHOD[loss])] = run_r(folder, "nmf", loss, L, a.budget, a.threads)
    best = min((e for r in runs.values() for _, e in r.get("points", [])), default=float("inf"))
    target = best * 1.01
    libraries = {}
    for (lib, setting), r in runs.items():
        t = first_time_below(r.get("points", []), target)
        final = min((e for _, e in r.get("points", [])), default=None)
        entry = {"setting": setting, "seconds": t, "best_error": final, "error": r.get("error"),
                 "version": r.get("version")}
        old = libraries.get(lib)
        if old is None or (t is not None and (old["seconds"] is None or t < old["seconds"])) or \
                (t is None and old["seconds"] is None and final is not None and
                 (old["best_error"] is None or final < old["best_error"])):
            libraries[lib] = entry
    settings = [{"library": lib, "setting": setting, "seconds": first_time_below(r.get("points", []), target),
                  "best_error": min((e for _, e in r.get("points", [])), default=None), "error": r.get("error")}
                 for (lib, setting), r in runs.items()]
    return {"case": name, "loss": loss, "rank": L, "shape": list(X.shape), "sparse": is_sparse(X),
            "best_error": best, "libraries": libraries, "settings": settings,
            "runs": {f"{lib}/{s}": r for (lib, s), r in runs.items()}}


def fmt_time(entry):
    if entry is None:
        return "n/a"
    if entry["seconds"] is None:
        e = entry["best_error"]
        return "- " + (f"(best {e:.4g})" if e is not None else "(failed)")
    return f"{entry['seconds']:.3g} s ({entry['setting']})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="all", help="all, small (faces, digits), or a comma list of " + ", ".join(CASES))
    ap.add_argument("--ranks", default="20,60")
    ap.add_argument("--losses", default="frobenius,kl")
    ap.add_argument("--budget", type=float, default=10.0, help="solver seconds per library setting (about)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data"), help="tools/get-data's folder")
    ap.add_argument("--nmfx", default=os.path.join(HERE, "..", "build", "nmfx"))
    ap.add_argument("--sklearn-malloc", choices=["tuned", "default"], default="tuned")
    ap.add_argument("--out", help="folder for the data and results (default: a temporary folder)")
    ap.add_argument("--json", help="also write every trajectory to this file")
    ap.add_argument("--render", metavar="FILE", help="print the tables of an earlier run's --json file, run nothing")
    ap.add_argument("--sklearn-child", help=argparse.SUPPRESS)
    ap.add_argument("--loss-child", help=argparse.SUPPRESS)
    ap.add_argument("--solver-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.sklearn_child:
        return sklearn_child(a.sklearn_child, a.loss_child, a.solver_child, a.budget)
    if a.render:
        with open(a.render) as f:
            return render(json.load(f))
    cases = CASES if a.cases == "all" else SMALL if a.cases == "small" else a.cases.split(",")
    ranks = [int(r) for r in a.ranks.split(",")]
    losses = a.losses.split(",")
    for loss in losses:
        if loss not in NMFX_SOLVERS:
            sys.exit(f"compare_peers: unknown loss '{loss}' (frobenius, kl)")
    if not os.path.exists(os.path.join(a.data, "digits.csv.gz")):
        sys.exit(f"compare_peers: no data in '{a.data}'; run tools/get-data first")
    root = a.out or tempfile.mkdtemp(prefix="nmfx_peers_")
    results = []
    for name in cases:
        X = load_case(name, a.data)
        for loss in losses:
            for L in ranks:
                if L >= min(X.shape):
                    continue
                r = run_case(name, X, loss, L, a, os.path.join(root, f"{name}_{loss}_{L}"))
                r["nnz"] = int(X.nnz) if is_sparse(X) else None
                results.append(r)
                print(f"compare_peers: {name} {loss} L = {L} done", file=sys.stderr, flush=True)
                if a.json:
                    with open(a.json, "w") as f:
                        json.dump({"threads": a.threads, "budget": a.budget, "sklearn_malloc": a.sklearn_malloc,
                                   "cases": results}, f, indent=1)
    render({"threads": a.threads, "budget": a.budget, "sklearn_malloc": a.sklearn_malloc, "cases": results})


def time_to(runs, keys, target):
    """The fastest of the runs named in keys to reach target: (seconds, key), or (None, None)."""
    best = (None, None)
    for k in keys:
        t = first_time_below(runs[k].get("points", []), target)
        if t is not None and (best[0] is None or t < best[0]):
            best = (t, k)
    return best


def render(figures):
    """The two tables, from the figures run_case returned (or a --json file of an earlier run)."""
    print(f"{figures['threads']} thread(s), about {figures['budget']:g} s of solver time per library setting; "
          f"scikit-learn's malloc: {figures['sklearn_malloc']}.\n")
    print("| X | loss | L | best peer error | nmfx to it | fastest peer to it | peer / nmfx | best error of all | nmfx to it |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in figures["cases"]:
        runs = r["runs"]
        ours = [k for k in runs if k.startswith("nmfx/")]
        peers = [k for k in runs if not k.startswith("nmfx/")]
        peer_best = min((e for k in peers for _, e in runs[k].get("points", [])), default=float("inf"))
        t_p, k_p = time_to(runs, peers, 1.01 * peer_best)
        t_n, k_n = time_to(runs, ours, 1.01 * peer_best)
        t_all, k_all = time_to(runs, ours, 1.01 * r["best_error"])
        shape = f"{r['case']} {r['shape'][0]} x {r['shape'][1]}" + (f" sparse" if r["sparse"] else " dense")
        ratio = f"{t_p / t_n:.1f}x" if t_p and t_n else "-"
        cell = lambda t, k: f"{t:.3g} s ({k})" if t is not None else "-"
        print(f"| {shape} | {r['loss']} | {r['rank']} | {peer_best:.5g} | {cell(t_n, k_n)} | {cell(t_p, k_p)} | {ratio} | "
              f"{r['best_error']:.5g} | {cell(t_all, k_all)} |")
    print("\nEvery setting: seconds to 1.01 x the best error of all, or the lowest error it reached ('-').\n")
    print("| X | loss | L | library | setting | seconds to target | lowest error |")
    print("|---|---|---|---|---|---|---|")
    for r in figures["cases"]:
        for st in r["settings"]:
            t = f"{st['seconds']:.3g}" if st["seconds"] is not None else ("failed: " + str(st["error"]) if st["error"] else "-")
            e = f"{st['best_error']:.5g}" if st["best_error"] is not None else ""
            print(f"| {r['case']} | {r['loss']} | {r['rank']} | {st['library']} | {st['setting']} | {t} | {e} |")

if __name__ == "__main__":
    main()
