// Cyclic coordinate descent for KL-NMF (Hsieh & Dhillon 2011, section 4): the Newton step's first
// and second derivatives match finite differences of the KL objective in that one variable;
// repeated Newton steps reach the one-variable minimizer; the divergence never increases; a
// planted factorization is fitted to the KL stationarity conditions; the sparse and dense paths,
// and one and two threads, give the same iterates.
#include <doctest/doctest.h>

#include <cmath>

#include "../plugins/solvers/cd_kl/cd_kl_newton.hpp"
#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

// sum_k y_k - x_k log y_k with y = a G: the KL divergence of one row, up to a constant in a.
double row_objective(const std::vector<double>& a, const std::vector<double>& x, const std::vector<double>& G,
                     std::size_t n) {
  double f = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    double y = 0.0;
    for (std::size_t r = 0; r < a.size(); ++r) y += a[r] * G[r * n + k];
    f += y - (x[k] > 0 ? x[k] * std::log(y) : 0.0);
  }
  return f;
}

struct Row {
  std::size_t n, L;
  std::vector<double> a, x, G, colsum, y;
};

Row random_row(std::size_t n, std::size_t L, std::uint64_t seed) {
  Row row{n, L, {}, {}, {}, {}, {}};
  const Matrix a = test::random_matrix(1, L, seed, 0.05, 1.0);
  const Matrix x = test::random_matrix(1, n, seed + 1, 0.0, 3.0);
  const Matrix G = test::random_matrix(L, n, seed + 2, 0.0, 1.0);
  row.a.assign(a.begin(), a.end());
  row.x.assign(x.begin(), x.end());
  row.G.assign(G.begin(), G.end());
  for (std::size_t k = 0; k < n; k += 5) row.x[k] = 0.0;  // zeros of X: only the column sums see them
  row.colsum.assign(L, 0.0);
  for (std::size_t r = 0; r < L; ++r)
    for (std::size_t k = 0; k < n; ++k) row.colsum[r] += row.G[r * n + k];
  row.y.assign(n, 0.0);
  return row;
}

struct Fit {
  Matrix W, H;
  std::vector<double> divergence;  ///< after each iteration, from the kl loss plugin
  nmfx::Values stats;
};

Fit run_cd_kl(const nmfx::Data& X, std::size_t rank, int iterations, int threads = 1, json params = json::object()) {
  auto loss = test::registry().create<nmfx::Loss>("kl", json::object());
  auto solver = test::registry().create<nmfx::Solver>(
      "cd_kl",
      nmfx::resolve_params(test::registry().find(nmfx::PluginKind::solver, "cd_kl")->descriptor->params, params));
  Fit fit{test::random_matrix(X.rows(), rank, 5, 0.1, 1.0), test::random_matrix(rank, X.cols(), 6, 0.1, 1.0), {}, {}};
  loss->prepare(X, rank);
  nmfx::Problem problem{X, *loss, "kl", rank, threads, {}};
  solver->prepare(problem, fit.W, fit.H);
  fit.divergence.push_back(loss->value(X, fit.W, fit.H));
  for (int it = 0; it < iterations; ++it) {
    solver->step(fit.W, fit.H);
    fit.divergence.push_back(loss->value(X, fit.W, fit.H));
  }
  fit.stats = solver->stats();
  return fit;
}

}  // namespace

TEST_CASE("cd_kl: the Newton step's derivatives match finite differences of the KL objective in one variable") {
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    Row row = random_row(40, 4, seed);
    nmfx_cd_kl::row_product(row.a.data(), row.G.data(), row.n, row.L, row.y.data());
    for (std::size_t r = 0; r < row.L; ++r) {
      double first = 0, second = 0;
      nmfx_cd_kl::derivatives(row.x.data(), row.y.data(), row.G.data() + r * row.n, row.n, row.colsum[r], first,
                              second);
      const double h = 1e-4;
      std::vector<double> plus = row.a, minus = row.a;
      plus[r] += h;
      minus[r] -= h;
      const double f0 = row_objective(row.a, row.x, row.G, row.n);
      const double fp = row_objective(plus, row.x, row.G, row.n), fm = row_objective(minus, row.x, row.G, row.n);
      CAPTURE(seed);
      CAPTURE(r);
      CHECK(first == doctest::Approx((fp - fm) / (2 * h)).epsilon(1e-6));
      CHECK(second == doctest::Approx((fp - 2 * f0 + fm) / (h * h)).epsilon(1e-4));
      CHECK(second > 0);
      // The step itself: a_r - f'/f'', projected on [floor, inf).
      CHECK(nmfx_cd_kl::newton_target(row.a[r], first, second, 0.0) ==
            doctest::Approx(std::max(0.0, row.a[r] - first / second)));
    }
  }
}

TEST_CASE("cd_kl: many projected Newton steps reach the one-variable minimizer, and a sweep keeps WH current") {
  Row row = random_row(60, 3, 21);
  nmfx_cd_kl::Settings s;
  s.newton_steps = 50;
  s.newton_tol = 0.0;
  s.floor = 0.0;
  const double before = row_objective(row.a, row.x, row.G, row.n);
  nmfx_cd_kl::sweep(row.a.data(), row.x.data(), row.G.data(), row.colsum.data(), row.n, row.L, s, row.y.data());
  CHECK(row_objective(row.a, row.x, row.G, row.n) < before);
  // y is the row of WH for the final a.
  for (std::size_t k = 0; k < row.n; ++k) {
    double y = 0;
    for (std::size_t r = 0; r < row.L; ++r) y += row.a[r] * row.G[r * row.n + k];
    CHECK(row.y[k] == doctest::Approx(y).epsilon(1e-12));
  }
  // The last variable was minimized last, with the others fixed: f' = 0 there (or f' > 0 at a = 0).
  double first = 0, second = 0;
  const std::size_t r = row.L - 1;
  nmfx_cd_kl::derivatives(row.x.data(), row.y.data(), row.G.data() + r * row.n, row.n, row.colsum[r], first, second);
  if (row.a[r] > 0)
    CHECK(std::abs(first) < 1e-10 * row.colsum[r]);
  else
    CHECK(first >= 0);
}

TEST_CASE("cd_kl never increases the KL divergence, and fits a planted factorization to stationarity") {
  // A planted rank-4 product with Poisson-like noise, some exact zeros, and a zero row.
  const Matrix W0 = test::random_matrix(50, 4, 1), H0 = test::random_matrix(4, 40, 2);
  Matrix X = test::naive_product(W0, H0);
  const Matrix noise = test::random_matrix(50, 40, 3, 0.8, 1.2);
  for (std::size_t k = 0; k < X.size(); ++k) X.data()[k] *= noise.data()[k];
  for (std::size_t k = 0; k < X.size(); k += 7) X.data()[k] = 0.0;
  for (std::size_t j = 0; j < 40; ++j) X(10, j) = 0.0;
  for (const bool sparse : {false, true}) {
    CAPTURE(sparse);
    const nmfx::Data D = sparse ? test::make_sparse(X) : test::make_data(X);
    const Fit fit = run_cd_kl(D, 4, 300);
    for (std::size_t t = 1; t < fit.divergence.size(); ++t) {
      CAPTURE(t);
      CHECK(fit.divergence[t] <= fit.divergence[t - 1] * (1 + 1e-12));
    }
    CHECK(fit.divergence.back() < 0.2 * fit.divergence.front());
    // KKT of min D(X || WH) over W >= 0: grad_W = 1 H^T - (X / WH) H^T >= 0, and W * grad_W = 0.
    const Matrix P = test::naive_product(fit.W, fit.H);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < 50; ++i)
      for (std::size_t r = 0; r < 4; ++r) {
        double g = 0;
        for (std::size_t j = 0; j < 40; ++j) g += fit.H(r, j) * (1 - X(i, j) / P(i, j));
        worst = std::max(worst, std::abs(std::min(fit.W(i, r), g)));
        scale = std::max(scale, fit.W(i, r));
      }
    CHECK(worst < 1e-3 * scale);
    // The zero row of X goes to the floor.
    for (std::size_t r = 0; r < 4; ++r) CHECK(fit.W(10, r) <= 1e-15);
  }
}

TEST_CASE("cd_kl on sparse X follows the same iterates as on the same X stored dense, on 1 or 2 threads") {
  Matrix X = test::random_matrix(70, 55, 31);
  for (std::size_t k = 0; k < X.size(); k += 3) X.data()[k] = 0.0;
  const Fit dense = run_cd_kl(test::make_data(X), 5, 8, 1);
  const Fit dense2 = run_cd_kl(test::make_data(X), 5, 8, 2);
  const Fit sparse = run_cd_kl(test::make_sparse(X), 5, 8, 2);
  for (std::size_t k = 0; k < dense.W.size(); ++k) {
    CHECK(dense2.W.data()[k] == dense.W.data()[k]);
    CHECK(sparse.W.data()[k] == doctest::Approx(dense.W.data()[k]).epsilon(1e-9));
  }
  for (std::size_t k = 0; k < dense.H.size(); ++k) {
    CHECK(dense2.H.data()[k] == dense.H.data()[k]);
    CHECK(sparse.H.data()[k] == doctest::Approx(dense.H.data()[k]).epsilon(1e-9));
  }
  CHECK(dense.stats.at("newton_steps_W") > 0);
}

TEST_CASE("cd_kl refuses the Frobenius loss with a clear message") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 3));
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  auto solver = test::registry().create<nmfx::Solver>(
      "cd_kl", nmfx::resolve_params(test::registry().find(nmfx::PluginKind::solver, "cd_kl")->descriptor->params,
                                    json::object()));
  Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
  nmfx::Problem problem{X, *loss, "frobenius", 2, 1, {}};
  CHECK_THROWS_WITH_AS(solver->prepare(problem, W, H), doctest::Contains("kl"), nmfx::Error);
}
