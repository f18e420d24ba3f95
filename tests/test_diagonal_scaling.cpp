// Diagonal scaling (RcppML's diag = TRUE; plugins/common's diagonal_scaling.hpp) in the ALS-type
// solvers hals, accel_hals, anls_bpp and cd: without penalties it changes no product W H beyond
// rounding (the updates are scale-equivariant, hals README eqs S4-S6); after every step H's rows sum
// to 1; with equal L1 weights the iteration is block coordinate descent on the scale-invariant
// objective of eq. S7 (monotone, and its KKT conditions hold at the solution of each subproblem);
// an all-zero component (zero norm) leaves the factors finite.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"

using nmfx::json;

namespace {

// X = W* H* + 0.01 noise, 50 x 40, planted rank 5, with an all-zero row and column (as the digits
// have all-zero pixels).
nmfx::Data planted() {
  const nmfx::Matrix W = test::random_matrix(50, 5, 301), H = test::random_matrix(5, 40, 302);
  nmfx::Matrix X = test::naive_product(W, H);
  const nmfx::Matrix noise = test::random_matrix(50, 40, 303);
  for (std::size_t k = 0; k < X.size(); ++k) X.data()[k] += 0.01 * noise.data()[k];
  for (std::size_t j = 0; j < 40; ++j) X(7, j) = 0;
  for (std::size_t i = 0; i < 50; ++i) X(i, 11) = 0;
  return test::make_data(X);
}

// A start whose components have very different scales (1e-3 .. 1e3 in W, the inverse in H), so that
// the normalization has work to do.
std::pair<nmfx::Matrix, nmfx::Matrix> unbalanced_start(std::size_t M, std::size_t N, std::size_t L) {
  nmfx::Matrix W = test::random_matrix(M, L, 304, 0.1, 1.0), H = test::random_matrix(L, N, 305, 0.1, 1.0);
  for (std::size_t j = 0; j < L; ++j) {
    const double c = std::pow(10.0, -3.0 + 6.0 * static_cast<double>(j) / static_cast<double>(L - 1));
    for (std::size_t i = 0; i < M; ++i) W(i, j) *= c;
    for (std::size_t k = 0; k < N; ++k) H(j, k) /= c;
  }
  return {W, H};
}

double frobenius(const nmfx::Matrix& A) {
  double s = 0;
  for (double v : A) s += v * v;
  return std::sqrt(s);
}

double column_sum(const nmfx::Matrix& W, std::size_t j) {
  double s = 0;
  for (std::size_t i = 0; i < W.shape(0); ++i) s += W(i, j);
  return s;
}

double row_sum(const nmfx::Matrix& H, std::size_t j) {
  double s = 0;
  for (std::size_t k = 0; k < H.shape(1); ++k) s += H(j, k);
  return s;
}

// Eq. S7: 1/2 ||X - WH||^2 + lambda sum_j ||W[:,j]||_1 ||H[j,:]||_1, invariant under W C, C^-1 H.
double scale_invariant_objective(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, double lambda) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double f = 0;
  for (std::size_t k = 0; k < P.size(); ++k) f += 0.5 * std::pow(X.dense.data()[k] - P.data()[k], 2);
  for (std::size_t j = 0; j < W.shape(1); ++j) f += lambda * column_sum(W, j) * row_sum(H, j);
  return f;
}

// The KKT conditions of H's subproblem as the scaled iteration poses it (eq. S3 with eq. S8): with
// the step's output (W D, H~) written as W~ = W D^-1 (unit columns) and V = D H~,
//     V >= 0,  G = W~^T (W~ V - X) + lambda >= 0,  V .* G = 0.
// Returns max |min(V, G)| relative to max |W~^T X|.
double kkt_of_H_subproblem(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, double lambda) {
  const std::size_t M = W.shape(0), L = W.shape(1), N = H.shape(1);
  nmfx::Matrix Wt = W, V = H;
  for (std::size_t j = 0; j < L; ++j) {
    const double d = column_sum(W, j);
    if (!(d > 0)) continue;
    for (std::size_t i = 0; i < M; ++i) Wt(i, j) /= d;
    for (std::size_t k = 0; k < N; ++k) V(j, k) *= d;
  }
  const nmfx::Matrix P = test::naive_product(Wt, V);
  double worst = 0, scale = 0;
  for (std::size_t j = 0; j < L; ++j)
    for (std::size_t k = 0; k < N; ++k) {
      double g = lambda, wx = 0;
      for (std::size_t i = 0; i < M; ++i) {
        g += Wt(i, j) * (P(i, k) - X.dense(i, k));
        wx += Wt(i, j) * X.dense(i, k);
      }
      worst = std::max(worst, std::abs(std::min(V(j, k), g)));
      scale = std::max(scale, std::abs(wx));
    }
  return worst / scale;
}

json with_scaling(json params, bool on) {
  params["diagonal_scaling"] = on;
  return params;
}

const std::vector<std::pair<std::string, json>>& als_solvers() {
  static const std::vector<std::pair<std::string, json>> solvers{
      {"hals", json::object()},
      {"accel_hals", json{{"alpha", 0.0}}},  // alpha = 0 is hals; with alpha > 0 see the accel_hals README
      {"anls_bpp", json::object()},
      {"cd", json::object()}};
  return solvers;
}

}  // namespace

TEST_CASE("diagonal_scaling leaves the product WH of the ALS solvers unchanged without penalties") {
  const nmfx::Data X = planted();
  const std::size_t M = 50, N = 40, L = 5;
  for (const auto& [name, params] : als_solvers()) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, L);
    auto plain = test::make_solver(name, with_scaling(params, false));
    auto scaled = test::make_solver(name, with_scaling(params, true));
    auto [W0, H0] = unbalanced_start(M, N, L);
    nmfx::Matrix W1 = W0, H1 = H0;
    plain->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W0, H0);
    scaled->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W1, H1);
    double worst = 0;
    for (int it = 0; it < 60; ++it) {
      plain->step(W0, H0);
      scaled->step(W1, H1);
      const nmfx::Matrix P0 = test::naive_product(W0, H0), P1 = test::naive_product(W1, H1);
      const nmfx::Matrix diff = P0 - P1;
      worst = std::max(worst, frobenius(diff) / frobenius(P0));
    }
    CHECK(worst <= 1e-10);
    // The factors themselves differ: the scaled run's components are balanced, the plain run's not.
    const nmfx::Matrix moved = H0 - H1;
    CHECK(frobenius(moved) > 1e-3 * frobenius(H0));
  }
}

TEST_CASE("diagonal_scaling leaves H's nonzero rows of unit L1 norm after every step") {
  const nmfx::Data X = planted();
  const std::size_t M = 50, N = 40, L = 5;
  for (const auto& [name, params] : als_solvers()) {
    for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.5, 0.1, 0.2, 0.3}}) {
      CAPTURE(name);
      CAPTURE(penalty.l1_W);
      auto loss = test::prepared_loss("frobenius", X, L);
      auto s = test::make_solver(name, with_scaling(params, true));
      auto [W, H] = unbalanced_start(M, N, L);
      s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
      double worst = 0;
      for (int it = 0; it < 20; ++it) {
        s->step(W, H);
        for (std::size_t j = 0; j < L; ++j) {
          const double sum = row_sum(H, j);
          if (sum != 0) worst = std::max(worst, std::abs(sum - 1));  // an all-zero component has no scale
        }
      }
      CHECK(worst <= 1e-13);
    }
  }
}

TEST_CASE("diagonal_scaling with equal L1 weights is monotone in the scale-invariant objective (eq. S7)") {
  const nmfx::Data X = planted();
  const std::size_t M = 50, N = 40, L = 6;  // one more component than planted
  const double lambda = 0.05;
  for (const auto& [name, params] : als_solvers()) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, L);
    auto s = test::make_solver(name, with_scaling(params, true));
    auto [W, H] = unbalanced_start(M, N, L);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, nmfx::Penalty{lambda, 0, lambda, 0}}, W, H);
    double previous = scale_invariant_objective(X, W, H, lambda), worst = -1;
    const double initial = previous;
    for (int it = 0; it < 200; ++it) {
      s->step(W, H);
      const double f = scale_invariant_objective(X, W, H, lambda);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.2 * initial);
  }
}

TEST_CASE("diagonal_scaling: H solves its L1 subproblem posed with unit-norm W (KKT)") {
  // anls_bpp solves each subproblem exactly, so the KKT conditions of eq. S8 hold after every step;
  // hals and cd meet them at convergence. An unscaled solver poses H's subproblem with W as it is,
  // whose columns do not sum to 1, and misses them.
  const nmfx::Data X = planted();
  const std::size_t M = 50, N = 40, L = 5;
  const double lambda = 0.5;
  for (const auto& [name, params, steps, tolerance] :
       std::vector<std::tuple<std::string, json, int, double>>{{"anls_bpp", json::object(), 3, 1e-10},
                                                               {"hals", json::object(), 3000, 1e-7},
                                                               {"cd", json{{"epsilon", 1e-9}}, 3000, 1e-7}}) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, L);
    auto s = test::make_solver(name, with_scaling(params, true));
    auto [W, H] = unbalanced_start(M, N, L);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, nmfx::Penalty{lambda, 0, lambda, 0}}, W, H);
    for (int it = 0; it < steps; ++it) s->step(W, H);
    CHECK(kkt_of_H_subproblem(X, W, H, lambda) <= tolerance);
  }
}

TEST_CASE("diagonal_scaling with an all-zero factor (zero norms) leaves W and H finite") {
  // An L1 weight on W larger than every entry of X H^T makes W's update exactly zero, so every
  // column of W has norm 0 when it is normalized.
  const nmfx::Data X = planted();
  const std::size_t M = 50, N = 40, L = 5;
  for (const auto& [name, params] : als_solvers()) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, L);
    json p = with_scaling(params, true);
    if (name == "hals" || name == "accel_hals") p["zero_floor"] = 0.0;  // keep the zero components zero
    auto s = test::make_solver(name, p);
    nmfx::Matrix W = test::random_matrix(M, L, 306, 0.1, 1.0), H = test::random_matrix(L, N, 307, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, nmfx::Penalty{1e6, 0, 0, 0}}, W, H);
    for (int it = 0; it < 3; ++it) s->step(W, H);
    CHECK(std::all_of(W.begin(), W.end(), [](double v) { return v == 0; }));
    CHECK(std::all_of(H.begin(), H.end(), [](double v) { return std::isfinite(v); }));
  }
}
