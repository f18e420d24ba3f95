#pragma once
// Helpers of the rating tests: observed data built from a dense matrix and a mask, a planted
// low-rank rating problem, and running a rating solver for a number of steps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support.hpp"

namespace ratings_test {

/// Observed data: the entries (i, j) with train(i, j) set form the training CSR, those with
/// test(i, j) set the test CSR (values from X), then the framework's finalize().
inline nmfx::Data observed(const nmfx::Matrix& X, const std::vector<char>& train, const std::vector<char>& test) {
  nmfx::Data d;
  d.kind = nmfx::DataKind::observed;
  const std::size_t M = X.shape(0), N = X.shape(1);
  for (auto [S, mask] : {std::pair{&d.sparse, &train}, std::pair{&d.test, &test}}) {
    S->rows = M;
    S->cols = N;
    S->indptr.assign(M + 1, 0);
    for (std::size_t i = 0; i < M; ++i) {
      for (std::size_t j = 0; j < N; ++j)
        if ((*mask)[i * N + j]) {
          S->indices.push_back(static_cast<std::uint32_t>(j));
          S->values.push_back(X(i, j));
        }
      S->indptr[i + 1] = S->values.size();
    }
  }
  nmfx::finalize(d, "test");
  return d;
}

/// A planted rank-k matrix W0 H0 (uniform [0, 1) factors) plus Gaussian noise of sd sigma (clipped
/// at 0), with a fraction `observed` of the entries for training and `held_out` for testing, the
/// masks drawn at random from `seed`.
struct Planted {
  nmfx::Matrix X;
  nmfx::Data data;
};
inline Planted planted(std::size_t M, std::size_t N, std::size_t k, double sigma, double observed_fraction,
                       double held_out, std::uint64_t seed) {
  const nmfx::Matrix W0 = test::random_matrix(M, k, seed), H0 = test::random_matrix(k, N, seed + 1);
  nmfx::Matrix X = test::naive_product(W0, H0);
  nmfx::Rng rng(seed + 2);
  std::vector<char> train(M * N, 0), test(M * N, 0);
  for (std::size_t e = 0; e < M * N; ++e) {
    X.data()[e] = std::max(0.0, X.data()[e] + sigma * rng.normal());
    const double z = rng.uniform();
    train[e] = z < observed_fraction;
    test[e] = z >= observed_fraction && z < observed_fraction + held_out;
  }
  return {X, observed(X, train, test)};
}

/// sqrt(mean over the entries of S of (x - (WH)_ij)^2), computed naively.
inline double rmse(const nmfx::SparseMatrix& S, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  double s = 0;
  for (std::size_t i = 0; i < S.rows; ++i)
    for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
      double p = 0;
      for (std::size_t a = 0; a < W.shape(1); ++a) p += W(i, a) * H(a, S.indices[k]);
      s += (S.values[k] - p) * (S.values[k] - p);
    }
  return std::sqrt(s / static_cast<double>(S.nnz()));
}

/// A solver with its (prepared) frobenius loss, started from uniform factors scaled by
/// sqrt(mean / rank), as the framework's random init with scale auto.
struct Run {
  std::shared_ptr<nmfx::Loss> loss;
  std::shared_ptr<nmfx::Solver> solver;
  nmfx::Matrix W, H;
};
inline Run start(const nmfx::Data& X, const std::string& solver, const nmfx::json& given, std::size_t rank,
                 std::uint64_t seed, nmfx::Penalty penalty = {}) {
  const auto& reg = test::registry();
  Run r;
  r.loss = reg.create<nmfx::Loss>("frobenius", nmfx::json::object());
  const auto params = nmfx::resolve_params(reg.require(nmfx::PluginKind::solver, solver)->descriptor->params, given);
  r.solver = reg.create<nmfx::Solver>(solver, params);
  const double scale = std::sqrt(X.mean / static_cast<double>(rank));
  r.W = test::random_matrix(X.rows(), rank, seed, 0.0, scale);
  r.H = test::random_matrix(rank, X.cols(), seed + 1, 0.0, scale);
  r.loss->prepare(X, rank);
  nmfx::Problem problem{X, *r.loss, "frobenius", rank, 1, penalty};
  r.solver->prepare(problem, r.W, r.H);
  return r;
}

// P_Omega(A): A on the training entries, 0 elsewhere.
inline nmfx::Matrix masked(const nmfx::Data& d, const nmfx::Matrix& A) {
  nmfx::Matrix P = nmfx::Matrix::from_shape({d.rows(), d.cols()});
  P.fill(0.0);
  for (std::size_t i = 0; i < d.rows(); ++i)
    for (std::size_t k = d.sparse.indptr[i]; k < d.sparse.indptr[i + 1]; ++k)
      P(i, d.sparse.indices[k]) = A(i, d.sparse.indices[k]);
  return P;
}

inline void check_close(const nmfx::Matrix& A, const nmfx::Matrix& B, double tol) {
  REQUIRE(A.shape() == B.shape());
  double worst = 0, scale = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    worst = std::max(worst, std::abs(A.data()[k] - B.data()[k]));
    scale = std::max(scale, std::abs(B.data()[k]));
  }
  CHECK(worst <= tol * std::max(scale, 1.0));
}

}  // namespace ratings_test
