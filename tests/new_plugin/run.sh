#!/usr/bin/env bash
# Writing a plugin from outside nmfx, end to end, as a researcher would:
#   1. install nmfx into a temporary prefix (cmake --install) and check the installed layout;
#   2. for each kind given: `nmfx new-plugin <kind> my_<kind>`, build the folder against the
#      INSTALLED package (CMAKE_PREFIX_PATH), run `nmfx check-plugin` on the built library and the
#      generated ctest, and `nmfx run try.yaml` as written;
#   3. for a solver: a grid beside the built-in mu through NMFX_PLUGIN_PATH, checking the results,
#      then `cmake --install` of the plugin into the prefix, where nmfx finds it by itself.
# usage: run.sh <nmfx build dir> <work dir> <kind>...
set -euo pipefail
build=$1 work=$2
shift 2
rm -rf "$work" && mkdir -p "$work/src"
prefix=$work/prefix
unset NMFX_PLUGIN_PATH

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
nmfx=$prefix/bin/nmfx
for f in bin/nmfx lib/libnmfx.so include/nmfx/plugin.hpp include/nmfx/linalg.hpp lib/nmfx/plugins/solver_mu.so \
         lib/cmake/nmfx/nmfxConfig.cmake lib/cmake/nmfx/nmfxConfigVersion.cmake lib/cmake/nmfx/nmfxTargets.cmake \
         lib/cmake/nmfx/nmfxPlugin.cmake; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f is not installed"; exit 1; }
done
[ ! -e "$prefix/include/nmfx/registry.hpp" ] || { echo "FAIL: a host-side header is installed"; exit 1; }
if ls "$prefix/lib/nmfx/plugins" | grep -Eq "failing|broken"; then echo "FAIL: a test plugin is installed"; exit 1; fi
readelf -d "$nmfx" | grep -q 'R.*PATH.*\$ORIGIN/../lib' || { echo "FAIL: nmfx has no RPATH to ../lib"; exit 1; }
# The installed command runs, and finds the installed plugins.
"$nmfx" list solver > "$work/list.log"
grep -q "lib/nmfx/plugins/solver_mu.so" "$work/list.log"

# Bad arguments: exit status 2, nothing written.
for args in "solver 9lives" "solver my-solver" "widget my_widget" "solver class"; do
  status=0
  "$nmfx" new-plugin $args --dir "$work/src" > "$work/bad.log" 2>&1 || status=$?
  [ "$status" = 2 ] || { echo "FAIL: new-plugin $args: exit status $status, expected 2"; cat "$work/bad.log"; exit 1; }
done
[ -z "$(ls -A "$work/src")" ] || { echo "FAIL: a refused new-plugin wrote something"; exit 1; }

for kind in "$@"; do
  name=my_$kind
  dir=$work/src/$name
  echo "== $kind: $dir"
  "$nmfx" new-plugin "$kind" "$name" --dir "$work/src"
  for f in CMakeLists.txt "$name.cpp" README.md try.yaml; do [ -s "$dir/$f" ] || { echo "FAIL: no $f"; exit 1; }; done
  if grep -rq "@NAME@\|@CLASS@\|@KIND@\|@NMFX_VERSION@" "$dir"; then echo "FAIL: a placeholder is left"; exit 1; fi
  status=0
  "$nmfx" new-plugin "$kind" "$name" --dir "$work/src" > "$work/again.log" 2>&1 || status=$?
  [ "$status" = 2 ] && grep -q "already exists" "$work/again.log" || { echo "FAIL: new-plugin overwrote $dir"; exit 1; }

  cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure_$kind.log"
  cmake --build "$dir/build" > "$work/build_$kind.log"
  "$nmfx" check-plugin "$dir/build/$name.so"
  ctest --test-dir "$dir/build" --output-on-failure > "$work/ctest_$kind.log" || { cat "$work/ctest_$kind.log"; exit 1; }
  (cd "$dir" && "$nmfx" run try.yaml > "$work/try_$kind.log" 2>&1) || { cat "$work/try_$kind.log"; exit 1; }
  grep -q " 0 failed, 0 skipped" "$work/try_$kind.log"
  if [ "$kind" = analysis ]; then
    (cd "$dir" && "$nmfx" analyze "runs/try_$name" --plugin-path build --analysis "$name" > "$work/analyze.log" 2>&1) ||
      { cat "$work/analyze.log"; exit 1; }
    grep -q "$name: rank" "$work/analyze.log" || { echo "FAIL: $name chose no rank"; cat "$work/analyze.log"; exit 1; }
  fi

  if [ "$kind" = solver ]; then
    mkdir -p "$work/grid" && cd "$work/grid"
    cat > spec.yaml <<'SPEC'
name: beside
datasets: [{name: synthetic, params: {m: 60, n: 40, rank: 4}}]
solvers: [mu, my_solver]
ranks: 4
seeds: [0, 1]
stopping: {max_iter: 50}
output: out
SPEC
    # Not found without the path, found with it.
    if "$nmfx" validate spec.yaml > no_path.log 2>&1; then echo "FAIL: my_solver found without NMFX_PLUGIN_PATH"; exit 1; fi
    grep -q "unknown solver 'my_solver'" no_path.log
    NMFX_PLUGIN_PATH="$dir/build" "$nmfx" run spec.yaml
    /usr/bin/env python3 - <<'PY'
import glob, json
runs = [json.load(open(f)) for f in glob.glob("out/*.json")]
assert len(runs) == 4, len(runs)
by = {}
for r in runs:
    assert r["status"] == "ok", r["message"]
    by.setdefault(r["cell"]["solver"]["name"], []).append(r)
assert sorted(by) == ["mu", "my_solver"], sorted(by)
for r in by["my_solver"]:
    assert r["environment"]["plugins"]["solver"]["version"] == "0.1.0"
    assert r["environment"]["plugins"]["solver"]["file"].endswith("my_solver.so")
    t = r["trace"]
    assert t["relative_error"][-1] < 0.5 * t["relative_error"][0], t["relative_error"]
    assert "floored" in t, sorted(t)   # the solver's stats() reach the trace
print("grid beside mu: ok")
PY
    # Installed into nmfx's prefix, the plugin is found without NMFX_PLUGIN_PATH.
    cmake --install "$dir/build" --prefix "$prefix" > "$work/install_plugin.log"
    [ -e "$prefix/lib/nmfx/plugins/my_solver.so" ]
    "$nmfx" validate spec.yaml
  fi
done
echo "new-plugin ($*): ok"
