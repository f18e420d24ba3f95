// Cyclic coordinate descent for NMF with missing values (seed 003, "Coordinate descent": update a
// single variable at a time, closed form in the Euclidean case; Hsieh & Dhillon 2011; Yu, Hsieh,
// Si & Dhillon 2012). Element-wise order: for each user u, its L variables p_u1 .. p_uL in turn, each
// set to the exact minimizer of the objective restricted to it and projected on [0, inf):
//   p_uk <- max(0, (sum_{i in I(u)} (R_ui + p_uk q_ik) q_ik - l1_W) / (sum_{i in I(u)} q_ik^2 + l2_W))
// with R_ui = r_ui - p_u.q_i kept up to date over the user's ratings; then all q_i likewise.
#include <algorithm>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace {

// The rows of the other factor are read in the order of a row's entries, at random: prefetched a
// few entries ahead. Always inlined and loop-free (GCC drops calls to functions whose only effect
// is a prefetch).
__attribute__((always_inline)) inline void prefetch_row(const double* p, std::size_t L) {
  __builtin_prefetch(p);
  if (L > 8) __builtin_prefetch(p + 8);
  if (L > 16) __builtin_prefetch(p + 16);
  if (L > 24) __builtin_prefetch(p + 24);
  __builtin_prefetch(p + L - 1);
}

// x . y with four interleaved partial sums in a fixed order (a single in-order sum is a chain of
// dependent additions, which the compiler may not reorder without -ffast-math).
inline double dot(const double* x, const double* y, std::size_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t a = 0;
  for (; a + 4 <= n; a += 4) {
    s0 += x[a] * y[a];
    s1 += x[a + 1] * y[a + 1];
    s2 += x[a + 2] * y[a + 2];
    s3 += x[a + 3] * y[a + 3];
  }
  for (; a < n; ++a) s0 += x[a] * y[a];
  return (s0 + s1) + (s2 + s3);
}

// res <- res - delta g, returning the new res . h, with the same four partial sums.
inline double axpy_dot(double* res, double delta, const double* g, const double* h, std::size_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t a = 0;
  for (; a + 4 <= n; a += 4) {
    res[a] -= delta * g[a];
    res[a + 1] -= delta * g[a + 1];
    res[a + 2] -= delta * g[a + 2];
    res[a + 3] -= delta * g[a + 3];
    s0 += res[a] * h[a];
    s1 += res[a + 1] * h[a + 1];
    s2 += res[a + 2] * h[a + 2];
    s3 += res[a + 3] * h[a + 3];
  }
  for (; a < n; ++a) {
    res[a] -= delta * g[a];
    s0 += res[a] * h[a];
  }
  return (s0 + s1) + (s2 + s3);
}

// One row x (length L) against the n rows b_j = B[cols[j]] of the other factor, with values v_j:
// the residuals R_j = v_j - x.b_j, then inner cycles of exact one-variable updates
//   x_k <- max(0, (sum_j (R_j + x_k b_jk) b_jk - l1) / (sum_j b_jk^2 + l2)).
// Compiled twice (AVX2 and baseline x86-64, chosen at load time): wider vectors, same operations in
// the same order (no FMA contraction in either), so the same results on every machine.
NMFX_TARGET_CLONES void update_row(double* x, std::size_t L, const double* B, const std::uint32_t* cols,
                                   const double* values, std::size_t n, double* res, double* g, double* den, double l1,
                                   double l2, int inner) {
  // g is L x n: g[k * n + j] = b_jk, so that each feature is contiguous. den[k] = sum_j b_jk^2 is
  // accumulated while gathering.
  for (std::size_t k = 0; k < L; ++k) den[k] = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    if (j + 8 < n) prefetch_row(B + static_cast<std::size_t>(cols[j + 8]) * L, L);
    const double* b = B + static_cast<std::size_t>(cols[j]) * L;
    for (std::size_t k = 0; k < L; ++k) {
      g[k * n + j] = b[k];
      den[k] += b[k] * b[k];
    }
    res[j] = values[j] - dot(x, b, L);
  }
  // Cycle over the L variables, `inner` times. The residual update for variable k and the
  // numerator of the next variable are one pass over the row's entries.
  const std::size_t updates = static_cast<std::size_t>(inner) * L;
  double num = dot(res, g, n);
  for (std::size_t t = 0; t < updates; ++t) {
    const std::size_t k = t % L;
    const double* gk = g + k * n;
    const double old = x[k], d = den[k] + l2;
    // The one-variable objective 1/2 sum_j (R_j + old g_j - v g_j)^2 + l1 v + l2/2 v^2, v >= 0.
    const double v = d > 0.0 ? std::max(0.0, (num + old * den[k] - l1) / d) : (l1 > 0.0 ? 0.0 : old);
    x[k] = v;
    const double delta = v - old;
    if (t + 1 == updates) break;  // the residuals are not needed after the row's last update
    const double* gn = g + ((k + 1) % L) * n;
    num = delta != 0.0 ? axpy_dot(res, delta, gk, gn, n) : dot(res, gn, n);
  }
}

class Ccd final : public nmfx::Solver {
 public:
  explicit Ccd(const nmfx::Params& p) : inner_(static_cast<int>(p.integer("inner"))) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    const nmfx::Data& X = problem.X;
    const std::size_t N = X.cols(), L = problem.rank;
    if (X.kind != nmfx::DataKind::observed)
      throw nmfx::Error(std::string("ccd: needs observed data (ratings), got ") + nmfx::to_string(X.kind) + " data");
    nmfx_common::check_factor_shapes("ccd", problem, W, H);
    X_ = &X;
    L_ = L;
    pen_ = problem.penalty;
    threads_ = std::max(1, problem.threads);
    Ht_.assign(N * L, 0.0);
    std::size_t longest = 0;
    for (const nmfx::SparseMatrix* S : {&X.sparse, &X.sparse_t})
      for (std::size_t r = 0; r < S->rows; ++r) longest = std::max(longest, S->indptr[r + 1] - S->indptr[r]);
    buffers_.resize(static_cast<std::size_t>(threads_));
    for (auto& b : buffers_) {
      b.res.resize(longest);
      b.gathered.resize(longest * L);
      b.den.resize(L);
    }
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (!X_) throw nmfx::Error("ccd: step() called before prepare()");
    const std::size_t L = L_, N = H.shape(1);
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t j = 0; j < N; ++j) Ht_[j * L + a] = H(a, j);
    sweep(W.data(), X_->sparse, Ht_.data(), pen_.l1_W, pen_.l2_W);    // all p_u, then
    sweep(Ht_.data(), X_->sparse_t, W.data(), pen_.l1_H, pen_.l2_H);  // all q_i with the new P
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t j = 0; j < N; ++j) H(a, j) = Ht_[j * L + a];
  }

 private:
  struct Buffers {
    std::vector<double> res, gathered, den;
  };

  // Updates every row x_r (length L) of A given the fixed rows of B, over the entries of S (row r
  // of S lists the columns c with an observed value, whose factor rows are B_c). Rows are
  // independent, so they run in parallel with results that do not depend on the thread count.
  void sweep(double* A, const nmfx::SparseMatrix& S, const double* B, double l1, double l2) {
    const std::size_t L = L_;
    const long rows = static_cast<long>(S.rows);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads_)
    for (long rr = 0; rr < rows; ++rr) {
      const std::size_t r = static_cast<std::size_t>(rr);
      Buffers& buf = buffers_[static_cast<std::size_t>(omp_get_thread_num())];
      update_row(A + r * L, L, B, S.indices.data() + S.indptr[r], S.values.data() + S.indptr[r],
                 S.indptr[r + 1] - S.indptr[r], buf.res.data(), buf.gathered.data(), buf.den.data(), l1, l2, inner_);
    }
  }

  int inner_;
  const nmfx::Data* X_ = nullptr;
  std::size_t L_ = 0;
  nmfx::Penalty pen_;
  int threads_ = 1;
  std::vector<double> Ht_;
  std::vector<Buffers> buffers_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Ccd>(
      "ccd", "1.0.0", "cyclic coordinate descent over the observed entries (ratings), element-wise, W then H");
  d.params = {
      nmfx::param_int("inner", 1, "cycles over the L variables of a row before moving to the next row", 1, 100),
  };
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::observed};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
