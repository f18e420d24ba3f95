"""Rank-selection figures from `nmfx analyze`'s analysis.json (imported by tools/plot.py rank):
cophenetic correlation, dispersion, held-out error and factor stability against rank, each
criterion's chosen rank marked; and the reordered consensus matrices (Brunet et al. 2004, Fig. 2)."""
import json
import math
import os

import matplotlib.pyplot as plt
import numpy as np

# (analysis, values drawn, y label, title)
PANELS = [
    ("consensus", [("cophenetic", "cophenetic")], "cophenetic correlation", "Consensus: cophenetic correlation"),
    ("consensus", [("dispersion", "dispersion")], "dispersion", "Consensus: dispersion (Kim & Park)"),
    ("cross_validation", [("test_error", "held-out"), ("train_error", "fitted")], "RMSE",
     "Cross-validation: error on hidden entries"),
    ("stability", [("silhouette", "mean"), ("silhouette_min", "smallest cluster")], "silhouette width",
     "Stability (NMFk): silhouettes of W's columns"),
    ("elbow", [("error", "error")], "final error", "Error (elbow: Kneedle)"),
]


def series(analysis, value):
    ranks, ys = [], []
    for r in analysis.get("per_rank", []):
        v = r["result"]["values"].get(value)
        ranks.append(r["rank"])
        ys.append(np.nan if v is None else v)
    return np.array(ranks), np.array(ys, float)


def rank_selection(dirs, out, save):
    paths = []
    for d in dirs:
        path = os.path.join(d, "analysis.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        for s, survey in enumerate(doc["surveys"]):
            analyses = survey["analyses"]
            panels = [p for p in PANELS if p[0] in analyses and analyses[p[0]].get("per_rank")]
            if not panels:
                continue
            fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
            for ax, (name, values, ylabel, title) in zip(axes[0], panels):
                a = analyses[name]
                for (value, legend), style in zip(values, ("-o", "--s")):
                    ranks, ys = series(a, value)
                    if np.isfinite(ys).any():
                        ax.plot(ranks, ys, style, label=legend)
                if a.get("chosen") is not None:
                    ax.axvline(a["chosen"], color="k", linestyle=":", alpha=0.7)
                    ax.set_title(f"{title}\nchosen: {a['chosen']}", fontsize=9)
                else:
                    ax.set_title(title, fontsize=9)
                ax.set_xlabel("rank")
                ax.set_ylabel(ylabel)
                ax.grid(True, alpha=0.3)
                if len(values) > 1:
                    ax.legend(fontsize=8)
            fig.suptitle(f"Rank selection: {survey['label']}", fontsize=10, y=1.1)
            paths += save(fig, out, f"rank_selection_{s}")
            heatmaps = [r for r in analyses.get("consensus", {}).get("per_rank", []) if "heatmap" in r["result"]]
            if heatmaps:
                cols = min(len(heatmaps), 5)
                rows = math.ceil(len(heatmaps) / cols)
                fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
                for ax in axes.flat:
                    ax.axis("off")
                for ax, r in zip(axes.flat, heatmaps):
                    C = np.load(os.path.join(d, r["result"]["heatmap"]))
                    ax.imshow(C, cmap="RdYlBu_r", vmin=0, vmax=1, interpolation="nearest")
                    coph = r["result"]["values"]["cophenetic"]
                    ax.set_title(f"k = {r['rank']}" + ("" if coph is None else f", ρ = {coph:.3f}"), fontsize=9)
                fig.suptitle("Consensus matrices, samples in dendrogram order", fontsize=10)
                paths += save(fig, out, f"rank_consensus_{s}")
    return paths
