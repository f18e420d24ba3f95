// pgd (Lin 2007): every accepted step satisfies the sufficient decrease condition, so the objective
// never increases; the subproblem tolerances start at max(0.001, tol) ||grad f(W0, H0)|| and each
// block stops below its tolerance; a planted factorization is recovered; stationarity is reached,
// with and without penalties; sparse X gives the iterates of dense X.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/kkt.hpp>

#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

std::shared_ptr<nmfx::Solver> make_pgd(double tol = 1e-3, long long max_inner = 1000) {
  return test::registry().create<nmfx::Solver>(
      "pgd", json{{"tol", tol}, {"max_inner", max_inner}, {"beta", 0.1}, {"sigma", 0.01}});
}

using test::Fit;

// pgd with Lin's settings from the tests' usual start; see test::fit.
Fit run_pgd(const nmfx::Data& X, std::size_t rank, int steps, nmfx::Penalty penalty = {}, std::uint64_t seed = 5) {
  return test::fit("pgd", json{{"tol", 1e-3}, {"max_inner", 1000}, {"beta", 0.1}, {"sigma", 0.01}}, X, rank, steps,
                   penalty, seed);
}

// Gradients of 1/2 ||X - WH||^2 + penalty with plain loops: G_W = (WH - X) H^T + l1 + l2 W, and
// G_H = W^T (WH - X) + l1 + l2 H.
struct Gradients {
  Matrix GW, GH;
};
Gradients gradients(const Matrix& X, const Matrix& W, const Matrix& H, const nmfx::Penalty& p) {
  const std::size_t M = W.shape(0), L = W.shape(1), N = H.shape(1);
  Matrix R = test::naive_product(W, H);
  for (std::size_t k = 0; k < R.size(); ++k) R.data()[k] -= X.data()[k];
  Gradients g{Matrix::from_shape({M, L}), Matrix::from_shape({L, N})};
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t a = 0; a < L; ++a) {
      double s = p.l1_W + p.l2_W * W(i, a);
      for (std::size_t j = 0; j < N; ++j) s += R(i, j) * H(a, j);
      g.GW(i, a) = s;
    }
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) {
      double s = p.l1_H + p.l2_H * H(a, j);
      for (std::size_t i = 0; i < M; ++i) s += W(i, a) * R(i, j);
      g.GH(a, j) = s;
    }
  return g;
}

double norm(const Matrix& A) {
  double s = 0;
  for (double v : A) s += v * v;
  return std::sqrt(s);
}

double projected_norm(const Matrix& G, const Matrix& A) {
  double s = 0;
  for (std::size_t k = 0; k < A.size(); ++k)
    if (G.data()[k] < 0 || A.data()[k] > 0) s += G.data()[k] * G.data()[k];
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("pgd never increases the objective with and without penalties") {
  const nmfx::Data X = test::make_data(test::random_matrix(50, 40, 11));
  for (const nmfx::Penalty pen : {nmfx::Penalty{}, nmfx::Penalty{0.05, 0.2, 0.1, 0.3}}) {
    CAPTURE(pen.l1_W);
    const Fit f = run_pgd(X, 5, 200, pen);
    double worst = -1;
    for (std::size_t t = 1; t < f.objective.size(); ++t)
      worst = std::max(worst, (f.objective[t] - f.objective[t - 1]) / f.objective[t - 1]);
    CHECK(worst <= 1e-12);
    CHECK(f.objective.back() < 0.5 * f.objective.front());
  }
}

TEST_CASE("pgd starts from Lin's tolerances and stops each block below its tolerance") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 25, 13));
  const std::size_t L = 4;
  for (const nmfx::Penalty pen : {nmfx::Penalty{}, nmfx::Penalty{0.05, 0.2, 0.1, 0.3}}) {
    for (const double tol : {1e-4, 0.05}) {
      CAPTURE(tol);
      auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
      loss->prepare(X, L);
      auto solver = make_pgd(tol);
      Matrix W = test::random_matrix(30, L, 14, 0.1, 1.0), H = test::random_matrix(L, 25, 15, 0.1, 1.0);
      nmfx::Problem problem{X, *loss, "frobenius", L, 1, pen};
      solver->prepare(problem, W, H);
      const Gradients g0 = gradients(X.dense, W, H, pen);
      const double initgrad = std::hypot(norm(g0.GW), norm(g0.GH));
      double tol_W = std::max(0.001, tol) * initgrad, tol_H = tol_W;
      for (int it = 0; it < 30; ++it) {
        const Matrix H_before = H;
        solver->step(W, H);
        const nmfx::Values s = solver->stats();
        // W's block ended with ||grad^P_W f(W_new, H_old)|| < tol_W (unless it hit max_inner), and
        // the tolerance is cut tenfold exactly when the block took no step (Lin's iterW == 1).
        CHECK(s.at("inner_W") < 1000);
        CHECK(projected_norm(gradients(X.dense, W, H_before, pen).GW, W) < tol_W);
        if (s.at("inner_W") == 1) tol_W *= 0.1;
        CHECK(s.at("tol_W") == doctest::Approx(tol_W).epsilon(1e-12));
        CHECK(s.at("inner_H") < 1000);
        CHECK(projected_norm(gradients(X.dense, W, H, pen).GH, H) < tol_H);
        if (s.at("inner_H") == 1) tol_H *= 0.1;
        CHECK(s.at("tol_H") == doctest::Approx(tol_H).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("pgd recovers a planted exact factorization to relative error below 1e-4") {
  const Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  const Fit f = run_pgd(X, 4, 3000);  // the exact factorization is not unique: a slow valley
  const Matrix P = test::naive_product(f.W, f.H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  CHECK(std::sqrt(err / X.norm_sq) < 1e-4);
}

TEST_CASE("pgd reaches stationarity: projected gradient below 1e-6 of its initial value") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 21));
  const Fit f = run_pgd(X, 3, 1500);
  CHECK(f.pg_final <= 1e-6 * f.pg_initial);
}

TEST_CASE("pgd with L1 and L2 reaches a stationary point of the penalized objective") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 41));
  const Fit f = run_pgd(X, 3, 1500, nmfx::Penalty{0.02, 0.1, 0.03, 0.05});
  CHECK(f.pg_final <= 1e-6 * f.pg_initial);
}

TEST_CASE("pgd on sparse X follows the same iterates as on the same X stored dense") {
  Matrix D = test::random_matrix(50, 40, 71);
  for (double& v : D) v = v < 0.7 ? 0.0 : v;
  const nmfx::Data S = test::make_sparse(D);
  const nmfx::Data X = test::make_data(D);
  const Fit dense = run_pgd(X, 4, 5), sparse = run_pgd(S, 4, 5);
  for (std::size_t k = 0; k < dense.W.size(); ++k)
    CHECK(sparse.W.data()[k] == doctest::Approx(dense.W.data()[k]).epsilon(1e-9).scale(1.0));
  for (std::size_t k = 0; k < dense.H.size(); ++k)
    CHECK(sparse.H.data()[k] == doctest::Approx(dense.H.data()[k]).epsilon(1e-9).scale(1.0));
}

TEST_CASE("pgd refuses a loss other than frobenius") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 81));
  auto kl = test::registry().create<nmfx::Loss>("kl", json::object());
  kl->prepare(X, 2);
  Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
  nmfx::Problem problem{X, *kl, "kl", 2, 1};
  CHECK_THROWS_AS(make_pgd()->prepare(problem, W, H), nmfx::Error);
}
