#pragma once
/// @file nnls_bpp.hpp
/// Nonnegative least squares with many right-hand sides by block principal pivoting
/// (Kim & Park 2011, SIAM J. Sci. Comput. 33(6), Algorithm 2 with the column grouping of section 4).
///
/// For a symmetric positive (semi)definite C (L x L) and right-hand sides b_j, each ROW of B (K x L),
/// NnlsBpp::solve finds for every j
///
///     x_j = argmin_{x >= 0} 1/2 x^T C x - b_j^T x        (= argmin_{x>=0} ||A x - y_j||^2 for C = A^T A, b_j = A^T
///     y_j)
///
/// and writes it to ROW j of X (K x L). Rows were chosen because the matrices are row-major: row j of
/// B is contiguous. The elastic net
/// min 1/2||Ax - y||^2 + l1 sum(x) + l2/2 ||x||^2 over x >= 0 is the same problem with C + l2 I and b - l1.
///
/// Header-only so that tests can solve a subproblem directly; the anls_bpp plugin compiles it too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/clones.hpp>
#include <nmfx/linalg.hpp>
#include <nmfx/types.hpp>

namespace nmfx_anls_bpp {

class NnlsBpp {
 public:
  struct Stats {
    std::size_t iterations = 0;      ///< block-pivoting sweeps (Kim's bigIter) until every row was feasible
    std::size_t factorizations = 0;  ///< Cholesky factorizations of C_FF, one per distinct passive set per sweep
    std::size_t failed = 0;          ///< rows still infeasible after the 5 L sweep limit (ill-conditioned C)
    std::size_t jittered = 0;        ///< C_FF that needed a diagonal shift to factor (C singular)
    std::size_t fallbacks = 0;       ///< rows re-solved by Lawson-Hanson from their start (failed, or worse than it)
    std::size_t unconverged =
        0;  ///< of those, rows where Lawson-Hanson hit its 3 L limit (x is still >= 0 and no worse)
  };

  /// Sizes every workspace for problems with L unknowns and up to max_rhs right-hand sides; solve()
  /// then allocates nothing.
  void prepare(std::size_t L, std::size_t max_rhs) {
    L_ = L;
    max_rhs_ = max_rhs;
    words_ = (L + 63) / 64;
    mask_.assign(max_rhs * words_, 0);
    y_.assign(max_rhs * L, 0.0);
    tau_x_.assign(max_rhs, 0.0);
    tau_y_.assign(max_rhs, 0.0);
    bad_.assign(max_rhs, 0);
    ninf_.assign(max_rhs, 0);
    backup_.assign(max_rhs, 0);
    rows_.clear();
    rows_.reserve(max_rhs);
    active_.clear();
    active_.reserve(max_rhs);
    dead_.assign(L, 0);
    feasible_.assign(max_rhs, 0);
    start_.assign(max_rhs * L, 0.0);
    outcome_.assign(max_rhs, 0);
    groups_.clear();
    groups_.reserve(max_rhs + 1);
    // One set of buffers per thread: the groups (distinct passive sets) are solved in parallel.
    work_.assign(static_cast<std::size_t>(std::max(1, omp_get_max_threads())), Work());
    for (Work& w : work_) {
      w.cx.assign(L, 0.0);
      w.set.assign(L, 0);
      w.factor.assign(L * L, 0.0);
      w.rhs.assign(L, 0.0);
      w.step.assign(L, 0.0);
      w.in_passive.assign(L, 0);
      w.excluded.assign(L, 0);
      w.error.reserve(256);
    }
  }

  /// Solves the rows of B into the rows of X. On entry X is the warm start: its positive entries
  /// give the initial passive sets (Kim & Park's `init`); pass zeros for a cold start.
  Stats solve(const nmfx::Matrix& C, const nmfx::Matrix& B, nmfx::Matrix& X) {
    const std::size_t K = B.shape(0), L = L_;
    if (C.shape(0) != L || C.shape(1) != L || B.shape(1) != L || X.shape(0) != K || X.shape(1) != L || K > max_rhs_)
      throw nmfx::Error("nnls_bpp: C " + shape(C) + ", B " + shape(B) + ", X " + shape(X) +
                        " do not fit the prepared L = " + std::to_string(L) +
                        ", max_rhs = " + std::to_string(max_rhs_));
    Stats stats;
    // The start, made feasible: the fallback's starting point and the bound the result must not exceed.
    for (std::size_t k = 0; k < K * L; ++k) start_[k] = std::max(X.data()[k], 0.0);
    // A variable whose column of C is zero does not change the fit: it stays at 0 (optimal for
    // b_i <= 0, the NMF case of a dead component, where b_i = -l1).
    for (std::size_t i = 0; i < L; ++i) dead_[i] = !(C(i, i) > 0);

    rows_.resize(K);
    for (std::size_t j = 0; j < K; ++j) {
      rows_[j] = static_cast<std::uint32_t>(j);
      std::uint64_t* m = mask(j);
      std::fill(m, m + words_, 0);
      const double* x = &X(j, 0);
      for (std::size_t i = 0; i < L; ++i)
        if (x[i] > 0 && !dead_[i]) m[i / 64] |= std::uint64_t{1} << (i % 64);
      ninf_[j] = static_cast<int>(L) + 1;  // Kim & Park's beta = q + 1
      backup_[j] = kFullExchanges;         // alpha = 3
    }
    for (Work& w : work_) w.factorizations = w.jittered = 0;
    solve_passive(C, B, X, rows_);
    check_rows(C, B, X, rows_);
    active_.clear();
    for (std::size_t j = 0; j < K; ++j)
      if (!feasible_[j]) active_.push_back(static_cast<std::uint32_t>(j));

    const std::size_t limit = 5 * L;  // Kim's MAX_BIG_ITER, a guard for ill-conditioned C
    while (!active_.empty()) {
      if (stats.iterations == limit) {
        stats.failed = active_.size();
        break;
      }
      ++stats.iterations;
      for (const std::uint32_t j : active_) exchange(X, j);
      solve_passive(C, B, X, active_);
      check_rows(C, B, X, active_);
      std::size_t kept = 0;
      for (const std::uint32_t j : active_)
        if (!feasible_[j]) active_[kept++] = j;
      active_.resize(kept);
    }
    // Within tau of zero counts as feasible; make it exactly feasible.
    for (std::size_t k = 0; k < K * L; ++k) X.data()[k] = std::max(X.data()[k], 0.0);

    // Safeguard. On an ill-conditioned C (cond(C) ~ 1e10 when W has nearly dependent columns, as in
    // rank-deficient NMF) the computed signs of x_F and y_G near zero are rounding noise, and
    // Murty's single-index rule, finite in exact arithmetic, can need far more than 5 L sweeps: the
    // rows left infeasible at the limit would be clipped to an arbitrary point. Those rows, and any
    // row whose result is worse than its (feasible) start, are solved again by Lawson & Hanson's
    // active-set method from the start: its objective never increases, and it stops at the KKT point.
    parallel_for(K, parts(K), [&](Work& w, std::size_t j) {
      outcome_[j] = 0;
      double* x = &X(j, 0);
      const double* b = &B(j, 0);
      const double* x0 = start_.data() + j * L;
      // A BPP result that passed the KKT test can differ from an optimal start only by rounding: the
      // allowance keeps such rows from being solved twice near convergence.
      if (feasible_[j]) {
        const double f = objective(C, b, x, w), f0 = objective(C, b, x0, w);
        if (f - f0 <= kTol * std::max(std::abs(f), std::abs(f0))) return;
      }
      std::copy(x0, x0 + L, x);
      outcome_[j] = lawson_hanson(C, b, x, w) ? 1 : 2;
    });
    for (std::size_t j = 0; j < K; ++j) {
      stats.fallbacks += outcome_[j] != 0;
      stats.unconverged += outcome_[j] == 2;
    }
    for (const Work& w : work_) {
      stats.factorizations += w.factorizations;
      stats.jittered += w.jittered;
    }
    return stats;
  }

 private:
  // What one thread needs to solve a group of rows: C_FF's factor and right-hand sides per k, the
  // passive set, C x for the feasibility test, and its counts.
  struct Work {
    std::vector<double> cx;
    std::vector<std::size_t> set;
    std::vector<double> factor;                       ///< the Cholesky factor of C_FF, k x k row-major (lower triangle)
    std::vector<double> rhs;                          ///< one right-hand side b_F, solved in place
    std::vector<double> step;                         ///< Lawson-Hanson's least-squares solution on its passive set
    std::vector<unsigned char> in_passive, excluded;  ///< Lawson-Hanson's passive set, rejected candidates
    std::size_t factorizations = 0, jittered = 0;
    std::string error;  ///< an exception's message, rethrown after the parallel loop
  };

  // Threads pay off from about a millisecond of work (K L^2 >= 2^18 flops of solves and checks).
  int parts(std::size_t rows) const {
    return rows * L_ * L_ >= (std::size_t{1} << 18) ? static_cast<int>(work_.size()) : 1;
  }

  // Runs body(work, index) for index in [0, n), on up to parts threads; each index's work does not
  // depend on the thread that does it, so the results are the same for any thread count.
  template <class Body>
  void parallel_for(std::size_t n, int parts, Body body) {
    const long count = static_cast<long>(n);
#pragma omp parallel for num_threads(parts) schedule(dynamic, 1) if (parts > 1)
    for (long t = 0; t < count; ++t) {
      Work& w = work_[static_cast<std::size_t>(omp_get_thread_num())];
      if (!w.error.empty()) continue;
      try {
        body(w, static_cast<std::size_t>(t));
      } catch (const std::exception& e) {
        w.error = e.what();
      }
    }
    for (Work& w : work_)
      if (!w.error.empty()) {
        const std::string message = w.error;
        for (Work& v : work_) v.error.clear();
        throw nmfx::Error(message);
      }
  }

  void check_rows(const nmfx::Matrix& C, const nmfx::Matrix& B, const nmfx::Matrix& X,
                  const std::vector<std::uint32_t>& rows) {
    parallel_for(rows.size(), parts(rows.size()),
                 [&](Work& w, std::size_t t) { feasible_[rows[t]] = !check(C, B, X, rows[t], w); });
  }

  static constexpr int kFullExchanges = 3;  // Kim & Park's alpha
  // Relative rounding allowance in the feasibility tests (Kim's code zeroes |x|, |y| < 1e-12
  // absolutely; relative thresholds keep the test independent of the data's scale).
  static constexpr double kTol = 1e-12;

  std::uint64_t* mask(std::size_t j) { return mask_.data() + j * words_; }
  bool passive(std::size_t j, std::size_t i) const { return (mask_[j * words_ + i / 64] >> (i % 64)) & 1; }
  void flip(std::size_t j, std::size_t i) { mask_[j * words_ + i / 64] ^= std::uint64_t{1} << (i % 64); }

  // x_F = C_FF^{-1} b_F and x_G = 0 for the listed rows (eqs. 3.3a, 3.8 of Kim & Park). The rows are sorted
  // by passive set so that each distinct F is factored once for all its rows (section 4); the
  // groups are independent and run in parallel.
  void solve_passive(const nmfx::Matrix& C, const nmfx::Matrix& B, nmfx::Matrix& X, std::vector<std::uint32_t>& rows) {
    const std::size_t W = words_, L = L_;
    const std::uint64_t* m = mask_.data();
    std::sort(rows.begin(), rows.end(), [m, W](std::uint32_t a, std::uint32_t b) {
      return std::lexicographical_compare(m + a * W, m + a * W + W, m + b * W, m + b * W + W);
    });
    groups_.clear();
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (r == 0 || !std::equal(m + rows[r] * W, m + rows[r] * W + W, m + rows[r - 1] * W)) groups_.push_back(r);
    groups_.push_back(rows.size());
    parallel_for(groups_.size() - 1, parts(rows.size()), [&](Work& w, std::size_t g) {
      const std::size_t start = groups_[g], end = groups_[g + 1];
      std::size_t k = 0;
      for (std::size_t i = 0; i < L; ++i)
        if (passive(rows[start], i)) w.set[k++] = i;
      if (k == 0) {
        for (std::size_t r = start; r < end; ++r) std::fill(&X(rows[r], 0), &X(rows[r], 0) + L, 0.0);
        return;
      }
      factor(C, k, w);
      double* z = w.rhs.data();
      for (std::size_t r = start; r < end; ++r) {
        const double* b = &B(rows[r], 0);
        for (std::size_t a = 0; a < k; ++a) z[a] = b[w.set[a]];
        cholesky_solve(w.factor.data(), k, z);
        double* x = &X(rows[r], 0);
        std::fill(x, x + L, 0.0);
        for (std::size_t a = 0; a < k; ++a) x[w.set[a]] = z[a];
      }
    });
  }

  // G = R R^T in place for a k x k symmetric positive definite G (row-major; its lower triangle is
  // read and R written there). Inline rather than LAPACK's dpotrf/dpotrs: at the k <= L of these
  // subproblems, OpenBLAS's calls cost more in dispatch and buffer management than in arithmetic
  // (measured on the solve alone: 15% faster at L = 30, 6% at L = 60; a right-looking variant with
  // vectorized updates was 7% slower at L = 60). Returns false on a pivot that is not > 0.
  static bool cholesky(double* G, std::size_t k) {
    for (std::size_t j = 0; j < k; ++j) {
      const double* gj = G + j * k;
      double d = gj[j];
      for (std::size_t p = 0; p < j; ++p) d -= gj[p] * gj[p];
      if (!(d > 0)) return false;
      const double rjj = std::sqrt(d);
      G[j * k + j] = rjj;
      for (std::size_t i = j + 1; i < k; ++i) {
        double* gi = G + i * k;
        double v = gi[j];
        for (std::size_t p = 0; p < j; ++p) v -= gi[p] * gj[p];
        gi[j] = v / rjj;
      }
    }
    return true;
  }

  // z <- G^{-1} z from G's factor R: R y = z forward, then R^T x = y backward (column-oriented, so
  // that both sweeps read rows of R).
  static void cholesky_solve(const double* R, std::size_t k, double* z) {
    for (std::size_t i = 0; i < k; ++i) {
      const double* ri = R + i * k;
      double v = z[i];
      for (std::size_t p = 0; p < i; ++p) v -= ri[p] * z[p];
      z[i] = v / ri[i];
    }
    for (std::size_t i = k; i-- > 0;) {
      const double* ri = R + i * k;
      z[i] /= ri[i];
      const double zi = z[i];
      for (std::size_t p = 0; p < i; ++p) z[p] -= ri[p] * zi;
    }
  }

  // Cholesky factor of C_FF (F = w.set[0..k)) into w.factor. C is positive definite when W has full
  // column rank, as Kim & Park assume; otherwise a diagonal shift, growing from 1e-12 of the largest
  // diagonal entry, makes it factorable.
  void factor(const nmfx::Matrix& C, std::size_t k, Work& w) {
    double* G = w.factor.data();
    const std::vector<std::size_t>& set = w.set;
    double shift = 0, diag = 0;
    for (std::size_t a = 0; a < k; ++a) diag = std::max(diag, C(set[a], set[a]));
    for (int attempt = 0;; ++attempt) {
      for (std::size_t a = 0; a < k; ++a)
        for (std::size_t c = 0; c <= a; ++c) G[a * k + c] = C(set[a], set[c]);
      for (std::size_t a = 0; a < k; ++a) G[a * k + a] += shift;
      ++w.factorizations;
      if (cholesky(G, k)) return;
      if (attempt == 8)
        throw nmfx::Error("nnls_bpp: C_FF is not positive definite even after a diagonal shift of " +
                          std::to_string(shift));
      shift = shift == 0 ? 1e-12 * diag : shift * 100;
      if (attempt == 0) ++w.jittered;
    }
  }

  // y = C x - b on the active set (eqs. 3.3b, 3.9) and the infeasible set V (3.4, step 4 of Algorithm 1):
  // x_i < 0 for i in F, y_i < 0 for i in G. Returns whether V is nonempty; bad_[j] = |V|.
  NMFX_TARGET_CLONES bool check(const nmfx::Matrix& C, const nmfx::Matrix& B, const nmfx::Matrix& X, std::size_t j,
                                Work& w) {
    const std::size_t L = L_;
    double* cx = w.cx.data();
    const double* x = &X(j, 0);
    const double* b = &B(j, 0);
    double* y = y_.data() + j * L;
    double sx = 0, sy = 0;
    for (std::size_t i = 0; i < L; ++i) {
      sx = std::max(sx, std::abs(x[i]));
      sy = std::max(sy, std::abs(b[i]));
    }
    for (std::size_t i = 0; i < L; ++i) cx[i] = 0;
    for (std::size_t a = 0; a < L; ++a) {
      const double xa = x[a];
      if (xa == 0) continue;
      const double* c = &C(a, 0);  // C is symmetric: row a is column a
      for (std::size_t i = 0; i < L; ++i) cx[i] += c[i] * xa;
    }
    for (std::size_t i = 0; i < L; ++i) {
      sy = std::max(sy, std::abs(cx[i]));
      y[i] = passive(j, i) ? 0.0 : cx[i] - b[i];
    }
    const double tx = kTol * sx, ty = kTol * sy;
    tau_x_[j] = tx;
    tau_y_[j] = ty;
    int count = 0;
    for (std::size_t i = 0; i < L; ++i) count += infeasible(j, i, x[i], y[i]);
    bad_[j] = count;
    return count > 0;
  }

  // f(x) = 1/2 x^T C x - b^T x, the objective of (3.1) in its normal-equations form, for one row.
  double objective(const nmfx::Matrix& C, const double* b, const double* x, Work& w) const {
    const std::size_t L = L_;
    double* cx = w.cx.data();
    multiply(C, x, cx);
    double f = 0;
    for (std::size_t i = 0; i < L; ++i) f += x[i] * (0.5 * cx[i] - b[i]);
    return f;
  }

  // cx = C x, skipping the zeros of x.
  void multiply(const nmfx::Matrix& C, const double* x, double* cx) const {
    const std::size_t L = L_;
    for (std::size_t i = 0; i < L; ++i) cx[i] = 0;
    for (std::size_t a = 0; a < L; ++a) {
      const double xa = x[a];
      if (xa == 0) continue;
      const double* c = &C(a, 0);
      for (std::size_t i = 0; i < L; ++i) cx[i] += c[i] * xa;
    }
  }

  // Lawson & Hanson's NNLS (Solving Least Squares Problems, 1974, ch. 23, Algorithm NNLS) on the
  // normal equations (C, b), as in Bro & de Jong's FNNLS, started from a feasible x instead of 0.
  // The inner loop moves x toward s, the unconstrained minimizer on the passive set P, as far as
  // x >= 0 allows and drops the variables that reach 0; f is convex along the segment and s its
  // minimizer on span(P), so f never increases. The outer loop adds the variable with the most
  // negative gradient; if rounding makes its s_t <= 0 right away (which would stall the method), it
  // is put back and the next candidate is tried (Lawson & Hanson's own guard). Returns whether the
  // KKT conditions hold (within the rounding allowance) before the 3 L outer-iteration limit.
  bool lawson_hanson(const nmfx::Matrix& C, const double* b, double* x, Work& w) {
    const std::size_t L = L_;
    unsigned char* in = w.in_passive.data();
    unsigned char* excluded = w.excluded.data();
    double* s = w.step.data();
    double* g = w.cx.data();
    double* z = w.rhs.data();
    for (std::size_t i = 0; i < L; ++i) {
      in[i] = x[i] > 0 && !dead_[i];
      if (!in[i]) x[i] = 0;
      excluded[i] = 0;
    }
    std::size_t entered = L;  // the variable just added to P, if any
    for (std::size_t outer = 0; outer <= 3 * L; ++outer) {
      for (std::size_t inner = 0; inner <= L; ++inner) {
        std::size_t k = 0;
        for (std::size_t i = 0; i < L; ++i)
          if (in[i]) w.set[k++] = i;
        if (k == 0) break;
        factor(C, k, w);
        for (std::size_t a = 0; a < k; ++a) z[a] = b[w.set[a]];
        cholesky_solve(w.factor.data(), k, z);
        for (std::size_t a = 0; a < k; ++a) s[w.set[a]] = z[a];
        if (entered != L) {
          const bool stalls = !(s[entered] > 0);
          if (stalls) {
            in[entered] = 0;
            excluded[entered] = 1;
          } else {
            std::fill(excluded, excluded + L, 0);
          }
          entered = L;
          if (stalls) break;  // x is unchanged: still the minimizer on the old P
        }
        double alpha = 1;
        std::size_t blocking = L;
        for (std::size_t a = 0; a < k; ++a) {
          const std::size_t i = w.set[a];
          if (s[i] <= 0) {
            const double r = x[i] / (x[i] - s[i]);
            if (r < alpha) {
              alpha = r;
              blocking = i;
            }
          }
        }
        if (blocking == L) {
          for (std::size_t a = 0; a < k; ++a) x[w.set[a]] = s[w.set[a]];
          break;
        }
        for (std::size_t a = 0; a < k; ++a) {
          const std::size_t i = w.set[a];
          x[i] += alpha * (s[i] - x[i]);
        }
        x[blocking] = 0;
        for (std::size_t a = 0; a < k; ++a) {
          const std::size_t i = w.set[a];
          if (!(x[i] > 0)) {
            x[i] = 0;
            in[i] = 0;
          }
        }
      }
      // The KKT test (3.2) with the same relative allowance as BPP's.
      multiply(C, x, g);
      double scale = 0;
      for (std::size_t i = 0; i < L; ++i) scale = std::max({scale, std::abs(b[i]), std::abs(g[i])});
      double most = -kTol * scale;
      std::size_t t = L;
      for (std::size_t i = 0; i < L; ++i) {
        const double gi = g[i] - b[i];
        if (!in[i] && !dead_[i] && !excluded[i] && gi < most) {
          most = gi;
          t = i;
        }
      }
      if (t == L) return true;
      in[t] = 1;
      entered = t;
    }
    return false;
  }

  bool infeasible(std::size_t j, std::size_t i, double x, double y) const {
    return passive(j, i) ? x < -tau_x_[j] : (!dead_[i] && y < -tau_y_[j]);
  }

  // Steps 5-8 of Algorithm 1 (exchange 3.5, backup rule 3.6): exchange all of V while |V| decreases, or for up to alpha
  // = 3 sweeps where it does not; then only the largest index of V (Murty's backup rule) until |V| decreases.
  void exchange(const nmfx::Matrix& X, std::size_t j) {
    const std::size_t L = L_;
    const double* x = &X(j, 0);
    const double* y = y_.data() + j * L;
    bool full = true;
    if (bad_[j] < ninf_[j]) {
      ninf_[j] = bad_[j];
      backup_[j] = kFullExchanges;
    } else if (backup_[j] >= 1) {
      --backup_[j];
    } else {
      full = false;
    }
    if (full) {
      for (std::size_t i = 0; i < L; ++i)
        if (infeasible(j, i, x[i], y[i])) flip(j, i);
    } else {
      for (std::size_t i = L; i-- > 0;)
        if (infeasible(j, i, x[i], y[i])) {
          flip(j, i);
          break;
        }
    }
  }

  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::size_t L_ = 0, max_rhs_ = 0, words_ = 0;
  std::vector<std::uint64_t> mask_;       ///< passive set F of each row, one bit per variable
  std::vector<double> y_;                 ///< y = C x - b per row (zero on F)
  std::vector<double> tau_x_, tau_y_;     ///< per-row rounding allowances
  std::vector<int> bad_, ninf_, backup_;  ///< |V|, Kim & Park's beta (best |V|) and alpha per row
  std::vector<std::uint32_t> rows_, active_;
  std::vector<unsigned char> dead_;
  std::vector<unsigned char> feasible_;  ///< per row: the last check found no infeasible variable
  std::vector<std::size_t> groups_;      ///< starts of the runs of equal passive sets in the sorted rows
  std::vector<Work> work_;               ///< one per thread
  std::vector<double> start_;            ///< each row's start, clipped at 0 (K x L)
  std::vector<unsigned char> outcome_;   ///< per row: 0 BPP's result kept, 1 Lawson-Hanson, 2 Lawson-Hanson unconverged
};

}  // namespace nmfx_anls_bpp
