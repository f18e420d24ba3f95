#pragma once
/// @file nnls_bpp.hpp
/// Nonnegative least squares with many right-hand sides by block principal pivoting
/// (Kim & Park 2011, SIAM J. Sci. Comput. 33(6), Algorithm 2 with the column grouping of section 4).
///
/// For a symmetric positive (semi)definite C (L x L) and right-hand sides b_j, each ROW of B (K x L),
/// NnlsBpp::solve finds for every j
///
///     x_j = argmin_{x >= 0} 1/2 x^T C x - b_j^T x        (= argmin_{x>=0} ||A x - y_j||^2 for C = A^T A, b_j = A^T y_j)
///
/// and writes it to ROW j of X (K x L). Rows were chosen because the matrices are row-major: row j of
/// B is contiguous, and nmfx::cholesky_solve_rows takes one right-hand side per row. The elastic net
/// min 1/2||Ax - y||^2 + l1 sum(x) + l2/2 ||x||^2 over x >= 0 is the same problem with C + l2 I and b - l1.
///
/// Header-only so that tests can solve a subproblem directly; the anls_bpp plugin compiles it too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

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
    cx_.assign(L, 0.0);
    set_.assign(L, 0);
    // A group of K rows with k passive variables is solved in chunks of 2^p rows, each in an exact
    // (2^p x k) buffer, because cholesky_solve_rows takes a Matrix whose row count is the number of
    // right-hand sides and resizing an xtensor allocates. Chunks of up to kChunk rows keep dpotrs
    // blocked while the buffers stay at about 2 kChunk L^2 / 2 doubles.
    chunk_rows_ = 1;
    while (chunk_rows_ * 2 <= std::min<std::size_t>(kChunk, std::max<std::size_t>(max_rhs, 1))) chunk_rows_ *= 2;
    std::size_t levels = 0;
    while ((std::size_t{1} << levels) <= chunk_rows_) ++levels;
    factor_.assign(L + 1, nmfx::Matrix());
    chunk_.assign(L + 1, std::vector<nmfx::Matrix>());
    for (std::size_t k = 1; k <= L; ++k) {
      factor_[k] = nmfx::Matrix::from_shape({k, k});
      chunk_[k].resize(levels);
      for (std::size_t p = 0; p < levels; ++p) chunk_[k][p] = nmfx::Matrix::from_shape({std::size_t{1} << p, k});
    }
  }

  /// Solves the rows of B into the rows of X. On entry X is the warm start: its positive entries
  /// give the initial passive sets (Kim & Park's `init`); pass zeros for a cold start.
  Stats solve(const nmfx::Matrix& C, const nmfx::Matrix& B, nmfx::Matrix& X) {
    const std::size_t K = B.shape(0), L = L_;
    if (C.shape(0) != L || C.shape(1) != L || B.shape(1) != L || X.shape(0) != K || X.shape(1) != L ||
        K > max_rhs_)
      throw nmfx::Error("nnls_bpp: C " + shape(C) + ", B " + shape(B) + ", X " + shape(X) +
                        " do not fit the prepared L = " + std::to_string(L) + ", max_rhs = " +
                        std::to_string(max_rhs_));
    Stats stats;
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
      backup_[j] = kFullExchanges;        // alpha = 3
    }
    solve_passive(C, B, X, rows_, stats);
    active_.clear();
    for (std::size_t j = 0; j < K; ++j)
      if (check(C, B, X, j)) active_.push_back(static_cast<std::uint32_t>(j));

    const std::size_t limit = 5 * L;  // Kim's MAX_BIG_ITER, a guard for ill-conditioned C
    while (!active_.empty()) {
      if (stats.iterations == limit) {
        stats.failed = active_.size();
        break;
      }
      ++stats.iterations;
      for (const std::uint32_t j : active_) exchange(X, j);
      solve_passive(C, B, X, active_, stats);
      std::size_t kept = 0;
      for (const std::uint32_t j : active_)
        if (check(C, B, X, j)) active_[kept++] = j;
      active_.resize(kept);
    }
    // Within tau of zero counts as feasible; make it exactly feasible.
    for (std::size_t k = 0; k < K * L; ++k) X.data()[k] = std::max(X.data()[k], 0.0);
    return stats;
  }

 private:
  static constexpr int kFullExchanges = 3;     // Kim & Park's alpha
  static constexpr std::size_t kChunk = 64;    // rows per dpotrs call, at most
  // Relative rounding allowance in the feasibility tests (Kim's code zeroes |x|, |y| < 1e-12
  // absolutely; relative thresholds keep the test independent of the data's scale).
  static constexpr double kTol = 1e-12;

  std::uint64_t* mask(std::size_t j) { return mask_.data() + j * words_; }
  bool passive(std::size_t j, std::size_t i) const { return (mask_[j * words_ + i / 64] >> (i % 64)) & 1; }
  void flip(std::size_t j, std::size_t i) { mask_[j * words_ + i / 64] ^= std::uint64_t{1} << (i % 64); }

  // x_F = C_FF^{-1} b_F and x_G = 0 for the listed rows (eq. 5 of Kim & Park). The rows are sorted
  // by passive set so that each distinct F is factored once for all its rows (section 4).
  void solve_passive(const nmfx::Matrix& C, const nmfx::Matrix& B, nmfx::Matrix& X, std::vector<std::uint32_t>& rows,
                     Stats& stats) {
    const std::size_t W = words_, L = L_;
    const std::uint64_t* m = mask_.data();
    std::sort(rows.begin(), rows.end(), [m, W](std::uint32_t a, std::uint32_t b) {
      return std::lexicographical_compare(m + a * W, m + a * W + W, m + b * W, m + b * W + W);
    });
    std::size_t start = 0;
    while (start < rows.size()) {
      std::size_t end = start + 1;
      const std::uint64_t* first = m + rows[start] * W;
      while (end < rows.size() && std::equal(first, first + W, m + rows[end] * W)) ++end;
      std::size_t k = 0;
      for (std::size_t i = 0; i < L; ++i)
        if (passive(rows[start], i)) set_[k++] = i;
      if (k == 0) {
        for (std::size_t r = start; r < end; ++r) std::fill(&X(rows[r], 0), &X(rows[r], 0) + L, 0.0);
      } else {
        factor(C, k, stats);
        for (std::size_t r = start; r < end;) {
          std::size_t p = 0;
          while ((std::size_t{2} << p) <= std::min(end - r, chunk_rows_)) ++p;
          nmfx::Matrix& rhs = chunk_[k][p];
          const std::size_t n = std::size_t{1} << p;
          for (std::size_t t = 0; t < n; ++t) {
            const double* b = &B(rows[r + t], 0);
            for (std::size_t a = 0; a < k; ++a) rhs(t, a) = b[set_[a]];
          }
          nmfx::cholesky_solve_rows(factor_[k], rhs);
          for (std::size_t t = 0; t < n; ++t) {
            double* x = &X(rows[r + t], 0);
            std::fill(x, x + L, 0.0);
            for (std::size_t a = 0; a < k; ++a) x[set_[a]] = rhs(t, a);
          }
          r += n;
        }
      }
      start = end;
    }
  }

  // Cholesky factor of C_FF (F = set_[0..k)) into factor_[k]. C is positive definite when W has full
  // column rank, as Kim & Park assume; otherwise a diagonal shift, growing from 1e-12 of the largest
  // diagonal entry, makes it factorable.
  void factor(const nmfx::Matrix& C, std::size_t k, Stats& stats) {
    nmfx::Matrix& G = factor_[k];
    double shift = 0, diag = 0;
    for (std::size_t a = 0; a < k; ++a) diag = std::max(diag, C(set_[a], set_[a]));
    for (int attempt = 0;; ++attempt) {
      for (std::size_t a = 0; a < k; ++a)
        for (std::size_t c = 0; c < k; ++c) G(a, c) = C(set_[a], set_[c]);
      for (std::size_t a = 0; a < k; ++a) G(a, a) += shift;
      ++stats.factorizations;
      if (nmfx::cholesky_factor(G)) return;
      if (attempt == 8) throw nmfx::Error("nnls_bpp: C_FF is not positive definite even after a diagonal shift of " +
                                          std::to_string(shift));
      shift = shift == 0 ? 1e-12 * diag : shift * 100;
      if (attempt == 0) ++stats.jittered;
    }
  }

  // y = C x - b on the active set (eq. 6) and the infeasible set V (step 4 of Algorithm 1):
  // x_i < 0 for i in F, y_i < 0 for i in G. Returns whether V is nonempty; bad_[j] = |V|.
  bool check(const nmfx::Matrix& C, const nmfx::Matrix& B, const nmfx::Matrix& X, std::size_t j) {
    const std::size_t L = L_;
    const double* x = &X(j, 0);
    const double* b = &B(j, 0);
    double* y = y_.data() + j * L;
    double sx = 0, sy = 0;
    for (std::size_t i = 0; i < L; ++i) {
      sx = std::max(sx, std::abs(x[i]));
      sy = std::max(sy, std::abs(b[i]));
    }
    for (std::size_t i = 0; i < L; ++i) cx_[i] = 0;
    for (std::size_t a = 0; a < L; ++a) {
      const double xa = x[a];
      if (xa == 0) continue;
      const double* c = &C(a, 0);  // C is symmetric: row a is column a
      for (std::size_t i = 0; i < L; ++i) cx_[i] += c[i] * xa;
    }
    for (std::size_t i = 0; i < L; ++i) {
      sy = std::max(sy, std::abs(cx_[i]));
      y[i] = passive(j, i) ? 0.0 : cx_[i] - b[i];
    }
    const double tx = kTol * sx, ty = kTol * sy;
    tau_x_[j] = tx;
    tau_y_[j] = ty;
    int count = 0;
    for (std::size_t i = 0; i < L; ++i) count += infeasible(j, i, x[i], y[i]);
    bad_[j] = count;
    return count > 0;
  }

  bool infeasible(std::size_t j, std::size_t i, double x, double y) const {
    return passive(j, i) ? x < -tau_x_[j] : (!dead_[i] && y < -tau_y_[j]);
  }

  // Steps 5-8 of Algorithm 1: exchange all of V while |V| decreases, or for up to alpha = 3 sweeps
  // where it does not; then only the largest index of V (Murty's backup rule) until |V| decreases.
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

  std::size_t L_ = 0, max_rhs_ = 0, words_ = 0, chunk_rows_ = 1;
  std::vector<std::uint64_t> mask_;      ///< passive set F of each row, one bit per variable
  std::vector<double> y_;                ///< y = C x - b per row (zero on F)
  std::vector<double> tau_x_, tau_y_;    ///< per-row rounding allowances
  std::vector<int> bad_, ninf_, backup_; ///< |V|, Kim & Park's beta (best |V|) and alpha per row
  std::vector<std::uint32_t> rows_, active_;
  std::vector<unsigned char> dead_;
  std::vector<double> cx_;
  std::vector<std::size_t> set_;
  std::vector<nmfx::Matrix> factor_;                ///< factor_[k]: k x k Cholesky workspace
  std::vector<std::vector<nmfx::Matrix>> chunk_;    ///< chunk_[k][p]: 2^p x k right-hand sides
};

}  // namespace nmfx_anls_bpp
