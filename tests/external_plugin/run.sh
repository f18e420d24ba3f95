#!/usr/bin/env bash
# Builds tests/external_plugin against the build tree's nmfx package, out of the source tree, and
# runs it in a grid beside the built-in mu through NMFX_PLUGIN_PATH.
# usage: run.sh <nmfx build dir> <nmfx executable> <work dir>
set -euo pipefail
build=$1 nmfx=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
cmake -S "$here" -B "$work/build" -Dnmfx_DIR="$build" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/build" > "$work/build.log"
cat > "$work/spec.yaml" <<'SPEC'
name: external
datasets: [{name: synthetic, params: {m: 60, n: 40, rank: 4}}]
solvers: [mu, external_als]
ranks: 4
seeds: [0, 1]
stopping: {max_iter: 50}
output: out
SPEC
cd "$work"
# Not found without the path...
if "$nmfx" validate spec.yaml > no_path.log 2>&1; then echo "FAIL: external_als found without NMFX_PLUGIN_PATH"; exit 1; fi
grep -q "unknown solver 'external_als'" no_path.log
# ...found with it, and run beside the built-in solver.
NMFX_PLUGIN_PATH="$work/build" "$nmfx" run spec.yaml
/usr/bin/env python3 - <<'PY'
import json, glob
runs = [json.load(open(f)) for f in glob.glob("out/*.json")]
assert len(runs) == 4, len(runs)
by = {}
for r in runs:
    assert r["status"] == "ok", r["message"]
    by.setdefault(r["cell"]["solver"]["name"], []).append(r)
assert sorted(by) == ["external_als", "mu"], sorted(by)
for r in by["external_als"]:
    assert r["environment"]["plugins"]["solver"]["version"] == "0.1.0"
    # ALS on an exact rank-4 product gets close fast.
    assert r["final"]["relative_error"] < 1e-2, r["final"]["relative_error"]
print("external plugin: ok")
PY
