#!/usr/bin/python3
"""Figures of the NMF papers from nmfx results folders (headless; PNG and SVG).

    tools/plot.py convergence RESULTS [RESULTS ...]   E(t) against seconds and iterations (seed 000 Fig. 4-5)
    tools/plot.py rank RESULTS                         error and sparsity against rank (seed 001 Fig. 2 and 4);
                                                       with `nmfx analyze RESULTS` first, also the rank-selection
                                                       criteria and consensus heatmaps (tools/plot_rank.py)
    tools/plot.py compression RESULTS                  quality against compression ratio (seed 000 Fig. 12)
    tools/plot.py pictures RESULTS                     components montage and reconstructions (seed 001 Fig. 1, 3)
    tools/plot.py all RESULTS                          every figure that the results allow

Figures go to RESULTS/figures/ (or --out DIR); each file records the commit and the command that
made it in its metadata (PNG text chunks, SVG Dublin Core). The results are read through
`nmfx report --json` (the groups, the parameters that vary and E(t) are computed there only): pass
--nmfx PATH or set NMFX when build/nmfx is not the nmfx to use. Needs Debian's python3-matplotlib
and python3-numpy; run it with /usr/bin/python3 if another python3 comes first on your PATH.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


# ---------------------------------------------------------------- loading


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nmfx_command(given=None):
    """The nmfx executable: --nmfx, $NMFX, or build/nmfx beside this script's repository."""
    for c in (given, os.environ.get("NMFX"), os.path.join(repo_root(), "build", "nmfx")):
        if c and os.path.exists(c):
            return c
    sys.exit("plot: cannot find the nmfx executable; pass --nmfx PATH or set NMFX")


def load_report(dirs, nmfx=None, report_json=None):
    """The results as `nmfx report --json` gives them: runs, groups, which parameters vary and E(t).
    Loading, grouping and E(t) live in nmfx report only, so the figures and the tables agree."""
    if report_json:
        with open(report_json) as fh:
            return json.load(fh)
    for d in dirs:
        if not os.path.isdir(d):
            sys.exit(f"plot: {d}: not a results folder")
    p = subprocess.run([nmfx_command(nmfx), "report", *dirs, "--json", "-"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"plot: nmfx report failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def ok_runs(runs):
    return [r for r in runs if r["status"] == "ok"]


def label(r):
    return r["label"]


def problem_key(r):
    """Runs comparable on one E(t) scale: the same dataset (with its parameters) and rank."""
    return r["problem"]


def dataset_title(r):
    return r["title"]


def dataset_slug(r):
    """A file-name part for the data: its title made safe, else the dataset plugin's name."""
    info = r.get("data", {}).get("info", {}) or {}
    t = info.get("title") if isinstance(info, dict) else None
    if not t:
        return r["cell"]["dataset"]["name"]
    return "".join(c if c.isalnum() else "_" for c in t.lower()).strip("_")[:40]


def provenance():
    """The commit and the command that made a figure, for its metadata."""
    try:
        commit = subprocess.run(["git", "-C", repo_root(), "describe", "--always", "--dirty", "--abbrev=12"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    root = repo_root() + os.sep
    command = " ".join(["tools/plot.py"] + [a.replace(root, "") for a in sys.argv[1:]])
    if os.environ.get("NMFX_REPRODUCE_COMMAND"):
        command = os.environ["NMFX_REPRODUCE_COMMAND"] + ", which ran: " + command
    return commit or "unknown", command


def save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    commit, command = provenance()
    paths = []
    for ext in ("png", "svg"):
        p = os.path.join(out, f"{name}.{ext}")
        meta = {"Source": f"nmfx commit {commit}", "Description": f"made by: {command}"}
        if ext == "png":
            meta["Software"] = f"nmfx tools/plot.py, matplotlib {matplotlib.__version__}"
        fig.savefig(p, dpi=110, bbox_inches="tight", metadata=meta)
        paths.append(p)
    plt.close(fig)
    print("\n".join(paths))
    return paths


# ---------------------------------------------------------------- E(t)


def step_on_grid(x, y, grid):
    """The value at each grid point is the last checkpoint's at or before it (NaN before the first)."""
    idx = np.searchsorted(x, grid, side="right") - 1
    vals = np.where(idx >= 0, y[np.clip(idx, 0, len(y) - 1)], np.nan)
    vals[grid > x[-1]] = np.nan  # a run says nothing past its end
    return vals


def convergence(report, out):
    runs = [r for r in ok_runs(report["runs"]) if "E" in r]
    if not runs:
        print("plot convergence: no ok runs with relative_error", file=sys.stderr)
        return []
    paths = []
    for key in sorted({problem_key(r) for r in runs}):
        group = [r for r in runs if problem_key(r) == key]
        problem = report["problems"][key]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        labels = sorted({label(r) for r in group})
        for color, lab in zip(plt.cm.tab10.colors * 3, labels):
            members = [r for r in group if label(r) == lab]
            for ax, xkey in zip(axes, ("solver_seconds", "iteration")):
                xs = [np.array(r["trace"][xkey], dtype=float) for r in members]
                hi = max(x[-1] for x in xs)
                lo = min(x[1] for x in xs if len(x) > 1) if any(len(x) > 1 for x in xs) else hi
                grid = np.unique(np.concatenate([np.geomspace(max(lo, 1e-9), hi, 200), [0.0]]))
                Es = [np.array([np.nan if v is None else v for v in r["E"]], dtype=float) for r in members]
                curves = np.array([step_on_grid(x, np.maximum(E, 1e-16), grid) for x, E in zip(xs, Es)])
                every = ~np.isnan(curves).any(axis=0)  # the median only where every seed has a point
                with np.errstate(all="ignore"):
                    median = np.where(every, np.nanmedian(curves, axis=0), np.nan)
                    band_lo, band_hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
                ax.plot(grid, median, color=color, label=f"{lab} (n={len(members)})")
                ax.fill_between(grid, band_lo, band_hi, color=color, alpha=0.2, linewidth=0)
        # E reaches 0 at the end of the best run; keep the axis on the part that can be read.
        finals = [r["E"][-1] for r in group if r["E"][-1] is not None and r["E"][-1] > 0]
        bottom = max(1e-10, 0.1 * min(finals)) if finals else 1e-10
        for ax, xl in zip(axes, ("solver seconds", "iterations")):
            ax.set_yscale("log")
            ax.set_ylim(bottom=bottom, top=1.5)
            ax.set_xlabel(xl)
            ax.set_ylabel("E(t) = (e(t) − e_min) / (e(0) − e_min)")
            ax.grid(True, which="major", alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"Convergence on {problem['title']}, rank {problem['rank']}: median (where every seed has a "
                     f"point) and min–max over seeds; e_min = {problem['e_min']:.4g}", fontsize=10)
        paths += save(fig, out, f"convergence_{dataset_slug(group[0])}_r{problem['rank']}")
    return paths


# ---------------------------------------------------------------- rank study


def chosen_elbows(dirs):
    """The rank the `elbow` analysis plugin chose for each survey of these folders' analysis.json
    (written by `nmfx analyze`, or by `nmfx run` with `analyses:` in the spec), keyed as survey_key:
    nmfx's one Kneedle lives in that plugin, so the figure shows what the table says."""
    chosen = {}
    for d in dirs:
        path = os.path.join(d, "analysis.json")
        if os.path.exists(path):
            with open(path) as fh:
                for survey in json.load(fh)["surveys"]:
                    chosen[json.dumps(survey["key"], sort_keys=True)] = survey["analyses"].get("elbow", {}).get("chosen")
    return chosen


def survey_key(cell):
    """What the runs of one survey share, as `nmfx analyze` groups them: the cell without rank, seed
    and held-out fold."""
    key = {k: v for k, v in cell.items() if k not in ("rank", "seed")}
    if "params" in key.get("dataset", {}):
        key["dataset"] = dict(key["dataset"], params={k: v for k, v in key["dataset"]["params"].items()
                                                      if k != "holdout_fold"})
    return json.dumps(key, sort_keys=True)


def by_rank(runs, metric, solver_label):
    ranks = sorted({r["cell"]["rank"] for r in runs})
    mean, sd = [], []
    for k in ranks:
        v = [r["final"][metric] for r in runs if r["cell"]["rank"] == k and metric in r["final"]]
        mean.append(np.mean(v) if v else np.nan)
        sd.append(np.std(v, ddof=1) if len(v) > 1 else 0.0)
    return np.array(ranks), np.array(mean), np.array(sd)


def rank_study(report, out, dirs):
    runs = ok_runs(report["runs"])
    elbows = chosen_elbows(dirs)
    if not elbows:
        print("plot rank: no analysis.json: run `nmfx analyze RESULTS --analysis elbow` to mark the elbow",
              file=sys.stderr)
    if len({r["cell"]["rank"] for r in runs}) < 2:
        print("plot rank: needs runs at two ranks or more", file=sys.stderr)
        return []
    paths = []
    datasets = sorted({json.dumps(r["cell"]["dataset"], sort_keys=True) for r in runs})
    for ds in datasets:
        group = [r for r in runs if json.dumps(r["cell"]["dataset"], sort_keys=True) == ds]
        labels = sorted({label(r) for r in group})
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for color, lab in zip(plt.cm.tab10.colors * 3, labels):
            members = [r for r in group if label(r) == lab]
            ranks, m, s = by_rank(members, "relative_error", lab)
            axes[0].errorbar(ranks, m, yerr=s, color=color, marker="o", capsize=3, label=lab)
            keys = {survey_key(r["cell"]) for r in members}
            knee = elbows.get(keys.pop()) if len(keys) == 1 else None
            if knee is not None and knee in ranks:
                y = m[list(ranks).index(knee)]
                axes[0].axvline(knee, color=color, linestyle=":", alpha=0.8)
                axes[0].annotate(f"elbow r={knee}", (knee, y), textcoords="offset points", xytext=(6, 6),
                                 color=color, fontsize=8)
            for part, style in (("sparsity_W", "-"), ("sparsity_H", "--")):
                if any(part in r["final"] for r in members):
                    ranks, m, s = by_rank(members, part, lab)
                    axes[1].errorbar(ranks, m, yerr=s, color=color, linestyle=style, marker="o", capsize=3,
                                     label=f"{lab}: {part[-1]}")
        axes[0].set_xlabel("rank")
        axes[0].set_ylabel("relative error ‖X − WH‖ / ‖X‖")
        axes[0].set_title("Error against rank (elbow: the elbow analysis, Kneedle)")
        axes[1].set_xlabel("rank")
        axes[1].set_ylabel("fraction of entries below the threshold")
        axes[1].set_title("Sparsity of W (solid) and H (dashed)")
        for ax in axes:
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"Rank study on {dataset_title(group[0])}: mean ± sd over seeds")
        paths += save(fig, out, f"rank_{dataset_slug(group[0])}")
    return paths


# ---------------------------------------------------------------- compression


def psnr(r):
    """PSNR of the reconstruction, 20 log10(max(X) / RMSE) with RMSE = rel_err ‖X‖ / sqrt(MN)."""
    rmse = r["final"]["relative_error"] * r["data"]["norm"] / math.sqrt(r["data"]["rows"] * r["data"]["cols"])
    return 20 * math.log10(r["data"]["max"] / rmse) if rmse > 0 else math.inf


def compression(report, out):
    runs = [r for r in ok_runs(report["runs"]) if "relative_error" in r["final"]]
    if not runs:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for color, lab in zip(plt.cm.tab10.colors * 3, sorted({label(r) for r in runs})):
        members = [r for r in runs if label(r) == lab]
        pts = {}
        for r in members:
            M, N, L = r["data"]["rows"], r["data"]["cols"], r["cell"]["rank"]
            ratio = (M + N) * L / (M * N)
            pts.setdefault(ratio, []).append((r["final"]["relative_error"], psnr(r)))
        ratios = sorted(pts)
        err = [np.mean([p[0] for p in pts[c]]) for c in ratios]
        ps = [np.mean([p[1] for p in pts[c]]) for c in ratios]
        axes[0].plot(ratios, err, marker="o", color=color, label=lab)
        axes[1].plot(ratios, ps, marker="o", color=color, label=lab)
    axes[0].set_ylabel("relative error")
    axes[1].set_ylabel("PSNR (dB), peak = max(X)")
    for ax in axes:
        ax.set_xlabel("compression ratio (M + N) L / (M N)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Quality against storage on {dataset_title(runs[0])}")
    return save(fig, out, "compression")


# ---------------------------------------------------------------- pictures


def montage(images, columns):
    h, w = images[0].shape
    rows = math.ceil(len(images) / columns)
    canvas = np.ones((rows * (h + 1) - 1, columns * (w + 1) - 1))
    for k, img in enumerate(images):
        i, j = divmod(k, columns)
        lo, hi = img.min(), img.max()
        canvas[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = (img - lo) / (hi - lo) if hi > lo else 0
    return canvas


def pictures(report, out, n_images=5):
    runs = [r for r in ok_runs(report["runs"]) if "factors" in r and "image_shape" in (r["data"].get("info") or {})]
    if not runs:
        print("plot pictures: needs image data and save_factors: true", file=sys.stderr)
        return []
    paths = []
    # Components: the first seed's run at each rank, W's columns as images (seed 001 Fig. 1).
    for r in sorted(runs, key=lambda r: (r["cell"]["rank"], r["cell"]["seed"])):
        if r["cell"]["seed"] != min(x["cell"]["seed"] for x in runs if x["cell"]["rank"] == r["cell"]["rank"]):
            continue
        h, w = r["data"]["info"]["image_shape"]
        W = np.load(os.path.join(r["dir"], r["factors"]["W"]))
        L = W.shape[1]
        cols = int(math.ceil(math.sqrt(L)))
        fig = plt.figure(figsize=(cols * 0.9, math.ceil(L / cols) * 0.9))
        plt.imshow(montage([W[:, a].reshape(h, w) for a in range(L)], cols), cmap="gray")
        plt.axis("off")
        plt.title(f"{r['label']} on {r['title']}, rank {L}: columns of W", fontsize=9)
        paths += save(fig, out, f"components_{r['cell']['solver']['name']}_r{L}")
    # Originals above reconstructions at each rank (seed 001 Fig. 3).
    with_x = [r for r in runs if "file" in r["data"]]
    if with_x:
        ranks = sorted({r["cell"]["rank"] for r in with_x})
        first = with_x[0]
        h, w = first["data"]["info"]["image_shape"]
        X = np.load(os.path.join(first["dir"], first["data"]["file"]))
        cols = list(range(min(n_images, X.shape[1])))
        fig, axes = plt.subplots(1 + len(ranks), len(cols), figsize=(1.4 * len(cols), 1.5 * (1 + len(ranks))),
                                 squeeze=False)
        for j, c in enumerate(cols):
            axes[0][j].imshow(X[:, c].reshape(h, w), cmap="gray")
        axes[0][0].set_ylabel("original", fontsize=8)
        for i, k in enumerate(ranks, start=1):
            r = next(x for x in with_x if x["cell"]["rank"] == k)
            W = np.load(os.path.join(r["dir"], r["factors"]["W"]))
            H = np.load(os.path.join(r["dir"], r["factors"]["H"]))
            for j, c in enumerate(cols):
                axes[i][j].imshow((W @ H[:, c]).reshape(h, w), cmap="gray")
            axes[i][0].set_ylabel(f"rank {k}", fontsize=8)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{first['title']}: originals and reconstructions by {first['label']}", fontsize=9)
        paths += save(fig, out, "reconstructions")
    return paths


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("figure", choices=["convergence", "rank", "compression", "pictures", "all"])
    p.add_argument("results", nargs="+", help="results folders (nmfx run output)")
    p.add_argument("--out", help="folder for the figures (default: <first results folder>/figures)")
    p.add_argument("--images", type=int, default=5, help="images shown in the reconstructions figure")
    p.add_argument("--nmfx", help="the nmfx executable (default: $NMFX, else build/nmfx)")
    p.add_argument("--report-json", help="read this `nmfx report --json` output instead of running nmfx report")
    a = p.parse_args(argv)
    runs = load_report(a.results, a.nmfx, a.report_json)
    out = a.out or os.path.join(a.results[0], "figures")
    made = []
    if a.figure in ("convergence", "all"):
        made += convergence(runs, out)
    if a.figure in ("rank", "all"):
        made += rank_study(runs, out, a.results)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from plot_rank import rank_selection  # noqa: E402
        made += rank_selection(a.results, out, save)
    if a.figure in ("compression", "all"):
        made += compression(runs, out)
    if a.figure in ("pictures", "all"):
        made += pictures(runs, out, a.images)
    if not made:
        sys.exit("plot: nothing to draw from these results")


if __name__ == "__main__":
    main()
