#!/usr/bin/env python3
"""The runner's own cost per cell: a grid of tiny cells (2 MU iterations on a 30 x 20 synthetic X,
one thread) run by `nmfx run`, at several grid sizes. The cost outside the solver and the evaluation
is the wall time minus the sum of every result's solver_seconds and eval_seconds, per cell; it
should stay flat as the grid grows.

    python3 tools/runner_overhead.py build/nmfx 300 1800 20000
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import time

SPEC = """name: overhead
datasets: [{{name: synthetic, params: {{m: 30, n: 20, rank: 3}}}}]
solvers: [mu]
losses: [frobenius]
ranks: [3]
repeats: {cells}
stopping: {{max_iter: 2}}
checkpoints: {{every: 1}}
metrics: [relative_error]
threads: 1
output: out
"""


def measure(nmfx: str, cells: int, folder: pathlib.Path) -> dict:
    folder.mkdir()
    (folder / "spec.yaml").write_text(SPEC.format(cells=cells))
    t0 = time.perf_counter()
    subprocess.run([nmfx, "run", "spec.yaml"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    runs = [json.loads(line) for line in (folder / "out" / "summary.jsonl").read_text().splitlines()]
    assert len(runs) == cells and all(r["status"] == "ok" for r in runs)
    inside = sum(r["solver_seconds"] + r["eval_seconds"] for r in runs)
    return {"cells": cells, "wall_s": wall, "inside_s": inside, "outside_ms_per_cell": 1e3 * (wall - inside) / cells}


def main() -> None:
    nmfx = str(pathlib.Path(sys.argv[1]).resolve())
    print("| cells | wall (s) | solver + eval (s) | outside, per cell (ms) |")
    print("|---:|---:|---:|---:|")
    # Every grid's folder is kept until all are measured: on ext4 without a journal (as on this
    # project's VMs), creating a file skips every inode deleted in the last minutes, one block read
    # each, so deleting 20,000 results just before the next grid would time the file system.
    with tempfile.TemporaryDirectory() as tmp:
        for cells in map(int, sys.argv[2:]):
            m = measure(nmfx, cells, pathlib.Path(tmp) / str(cells))
            print(f"| {m['cells']} | {m['wall_s']:.2f} | {m['inside_s']:.3f} | {m['outside_ms_per_cell']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
