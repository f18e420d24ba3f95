// anls_bpp (Kim & Park 2011): every NNLS subproblem is solved exactly (KKT conditions, and agreement
// with a brute-force search over all passive sets), the grouping factors each distinct passive set
// once, the warm start from a solution needs no pivoting, the ANLS iterates never increase the
// objective, recover a planted factorization and reach stationarity, penalties give the exact
// elastic-net block solutions, and sparse X gives the iterates of dense X.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/host/cell_session.hpp>
#include <nmfx/kkt.hpp>
#include <nmfx/linalg.hpp>

#include "../plugins/solvers/anls_bpp/nnls_bpp.hpp"
#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;
using nmfx_anls_bpp::NnlsBpp;

namespace {

Matrix normal_matrix(std::size_t m, std::size_t n, std::uint64_t seed) {
  nmfx::Rng rng(seed);
  Matrix A = Matrix::from_shape({m, n});
  for (double& v : A) v = rng.normal();
  return A;
}

// C = A^T A (L x L) and B with row j = A^T y_j, y_j column j of Y: the normal equations of
// min_{x>=0} ||A x - y_j||^2, written with plain loops.
struct Nnls {
  Matrix C, B;
};
Nnls make_nnls(const Matrix& A, const Matrix& Y) {
  const std::size_t m = A.shape(0), L = A.shape(1), K = Y.shape(1);
  Nnls p{Matrix::from_shape({L, L}), Matrix::from_shape({K, L})};
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t c = 0; c < L; ++c) {
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += A(i, a) * A(i, c);
      p.C(a, c) = s;
    }
  for (std::size_t j = 0; j < K; ++j)
    for (std::size_t a = 0; a < L; ++a) {
      double s = 0;
      for (std::size_t i = 0; i < m; ++i) s += A(i, a) * Y(i, j);
      p.B(j, a) = s;
    }
  return p;
}

// Worst KKT violations of min_{x>=0} 1/2 x^T C x - b^T x over the rows, relative to ||b||:
// x >= 0, g = C x - b >= 0, and g = 0 wherever x > 0.
struct Kkt {
  double negative_x = 0, negative_g = 0, complementarity = 0;
  double active_fraction = 0;  // share of x_i = 0
};
Kkt kkt(const Matrix& C, const Matrix& B, const Matrix& X) {
  const std::size_t K = B.shape(0), L = B.shape(1);
  Kkt k;
  std::size_t zeros = 0;
  for (std::size_t j = 0; j < K; ++j) {
    double nb = 0;
    for (std::size_t a = 0; a < L; ++a) nb += B(j, a) * B(j, a);
    nb = std::max(std::sqrt(nb), 1e-300);
    for (std::size_t a = 0; a < L; ++a) {
      double g = -B(j, a);
      for (std::size_t c = 0; c < L; ++c) g += C(a, c) * X(j, c);
      k.negative_x = std::max(k.negative_x, -X(j, a));
      k.negative_g = std::max(k.negative_g, -g / nb);
      if (X(j, a) > 0) k.complementarity = std::max(k.complementarity, std::abs(g) / nb);
      zeros += X(j, a) == 0;
    }
  }
  k.active_fraction = static_cast<double>(zeros) / static_cast<double>(K * L);
  return k;
}

void check_kkt(const Matrix& C, const Matrix& B, const Matrix& X, double tol = 1e-10) {
  const Kkt k = kkt(C, B, X);
  CHECK(k.negative_x <= 0.0);
  CHECK(k.negative_g <= tol);
  CHECK(k.complementarity <= tol);
}

// Solves the k x k system G x = r by Gaussian elimination with partial pivoting (the oracle's own
// linear algebra, independent of the Cholesky path).
bool gauss(std::vector<double> G, std::vector<double> r, std::size_t k, std::vector<double>& x) {
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t p = c;
    for (std::size_t i = c + 1; i < k; ++i)
      if (std::abs(G[i * k + c]) > std::abs(G[p * k + c])) p = i;
    if (std::abs(G[p * k + c]) < 1e-300) return false;
    for (std::size_t j = 0; j < k; ++j) std::swap(G[c * k + j], G[p * k + j]);
    std::swap(r[c], r[p]);
    for (std::size_t i = c + 1; i < k; ++i) {
      const double f = G[i * k + c] / G[c * k + c];
      for (std::size_t j = c; j < k; ++j) G[i * k + j] -= f * G[c * k + j];
      r[i] -= f * r[c];
    }
  }
  x.assign(k, 0.0);
  for (std::size_t c = k; c-- > 0;) {
    double s = r[c];
    for (std::size_t j = c + 1; j < k; ++j) s -= G[c * k + j] * x[j];
    x[c] = s / G[c * k + c];
  }
  return true;
}

// The NNLS minimizer by enumeration: over all 2^L supports F, the unconstrained minimizer on F
// if it is nonnegative; the best objective among those is the optimum (the optimum is one of them).
std::vector<double> brute_force(const Matrix& C, const double* b, std::size_t L) {
  std::vector<double> best(L, 0.0), x, sub;
  double best_value = 0;  // x = 0
  for (std::size_t F = 1; F < (std::size_t{1} << L); ++F) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < L; ++i)
      if (F >> i & 1) idx.push_back(i);
    const std::size_t k = idx.size();
    std::vector<double> G(k * k), r(k);
    for (std::size_t a = 0; a < k; ++a) {
      r[a] = b[idx[a]];
      for (std::size_t c = 0; c < k; ++c) G[a * k + c] = C(idx[a], idx[c]);
    }
    if (!gauss(G, r, k, sub)) continue;
    if (*std::min_element(sub.begin(), sub.end()) < 0) continue;
    std::vector<double> full(L, 0.0);
    for (std::size_t a = 0; a < k; ++a) full[idx[a]] = sub[a];
    double value = 0;
    for (std::size_t a = 0; a < L; ++a) {
      value -= b[a] * full[a];
      for (std::size_t c = 0; c < L; ++c) value += 0.5 * full[a] * C(a, c) * full[c];
    }
    if (value < best_value) {
      best_value = value;
      best = full;
    }
  }
  return best;
}

std::shared_ptr<nmfx::Solver> make_anls() { return test::registry().create<nmfx::Solver>("anls_bpp", json::object()); }

using test::Fit;

// anls_bpp (no parameters) from the tests' usual start; see test::fit.
Fit run_anls(const nmfx::Data& X, std::size_t rank, int steps, nmfx::Penalty penalty = {}, std::uint64_t seed = 5) {
  return test::fit("anls_bpp", json::object(), X, rank, steps, penalty, seed);
}

double relative_error(const nmfx::Data& X, const Matrix& W, const Matrix& H) {
  const Matrix P = test::naive_product(W, H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  return std::sqrt(err / X.norm_sq);
}

}  // namespace

TEST_CASE("nnls_bpp solutions satisfy the NNLS KKT conditions for many right-hand sides") {
  for (const std::size_t L : {10, 70}) {  // 70 unknowns: passive sets span two mask words
    CAPTURE(L);
    const Matrix A = normal_matrix(5 * L, L, 100 + L);
    const Matrix Y = normal_matrix(5 * L, 300, 200 + L);  // y with negative parts: many active constraints
    const Nnls p = make_nnls(A, Y);
    NnlsBpp nnls;
    nnls.prepare(L, 300);

    Matrix cold = Matrix::from_shape({300, L});
    cold.fill(0.0);
    const NnlsBpp::Stats s = nnls.solve(p.C, p.B, cold);
    check_kkt(p.C, p.B, cold);
    const Kkt k = kkt(p.C, p.B, cold);
    CHECK(k.active_fraction > 0.2);  // a real mix of active and passive variables
    CHECK(k.active_fraction < 0.8);
    CHECK(s.iterations >= 1);
    CHECK(s.failed == 0);
    CHECK(s.jittered == 0);

    // A warm start from an unrelated nonnegative point reaches the same (unique) solution.
    Matrix warm = test::random_matrix(300, L, 300 + L, -1.0, 1.0);
    nnls.solve(p.C, p.B, warm);
    check_kkt(p.C, p.B, warm);
    for (std::size_t q = 0; q < warm.size(); ++q)
      CHECK(warm.data()[q] == doctest::Approx(cold.data()[q]).epsilon(1e-9).scale(1.0));

    // A warm start from the solution is already optimal: no pivoting, the point is kept.
    Matrix again = cold;
    const NnlsBpp::Stats s2 = nnls.solve(p.C, p.B, again);
    CHECK(s2.iterations == 0);
    for (std::size_t q = 0; q < again.size(); ++q)
      CHECK(again.data()[q] == doctest::Approx(cold.data()[q]).epsilon(1e-12).scale(1e-12));
  }
}

TEST_CASE("nnls_bpp agrees with a brute-force search over all passive sets") {
  for (const std::size_t L : {1, 3, 6}) {
    CAPTURE(L);
    const Matrix A = normal_matrix(4 * L + 2, L, 400 + L);
    const Matrix Y = normal_matrix(4 * L + 2, 200, 500 + L);
    const Nnls p = make_nnls(A, Y);
    NnlsBpp nnls;
    nnls.prepare(L, 250);  // more room than used: K < max_rhs is allowed
    Matrix X = Matrix::from_shape({200, L});
    X.fill(0.0);
    nnls.solve(p.C, p.B, X);
    std::size_t zeros = 0, positives = 0;
    for (std::size_t j = 0; j < 200; ++j) {
      const std::vector<double> best = brute_force(p.C, &p.B(j, 0), L);
      double scale = 1e-300;
      for (double v : best) scale = std::max(scale, std::abs(v));
      for (std::size_t a = 0; a < L; ++a) {
        CHECK(std::abs(X(j, a) - best[a]) <= 1e-10 * scale);
        zeros += best[a] == 0;
        positives += best[a] > 0;
      }
    }
    CHECK(zeros > 0);
    CHECK(positives > 0);
  }
}

TEST_CASE("nnls_bpp factors each distinct passive set once per sweep") {
  // Right-hand sides that are positive multiples of one b share every passive set along the way,
  // so each sweep needs exactly one Cholesky factorization for all 100 of them.
  const std::size_t L = 8;
  const Matrix A = normal_matrix(30, L, 601);
  const Matrix y = normal_matrix(30, 1, 602);
  Matrix Y = Matrix::from_shape({30, 100});
  for (std::size_t j = 0; j < 100; ++j)
    for (std::size_t i = 0; i < 30; ++i) Y(i, j) = (1.0 + static_cast<double>(j)) * y(i, 0);
  const Nnls p = make_nnls(A, Y);
  NnlsBpp nnls;
  nnls.prepare(L, 100);
  Matrix X = Matrix::from_shape({100, L});
  X.fill(0.0);  // cold start: F empty, nothing to factor before the first sweep
  const NnlsBpp::Stats s = nnls.solve(p.C, p.B, X);
  check_kkt(p.C, p.B, X);
  CHECK(s.iterations >= 1);
  CHECK(s.factorizations == s.iterations);
}

TEST_CASE("nnls_bpp keeps a variable with a zero Gram column at zero") {
  // A dead component (a zero column of W) gives a zero row and column in C and b_i = -l1 <= 0.
  const std::size_t L = 5;
  Matrix A = normal_matrix(20, L, 701);
  for (std::size_t i = 0; i < 20; ++i) A(i, 2) = 0;
  const Nnls p = make_nnls(A, normal_matrix(20, 50, 702));
  NnlsBpp nnls;
  nnls.prepare(L, 50);
  Matrix X = test::random_matrix(50, L, 703, 0.1, 1.0);  // warm start with the dead variable passive
  const NnlsBpp::Stats s = nnls.solve(p.C, p.B, X);
  check_kkt(p.C, p.B, X);
  for (std::size_t j = 0; j < 50; ++j) CHECK(X(j, 2) == 0.0);
  CHECK(s.jittered == 0);
}

TEST_CASE("anls_bpp never increases the Frobenius loss") {
  const nmfx::Data X = test::make_data(test::random_matrix(50, 40, 11));
  const Fit f = run_anls(X, 5, 100);
  double worst = -1;
  for (std::size_t t = 1; t < f.objective.size(); ++t)
    worst = std::max(worst, (f.objective[t] - f.objective[t - 1]) / f.objective[t - 1]);
  CHECK(worst <= 1e-12);
  CHECK(f.objective.back() < 0.5 * f.objective.front());
  CHECK(f.stats.at("bpp_failed") == 0);
}

TEST_CASE("anls_bpp recovers a planted exact factorization to relative error below 1e-4") {
  const Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  const Fit f = run_anls(X, 4, 3000);  // the exact factorization is not unique: a slow valley
  CHECK(relative_error(X, f.W, f.H) < 1e-4);
}

TEST_CASE("anls_bpp reaches stationarity: projected gradient below 1e-6 of its initial value") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 21));
  const Fit f = run_anls(X, 3, 1500);
  CHECK(f.pg_final <= 1e-6 * f.pg_initial);
}

TEST_CASE("anls_bpp block solutions satisfy the KKT conditions of the penalized NNLS") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 25, 31));
  const std::size_t L = 4;
  for (const nmfx::Penalty pen : {nmfx::Penalty{0, 0.3, 0, 0.2}, nmfx::Penalty{0.05, 0.3, 0.1, 0.2}}) {
    CAPTURE(pen.l1_W);
    auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
    loss->prepare(X, L);
    auto solver = make_anls();
    Matrix W = test::random_matrix(30, L, 32, 0.1, 1.0), H = test::random_matrix(L, 25, 33, 0.1, 1.0);
    nmfx::Problem problem{X, *loss, "frobenius", L, 1, pen};
    solver->prepare(problem, W, H);
    for (int it = 0; it < 3; ++it) {
      const Matrix H_before = H;
      solver->step(W, H);
      // W's rows solve min_{w>=0} 1/2 w^T (HH^T + l2 I) w - (XH^T - l1)_i^T w with the H of the
      // step's start; H's columns solve the same with the new W.
      Nnls pw{Matrix::from_shape({L, L}), Matrix::from_shape({30, L})};
      const Matrix Xt = [&] {
        Matrix T = Matrix::from_shape({25, 30});
        for (std::size_t i = 0; i < 30; ++i)
          for (std::size_t j = 0; j < 25; ++j) T(j, i) = X.dense(i, j);
        return T;
      }();
      const Matrix Ht = [&] {
        Matrix T = Matrix::from_shape({25, L});
        for (std::size_t a = 0; a < L; ++a)
          for (std::size_t j = 0; j < 25; ++j) T(j, a) = H_before(a, j);
        return T;
      }();
      Nnls w_problem = make_nnls(Ht, Xt);  // C = H H^T, rows of B = (X H^T)_i
      for (std::size_t a = 0; a < L; ++a) w_problem.C(a, a) += pen.l2_W;
      for (double& v : w_problem.B) v -= pen.l1_W;
      check_kkt(w_problem.C, w_problem.B, W);
      Nnls h_problem = make_nnls(W, X.dense);  // C = W^T W, rows of B = (W^T X)^T
      for (std::size_t a = 0; a < L; ++a) h_problem.C(a, a) += pen.l2_H;
      for (double& v : h_problem.B) v -= pen.l1_H;
      Matrix Hcols = Matrix::from_shape({25, L});
      for (std::size_t a = 0; a < L; ++a)
        for (std::size_t j = 0; j < 25; ++j) Hcols(j, a) = H(a, j);
      check_kkt(h_problem.C, h_problem.B, Hcols);
    }
  }
}

TEST_CASE("anls_bpp with L1 and L2 reaches a stationary point of the penalized objective") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 41));
  const nmfx::Penalty pen{0.02, 0.1, 0.03, 0.05};
  const Fit f = run_anls(X, 3, 1500, pen);
  CHECK(f.pg_final <= 1e-6 * f.pg_initial);
  for (std::size_t t = 1; t < f.objective.size(); ++t) CHECK(f.objective[t] <= f.objective[t - 1] * (1 + 1e-12));
}

TEST_CASE("anls_bpp on sparse X follows the same iterates as on the same X stored dense") {
  Matrix D = test::random_matrix(50, 40, 71);
  for (double& v : D) v = v < 0.7 ? 0.0 : v;
  const nmfx::Data S = test::make_sparse(D);
  const nmfx::Data X = test::make_data(D);
  const Fit dense = run_anls(X, 4, 10), sparse = run_anls(S, 4, 10);
  for (std::size_t k = 0; k < dense.W.size(); ++k)
    CHECK(sparse.W.data()[k] == doctest::Approx(dense.W.data()[k]).epsilon(1e-9).scale(1.0));
  for (std::size_t k = 0; k < dense.H.size(); ++k)
    CHECK(sparse.H.data()[k] == doctest::Approx(dense.H.data()[k]).epsilon(1e-9).scale(1.0));
}

TEST_CASE("anls_bpp refuses a loss other than frobenius and mismatched factors") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 81));
  auto kl = test::registry().create<nmfx::Loss>("kl", json::object());
  kl->prepare(X, 2);
  Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
  nmfx::Problem problem{X, *kl, "kl", 2, 1};
  CHECK_THROWS_AS(make_anls()->prepare(problem, W, H), nmfx::Error);
  auto fro = test::registry().create<nmfx::Loss>("frobenius", json::object());
  fro->prepare(X, 2);
  Matrix Wbad = test::random_matrix(10, 3, 1);
  nmfx::Problem p2{X, *fro, "frobenius", 2, 1};
  CHECK_THROWS_AS(make_anls()->prepare(p2, Wbad, H), nmfx::Error);
}

TEST_CASE("nnls_bpp gives bit-identical solutions on 1 and 2 threads") {
  // 2000 right-hand sides at L = 20 (2000 * 20^2 >= 2^18) spread the groups of equal passive sets
  // over two threads; every group's arithmetic is the same whichever thread does it. (A whole
  // anls_bpp step is not compared: OpenBLAS's GEMMs themselves change bits with the thread count.)
  const std::size_t L = 20, K = 2000;
  const Nnls p = make_nnls(normal_matrix(5 * L, L, 7), normal_matrix(5 * L, K, 8));
  Matrix one = Matrix::from_shape({K, L}), two = Matrix::from_shape({K, L});
  one.fill(0.0);
  two.fill(0.0);
  nmfx::set_threads(1);
  NnlsBpp serial;
  serial.prepare(L, K);
  const NnlsBpp::Stats s1 = serial.solve(p.C, p.B, one);
  nmfx::set_threads(2);
  NnlsBpp parallel;
  parallel.prepare(L, K);
  const NnlsBpp::Stats s2 = parallel.solve(p.C, p.B, two);
  CHECK(s1.factorizations > 100);  // many distinct passive sets: many groups to share
  CHECK(s1.factorizations == s2.factorizations);
  CHECK(s1.iterations == s2.iterations);
  CHECK(std::equal(one.begin(), one.end(), two.begin()));
  check_kkt(p.C, p.B, two);
}

TEST_CASE("anls_bpp is monotone and solves every block exactly on a rank-deficient problem") {
  // 64 x 300 of exact rank 20 with three all-zero rows (rows 0, 31, 63), factored at rank 40, as
  // the digits (64 x 1797, three zero pixels) at rank 60: W^T W gets nearly dependent columns
  // (cond ~ 1e10), where block pivoting's sign tests see rounding noise and its sweep limit was
  // reached; the rows left infeasible were clipped, and the objective rose.
  const std::size_t M = 64, N = 300, L = 40;
  Matrix W0 = test::random_matrix(M, 20, 91), H0 = test::random_matrix(20, N, 92);
  for (const std::size_t i : {0, 31, 63})
    for (std::size_t r = 0; r < 20; ++r) W0(i, r) = 0;
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(X, L);
  auto solver = make_anls();
  Matrix W = test::random_matrix(M, L, 93, 0.1, 1.0), H = test::random_matrix(L, N, 94, 0.1, 1.0);
  nmfx::Problem problem{X, *loss, "frobenius", L, 1, {}};
  solver->prepare(problem, W, H);
  // 1/2 ||X - WH||^2 entry by entry (not the Gram-trace form, whose rounding is relative to ||X||^2).
  auto objective = [&] { return 0.5 * std::pow(relative_error(X, W, H), 2) * X.norm_sq; };
  const Matrix Xt = [&] {
    Matrix T = Matrix::from_shape({N, M});
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) T(j, i) = X.dense(i, j);
    return T;
  }();
  auto transpose = [](const Matrix& A) {
    Matrix T = Matrix::from_shape({A.shape(1), A.shape(0)});
    for (std::size_t a = 0; a < A.shape(0); ++a)
      for (std::size_t j = 0; j < A.shape(1); ++j) T(j, a) = A(a, j);
    return T;
  };
  double previous = objective(), worst_increase = -1, worst_kkt = 0;
  double fallbacks = 0;
  for (int it = 0; it < 25; ++it) {
    const Matrix H_before = H;
    solver->step(W, H);
    const double f = objective();
    worst_increase = std::max(worst_increase, (f - previous) / previous);
    previous = f;
    const nmfx::Values stats = solver->stats();
    for (const auto& [name, value] : stats)
      if (name == "nnls_fallback") fallbacks += value;
    // W's rows solve min_{w>=0} 1/2 w^T (HH^T) w - (XH^T)_i^T w with the step's starting H, H's
    // columns the same with the new W: x >= 0, gradient >= 0, gradient = 0 where x > 0, relative
    // to the size of b and of C x.
    const Nnls pw = make_nnls(transpose(H_before), Xt), ph = make_nnls(W, X.dense);
    for (const auto& [p, x] :
         {std::pair<const Nnls*, Matrix>{&pw, W}, std::pair<const Nnls*, Matrix>{&ph, transpose(H)}}) {
      for (std::size_t j = 0; j < x.shape(0); ++j) {
        double scale = 1e-300;
        std::vector<double> g(L);
        for (std::size_t a = 0; a < L; ++a) {
          double cx = 0;
          for (std::size_t c = 0; c < L; ++c) cx += p->C(a, c) * x(j, c);
          g[a] = cx - p->B(j, a);
          scale = std::max({scale, std::abs(cx), std::abs(p->B(j, a))});
        }
        const bool zero_row = scale == 1e-300;
        for (std::size_t a = 0; a < L; ++a) {
          CHECK(x(j, a) >= 0.0);
          const double violation = x(j, a) > 0 ? std::abs(g[a]) : std::max(0.0, -g[a]);
          if (!zero_row) worst_kkt = std::max(worst_kkt, violation / scale);
        }
      }
    }
  }
  MESSAGE("worst increase ", worst_increase, ", worst KKT violation ", worst_kkt, ", rows re-solved ", fallbacks);
  CHECK(fallbacks > 0);  // the fixture is hard: block pivoting alone ran out of sweeps
  CHECK(worst_increase <= 1e-12);
  CHECK(worst_kkt <= 1e-9);
  CHECK(relative_error(X, W, H) < 1e-3);
}
