#pragma once
/// @file rating_errors.hpp
/// Prediction errors over a set of observed entries, shared by the test_rmse, test_mae and
/// train_rmse metrics. The prediction of entry (u, i) is the raw (WH)_ui = w_u . h_i, or, with
/// `clip`, that value clipped to [min, max] of the training ratings.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nmfx/plugin.hpp>

namespace nmfx_rating_errors {

struct Sums {
  double squared = 0.0, absolute = 0.0;
  std::size_t count = 0;
};

inline std::vector<nmfx::ParamSpec> params() {
  return {nmfx::param_bool("clip", false,
                           "clip each prediction w_u.h_i to [min, max] of the training ratings before comparing")};
}

/// Sum of squared and absolute errors over the entries of S (rows = users, columns = items, same
/// shape as X). Ht and rows are workspaces kept by the caller between checkpoints. Per-row sums
/// are added in row order, so the result does not depend on the number of threads.
inline Sums sums(const nmfx::SparseMatrix& S, const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H,
                 bool clip, std::vector<double>& Ht, std::vector<double>& row_sq, std::vector<double>& row_abs) {
  const std::size_t L = W.shape(1), N = H.shape(1), M = W.shape(0);
  if (S.rows != M || S.cols != N || H.shape(0) != L)
    throw nmfx::Error("rating errors: W " + std::to_string(M) + "x" + std::to_string(L) + " and H " +
                      std::to_string(H.shape(0)) + "x" + std::to_string(N) + " do not fit the " +
                      std::to_string(S.rows) + "x" + std::to_string(S.cols) + " ratings");
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  if (clip && !X.sparse.values.empty()) {
    const auto [mn, mx] = std::minmax_element(X.sparse.values.begin(), X.sparse.values.end());
    lo = *mn;
    hi = *mx;
  }
  Ht.resize(N * L);
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) Ht[j * L + a] = H(a, j);
  row_sq.resize(M);
  row_abs.resize(M);
  const double* w = W.data();
  const double* ht = Ht.data();
  const long rows = static_cast<long>(M);
#pragma omp parallel for schedule(dynamic, 256)
  for (long uu = 0; uu < rows; ++uu) {
    const std::size_t u = static_cast<std::size_t>(uu);
    const double* p = w + u * L;
    double sq = 0.0, ab = 0.0;
    for (std::size_t k = S.indptr[u]; k < S.indptr[u + 1]; ++k) {
      const double* q = ht + static_cast<std::size_t>(S.indices[k]) * L;
      double pred = 0.0;
      for (std::size_t a = 0; a < L; ++a) pred += p[a] * q[a];
      pred = std::min(std::max(pred, lo), hi);
      const double d = S.values[k] - pred;
      sq += d * d;
      ab += std::abs(d);
    }
    row_sq[u] = sq;
    row_abs[u] = ab;
  }
  Sums s;
  for (std::size_t u = 0; u < M; ++u) {
    s.squared += row_sq[u];
    s.absolute += row_abs[u];
  }
  s.count = S.nnz();
  return s;
}

/// The held-out entries, or a clear error if there are none.
inline const nmfx::SparseMatrix& test_entries(const nmfx::Data& X, const char* metric) {
  if (X.kind != nmfx::DataKind::observed)
    throw nmfx::Error(std::string(metric) + ": needs observed data (ratings) with held-out test entries, got " +
                      nmfx::to_string(X.kind) + " data");
  if (X.test.nnz() == 0)
    throw nmfx::Error(std::string(metric) +
                      ": the dataset has no test entries (set test_fraction > 0 or test_path in the dataset)");
  return X.test;
}

}  // namespace nmfx_rating_errors
