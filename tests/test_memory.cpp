// Loading X must not hold it more than once: `nmfx run` on a .npy and a .csv under an
// address-space limit (ulimit -v, RLIMIT_AS, in the shell of the child) of what the same command
// needs on a tiny file plus a fraction of X's size. A reader that holds the
// file's bytes, a parsed copy and X at once (three times X) cannot run under it. (OpenBLAS maps a
// 128 MiB buffer at its first product, after loading; loading overheads below that hide under it,
// so a .mtx case would need a file of some 10 million entries: not tested here.)
#include <doctest/doctest.h>

#include <nmfx/npy.hpp>

#include "support.hpp"

namespace {

// `nmfx run s.yaml` in dir under `ulimit -v kib`; true if the run's one cell ended ok. Below what
// OpenBLAS needs for its buffers (about 300 MiB) it retries its allocation forever, hence the
// timeout.
bool runs_under(const test::fs::path& dir, std::size_t kib, int seconds = 120) {
  // out/ removed first: a finished cell is not run again.
  const auto r = test::shell("cd '" + dir.string() + "' && rm -rf out && ulimit -v " + std::to_string(kib) +
                             " && MALLOC_ARENA_MAX=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 timeout " +
                             std::to_string(seconds) + " '" + NMFX_EXE + "' run s.yaml");
  return r.status == 0 && r.output.find("1 ok") != std::string::npos;
}

// The least address space (KiB, to 2 MiB) that `nmfx run` needs in dir: by bisection, with a
// short timeout for the runs that hang in OpenBLAS.
std::size_t least_kib(const test::fs::path& dir) {
  std::size_t lo = 64 << 10, hi = 2 << 20;  // 64 MiB fails, 2 GiB runs
  REQUIRE(runs_under(dir, hi));
  while (hi - lo > 2048) {
    const std::size_t mid = (lo + hi) / 2;
    (runs_under(dir, mid, 5) ? hi : lo) = mid;
  }
  return hi;
}

// The loss as the only metric: the default relative_error forms W H a block of rows at a time,
// 256 x N doubles (80 MB for the .mtx's N = 40000), which would hide what loading takes.
void spec(const test::fs::path& dir, const std::string& dataset) {
  test::write(dir / "s.yaml", "datasets:\n  - " + dataset +
                                  "\nsolvers: [mu]\nranks: 2\nseeds: [0]\nthreads: 1\nmetrics: [loss]\n"
                                  "stopping: {max_iter: 2}\noutput: out\n");
}

// The least address space of a tiny run, measured once (on a tiny .npy) for every test here, plus
// 8 MiB for what another dataset plugin maps; each test checks its own tiny run under it.
// `name` keeps the folders of test cases that ctest runs at the same time apart.
std::size_t base_kib(const std::string& name) {
  static const std::size_t base = [&] {
    const auto dir = test::temp_dir("memory_base_" + name);
    nmfx::write_npy((dir / "x.npy").string(), test::random_matrix(20, 10, 1));
    spec(dir, "{name: npy, params: {path: x.npy}}");
    return least_kib(dir) + (8 << 10);
  }();
  return base;
}

}  // namespace

TEST_CASE("nmfx run loads a 96 MB .npy under an address-space limit of a tiny run's plus 1.5 times X") {
  NMFX_SKIP_UNDER_ADDRESS_SANITIZER("its shadow memory takes terabytes of address space, so no ulimit -v can hold it");
  const auto small = test::temp_dir("memory_npy_small"), big = test::temp_dir("memory_npy_big");
  nmfx::write_npy((small / "x.npy").string(), test::random_matrix(20, 10, 1));
  nmfx::write_npy((big / "x.npy").string(), test::random_matrix(3000, 4000, 2));  // 96 MB of doubles
  spec(small, "{name: npy, params: {path: x.npy}}");
  spec(big, "{name: npy, params: {path: x.npy}}");
  const std::size_t base = base_kib("npy"), x_kib = 3000 * 4000 * 8 / 1024;
  REQUIRE(runs_under(small, base));
  CHECK(runs_under(big, base + x_kib * 3 / 2));
  // The same file gzipped is inflated on the fly into X, under the same limit.
  REQUIRE(test::shell("gzip -f -k -1 '" + (big / "x.npy").string() + "'").status == 0);
  spec(big, "{name: npy, params: {path: x.npy.gz}}");
  CHECK(runs_under(big, base + x_kib * 3 / 2));
}

TEST_CASE("nmfx run loads a .csv of 4 million numbers under a limit of a tiny run's plus 1.6 times X") {
  NMFX_SKIP_UNDER_ADDRESS_SANITIZER("its shadow memory takes terabytes of address space, so no ulimit -v can hold it");
  const auto small = test::temp_dir("memory_csv_small"), big = test::temp_dir("memory_csv_big");
  auto write_csv = [](const test::fs::path& path, std::size_t M, std::size_t N) {
    std::string text;
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) {
        text += static_cast<char>('1' + (i * 7 + j * 3) % 9);
        text += j + 1 < N ? ',' : '\n';
      }
    test::write(path, text);
  };
  write_csv(small / "x.csv", 20, 10);
  write_csv(big / "x.csv", 1000, 4000);  // 32 MB as doubles, 8 MB as text
  spec(small, "{name: csv, params: {path: x.csv}}");
  spec(big, "{name: csv, params: {path: x.csv}}");
  const std::size_t base = base_kib("csv"), x_kib = 1000 * 4000 * 8 / 1024;
  REQUIRE(runs_under(small, base));
  CHECK(runs_under(big, base + x_kib * 16 / 10));
}
