#!/usr/bin/python3
"""nmfx against scikit-learn's NMF on the same data, from the same start, on the same cores.

    /usr/bin/python3 tools/compare_sklearn.py [--size 2000x1500:30] [--density 1] [--iterations 200]
                                              [--threads 2] [--repeat 3] [--sklearn-kernels same|default]
                                              [--nmfx build/nmfx] [--out DIR] [--json FILE]

Pairs: scikit-learn's `mu` against nmfx's `mu` (Lee & Seung's multiplicative updates, W then H),
and scikit-learn's `cd` (its Cython coordinate descent, which is HALS: Cichocki & Phan 2009)
against nmfx's `hals`; with --loss kl, the two `mu` on the KL divergence (scikit-learn floors WH
at float32's epsilon there, so the iterates agree only where WH stays above it). Both start from the same W and H (scikit-learn's own random init,
|N(0, 1)| sqrt(mean(X)/L), passed to both), run the same number of iterations with no early stop
(tol = 0), on a planted rank-L matrix plus noise, dense or (--density below 1) sparse: the
planted values at random positions, given to scikit-learn as a SciPy CSR matrix and to nmfx as a
Matrix Market file. Since the pairs compute the same iterates, their
final relative errors agree to many digits; the table shows both, then the time per iteration.

Fairness: scikit-learn runs in a child process whose OpenBLAS gets the same thread count and, on
an AVX-512 processor, the same OPENBLAS_CORETYPE=SKYLAKEX kernels that nmfx selects
(--sklearn-kernels default leaves OpenBLAS's own choice, which is what a user gets). The
scikit-learn figure is the time of fit_transform (its MU also evaluates the error every 10
iterations, by forming WH; its CD computes a projected-gradient norm each iteration as part of the
update); the nmfx figure is the solver's time, evaluation excluded (nmfx evaluates only at
iteration 0 and at the end here). Median over --repeat runs.

Needs Debian's python3-sklearn (tools/setup installs it) and a built nmfx.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# (scikit-learn solver, nmfx solver), per loss: scikit-learn's cd handles only the Frobenius loss.
PAIRS = {"frobenius": [("mu", "mu"), ("cd", "hals")], "kl": [("mu", "mu")]}
SKLEARN_LOSS = {"frobenius": "frobenius", "kl": "kullback-leibler"}


def avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def blas_env(threads, same_kernels):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    env.pop("OPENBLAS_CORETYPE", None)
    if same_kernels and avx512():
        env["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    return env


def relative_error(X, W, H):
    """||X - WH||_F / ||X||_F, without forming WH when X is sparse."""
    if isinstance(X, np.ndarray):
        return float(np.linalg.norm(X - W @ H) / np.linalg.norm(X))
    x2 = float(X.multiply(X).sum())
    cross = float(np.sum((X @ H.T) * W))
    wh2 = float(np.sum((W.T @ W) * (H @ H.T)))
    return float(np.sqrt(max(x2 - 2 * cross + wh2, 0.0) / x2))


def load_X(folder):
    if os.path.exists(os.path.join(folder, "X.npz")):
        import scipy.sparse
        return scipy.sparse.load_npz(os.path.join(folder, "X.npz")).tocsr()
    return np.load(os.path.join(folder, "X.npy"))


def sklearn_child(folder, iterations, repeat, loss):
    """Runs in the child process (BLAS environment already set): prints JSON figures."""
    import warnings

    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    X = load_X(folder)
    W0 = np.load(os.path.join(folder, "W0.npy"))
    H0 = np.load(os.path.join(folder, "H0.npy"))
    out = {}
    for solver, _ in PAIRS[loss]:
        times = []
        for _ in range(repeat):
            model = NMF(n_components=W0.shape[1], init="custom", solver=solver, beta_loss=SKLEARN_LOSS[loss],
                        tol=0.0, max_iter=iterations)
            W, H = W0.copy(), H0.copy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                W = model.fit_transform(X, W=W, H=H)
                times.append(time.perf_counter() - t0)
            H = model.components_
        out[solver] = {"seconds": statistics.median(times), "iterations": int(model.n_iter_),
                       "relative_error": relative_error(X, W, H)}
    import sklearn
    out["version"] = sklearn.__version__
    print(json.dumps(out))


def run_nmfx(exe, folder, iterations, threads, repeat, sparse, loss):
    spec = os.path.join(folder, "compare.yaml")
    dataset = "mtx\n    params: {path: X.mtx}" if sparse else "npy\n    params: {path: X.npy}"
    with open(spec, "w") as f:
        f.write(f"""name: compare_sklearn
datasets:
  - name: {dataset}
solvers: [{", ".join(s for _, s in PAIRS[loss])}]
losses: [{loss}]
ranks: [{np.load(os.path.join(folder, "W0.npy"), mmap_mode="r").shape[1]}]
init: {{method: file, W: W0.npy, H: H0.npy}}
stopping: {{max_iter: {iterations}}}
checkpoints: {{every: {iterations}}}
metrics: [relative_error]
threads: {threads}
""")
    out = {s: {"seconds": []} for _, s in PAIRS[loss]}
    for r in range(repeat):
        results = os.path.join(folder, "nmfx_results")
        proc = subprocess.run([exe, "run", spec, "-o", results, "--force"], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit("compare_sklearn: nmfx run failed:\n" + proc.stdout + proc.stderr)
        with open(os.path.join(results, "summary.jsonl")) as f:
            for line in f:
                rec = json.loads(line)
                if rec["status"] != "ok":
                    sys.exit(f"compare_sklearn: nmfx {rec['solver']} failed: {rec.get('message')}")
                o = out[rec["solver"]]
                o["seconds"].append(rec["solver_seconds"])
                o["iterations"] = rec["iterations"]
                o["relative_error"] = rec["relative_error"]
    for o in out.values():
        o["seconds"] = statistics.median(o["seconds"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="2000x1500:30", help="MxN:L (default 2000x1500:30)")
    ap.add_argument("--density", type=float, default=1.0, help="below 1: sparse X with this fraction of nonzeros")
    ap.add_argument("--loss", choices=sorted(PAIRS), default="frobenius",
                    help="frobenius (pairs mu-mu and cd-hals) or kl (mu-mu)")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sklearn-kernels", choices=["same", "default"], default="same",
                    help="scikit-learn's OpenBLAS kernels: nmfx's choice (same) or OpenBLAS's own (default)")
    ap.add_argument("--nmfx", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "nmfx"))
    ap.add_argument("--out", help="folder for the data and results (default: a temporary folder)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--sklearn-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.sklearn_child:
        return sklearn_child(a.sklearn_child, a.iterations, a.repeat, a.loss)
    try:
        M, rest = a.size.split("x")
        N, L = rest.split(":")
        M, N, L = int(M), int(N), int(L)
    except ValueError:
        sys.exit(f"compare_sklearn: --size '{a.size}' is not MxN:L (e.g. 2000x1500:30)")
    folder = a.out or tempfile.mkdtemp(prefix="nmfx_compare_")
    os.makedirs(folder, exist_ok=True)

    # A planted rank-L product plus 10% uniform noise; scikit-learn's random init for the start.
    rng = np.random.default_rng(0)
    Wp, Hp = rng.random((M, L)), rng.random((L, N))
    sparse = a.density < 1.0
    for stale in ("X.npy", "X.npz", "X.mtx"):
        if os.path.exists(os.path.join(folder, stale)):
            os.remove(os.path.join(folder, stale))
    if sparse:
        import scipy.io
        import scipy.sparse
        X = scipy.sparse.random(M, N, density=a.density, format="csr", random_state=1)
        rows, cols = X.nonzero()
        X.data = np.einsum("ij,ij->i", Wp[rows], Hp[:, cols].T) + 0.1 * rng.random(len(rows)) * L / 4
        mean = X.sum() / (M * N)
        scipy.sparse.save_npz(os.path.join(folder, "X.npz"), X)
        scipy.io.mmwrite(os.path.join(folder, "X.mtx"), X, precision=17)
    else:
        X = Wp @ Hp + 0.1 * rng.random((M, N)) * L / 4
        mean = X.mean()
        np.save(os.path.join(folder, "X.npy"), X)
    scale = np.sqrt(mean / L)
    W0 = np.abs(rng.standard_normal((M, L))) * scale
    H0 = np.abs(rng.standard_normal((L, N))) * scale
    for name, A in (("W0", W0), ("H0", H0)):
        np.save(os.path.join(folder, name + ".npy"), A)

    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--sklearn-child", folder,
                            "--iterations", str(a.iterations), "--repeat", str(a.repeat), "--loss", a.loss],
                           capture_output=True, text=True, env=blas_env(a.threads, a.sklearn_kernels == "same"))
    if child.returncode != 0:
        sys.exit("compare_sklearn: the scikit-learn run failed (is python3-sklearn installed?):\n" + child.stderr)
    sk = json.loads(child.stdout.strip().splitlines()[-1])
    nx = run_nmfx(os.path.abspath(a.nmfx), folder, a.iterations, a.threads, a.repeat, sparse, a.loss)

    rows = []
    kind = f"sparse ({X.nnz} nonzeros)" if sparse else "dense"
    print(f"X: {M} x {N} {kind}, {a.loss} loss, L = {L}, {a.iterations} iterations from the same start, {a.threads} threads; "
          f"scikit-learn {sk['version']} with {a.sklearn_kernels} kernels; median of {a.repeat}")
    print()
    print("| scikit-learn | nmfx | sklearn ms / iteration | nmfx ms / iteration | speed-up | sklearn rel. error | nmfx rel. error |")
    print("|---|---|---|---|---|---|---|")
    for s_solver, n_solver in PAIRS[a.loss]:
        s, n = sk[s_solver], nx[n_solver]
        s_it, n_it = s["seconds"] / s["iterations"], n["seconds"] / n["iterations"]
        rows.append({"sklearn": s_solver, "nmfx": n_solver, "sklearn_seconds_per_iteration": s_it,
                     "nmfx_seconds_per_iteration": n_it, "speedup": s_it / n_it,
                     "sklearn_relative_error": s["relative_error"], "nmfx_relative_error": n["relative_error"],
                     "sklearn_iterations": s["iterations"], "nmfx_iterations": n["iterations"]})
        print(f"| {s_solver} | {n_solver} | {1e3 * s_it:.2f} | {1e3 * n_it:.2f} | {s_it / n_it:.2f}x | "
              f"{s['relative_error']:.8e} | {n['relative_error']:.8e} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"M": M, "N": N, "L": L, "density": a.density, "loss": a.loss, "iterations": a.iterations, "threads": a.threads,
                       "sklearn_version": sk["version"], "pairs": rows}, f, indent=1)


if __name__ == "__main__":
    main()
