#pragma once
// Shared helpers of the test suite: the built plugins, temporary folders, running the nmfx command.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nmfx/host/grid.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/host/threads.hpp>

namespace test {

namespace fs = std::filesystem;

/// The built-in plugins and the test plugins, loaded once.
inline const nmfx::Registry& registry() {
  static const nmfx::Registry r = [] {
    nmfx::Registry reg;
    reg.scan({NMFX_BUILD_PLUGIN_DIR, NMFX_TEST_PLUGIN_DIR});
    return reg;
  }();
  return r;
}

/// A fresh, empty folder under the build tree.
inline fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::path(NMFX_TEST_TMP_DIR) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string read(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Command {
  int status;
  std::string output;  ///< stdout and stderr together
};

/// Runs a shell command line; its stdout and stderr together, and its exit status.
inline Command shell(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int raw = pclose(pipe);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

/// Runs the nmfx command with `args` (a shell fragment) in folder `cwd`.
inline Command nmfx_command(const std::string& args, const fs::path& cwd, const std::string& env = "") {
  return shell("cd '" + cwd.string() + "' && " + env + " '" + NMFX_EXE + "' " + args);
}

/// M x N matrix with entries uniform on [lo, hi), from `seed`.
inline nmfx::Matrix random_matrix(std::size_t m, std::size_t n, std::uint64_t seed, double lo = 0.0, double hi = 1.0) {
  nmfx::Rng rng(seed);
  nmfx::Matrix A = nmfx::Matrix::from_shape({m, n});
  for (double& v : A) v = lo + (hi - lo) * rng.uniform();
  return A;
}

/// Naive (W H)_{ij}, written independently of the BLAS path.
inline nmfx::Matrix naive_product(const nmfx::Matrix& W, const nmfx::Matrix& H) {
  nmfx::Matrix P = nmfx::Matrix::from_shape({W.shape(0), H.shape(1)});
  for (std::size_t i = 0; i < W.shape(0); ++i)
    for (std::size_t j = 0; j < H.shape(1); ++j) {
      double s = 0;
      for (std::size_t a = 0; a < W.shape(1); ++a) s += W(i, a) * H(a, j);
      P(i, j) = s;
    }
  return P;
}

inline nmfx::Data make_data(nmfx::Matrix X) {
  nmfx::Data d;
  d.dense = std::move(X);
  nmfx::finalize(d, "test");
  return d;
}

/// The same matrix stored sparse (CSR of its nonzeros), finalized as the framework would.
inline nmfx::Data make_sparse(const nmfx::Matrix& A) {
  nmfx::Data d;
  d.kind = nmfx::DataKind::sparse;
  d.sparse.rows = A.shape(0);
  d.sparse.cols = A.shape(1);
  d.sparse.indptr.push_back(0);
  for (std::size_t i = 0; i < A.shape(0); ++i) {
    for (std::size_t j = 0; j < A.shape(1); ++j)
      if (A(i, j) != 0) {
        d.sparse.indices.push_back(static_cast<std::uint32_t>(j));
        d.sparse.values.push_back(A(i, j));
      }
    d.sparse.indptr.push_back(d.sparse.values.size());
  }
  nmfx::finalize(d, "test");
  return d;
}

}  // namespace test
