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

#include <doctest/doctest.h>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/host/grid.hpp>
#include <nmfx/host/runner.hpp>
#include <nmfx/rng.hpp>
#include <nmfx/host/threads.hpp>

namespace test {

namespace fs = std::filesystem;

/// True in a build with AddressSanitizer (cmake -DNMFX_SANITIZE=address,...).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

/// Ends a test case that cannot run under AddressSanitizer, saying why. ctest reports it as skipped
/// (tests/CMakeLists.txt gives every test case SKIP_REGULAR_EXPRESSION "skipped under AddressSanitizer").
#define NMFX_SKIP_UNDER_ADDRESS_SANITIZER(why)              \
  do {                                                      \
    if (test::kAddressSanitizer) {                          \
      MESSAGE("skipped under AddressSanitizer: " << (why)); \
      return;                                               \
    }                                                       \
  } while (false)

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

/// A^T, with plain loops.
inline nmfx::Matrix transposed(const nmfx::Matrix& A) {
  nmfx::Matrix T = nmfx::Matrix::from_shape({A.shape(1), A.shape(0)});
  for (std::size_t i = 0; i < A.shape(0); ++i)
    for (std::size_t j = 0; j < A.shape(1); ++j) T(j, i) = A(i, j);
  return T;
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

// A dense M x N matrix with about 70% zeros, and the same matrix as a sparse Data (CSR), both
// finalized by the framework. `explicit_zero` also stores one zero entry in the CSR.
struct DenseSparsePair {
  nmfx::Data dense, sparse;
};

inline DenseSparsePair dense_sparse_pair(std::size_t M, std::size_t N, std::uint64_t seed, bool explicit_zero = false) {
  nmfx::Rng rng(seed);
  nmfx::Matrix X = nmfx::Matrix::from_shape({M, N});
  for (double& v : X) v = rng.uniform() < 0.7 ? 0.0 : 5.0 * rng.uniform();
  X(0, 0) = 0.0;
  DenseSparsePair p;
  p.dense.dense = X;
  nmfx::finalize(p.dense, "dense");
  p.sparse.kind = nmfx::DataKind::sparse;
  auto& S = p.sparse.sparse;
  S.rows = M;
  S.cols = N;
  S.indptr.push_back(0);
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j)
      if (X(i, j) != 0.0 || (explicit_zero && i == 0 && j == 0)) {
        S.indices.push_back(static_cast<std::uint32_t>(j));
        S.values.push_back(X(i, j));
      }
    S.indptr.push_back(S.values.size());
  }
  nmfx::finalize(p.sparse, "sparse");
  return p;
}

inline double max_rel_diff(const nmfx::Matrix& A, const nmfx::Matrix& B) {
  REQUIRE(A.shape(0) == B.shape(0));
  REQUIRE(A.shape(1) == B.shape(1));
  double worst = 0.0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const double a = A.data()[k], b = B.data()[k];
    const double scale = std::max(std::abs(a), std::abs(b));
    if (scale > 0) worst = std::max(worst, std::abs(a - b) / scale);
  }
  return worst;
}

/// Solver `name` with `given` parameters (defaults filled in).
inline std::shared_ptr<nmfx::Solver> make_solver(const std::string& name, const nmfx::json& given) {
  return registry().create<nmfx::Solver>(name, given);
}

/// Loss `name` (default parameters) prepared on X for `rank`.
inline std::shared_ptr<nmfx::Loss> prepared_loss(const std::string& name, const nmfx::Data& X, std::size_t rank) {
  auto loss = registry().create<nmfx::Loss>(name, nmfx::json::object());
  loss->prepare(X, rank);
  return loss;
}

/// Dataset `name` made by its plugin with `given` (defaults filled in), loaded and finalized.
inline nmfx::Data load_dataset(const std::string& name, const nmfx::json& given) {
  auto dataset = registry().create<nmfx::Dataset>(name, given);
  nmfx::Data d = dataset->load();
  nmfx::finalize(d, name);
  return d;
}

/// What test::fit records of a run.
struct Fit {
  nmfx::Matrix W, H;
  std::vector<double> objective;  ///< before the first step, then after each step
  double pg_initial = 0, pg_final = 0;
  nmfx::Values stats;
};

/// Runs `steps` steps of `solver` (with `params`, on the Frobenius loss) through a CellSession from
/// the tests' usual uniform [0.1, 1) start drawn from `seed` (W) and `seed + 1` (H), recording the
/// objective (loss + penalty) after every step and the projected gradient norm at the start and the end.
inline Fit fit(const std::string& solver, const nmfx::json& params, const nmfx::Data& X, std::size_t rank, int steps,
               nmfx::Penalty penalty = {}, std::uint64_t seed = 5) {
  nmfx::SessionSetup setup;
  setup.solver = solver;
  setup.solver_params = params;
  setup.rank = rank;
  setup.penalty = penalty;
  nmfx::CellSession session(registry(), X, setup, random_matrix(X.rows(), rank, seed, 0.1, 1.0),
                            random_matrix(rank, X.cols(), seed + 1, 0.1, 1.0));
  Fit f;
  f.pg_initial = session.projected_gradient();
  f.objective.push_back(session.objective());
  for (int it = 0; it < steps; ++it) {
    session.step();
    f.objective.push_back(session.objective());
  }
  f.pg_final = session.projected_gradient();
  f.stats = session.solver().stats();
  f.W = session.W();
  f.H = session.H();
  return f;
}

}  // namespace test
