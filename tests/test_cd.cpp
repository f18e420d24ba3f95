// Greedy coordinate descent (Hsieh & Dhillon 2011): the objective never increases, each greedy
// move is the exact one-variable minimizer with the largest decrease, rows stop by the paper's
// epsilon * p_init rule, stationarity is reached, a planted factorization is recovered, L1 makes
// H sparser, and the parallel and sparse paths give the same iterates.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/kkt.hpp>

#include "support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

std::shared_ptr<nmfx::Solver> make_cd(double epsilon, long long max_inner) {
  return test::registry().create<nmfx::Solver>("cd", json{{"epsilon", epsilon}, {"max_inner", max_inner}});
}

// 1/2 ||X - WH||^2 + penalty, from the naive product (independent of the BLAS path).
double objective(const Matrix& X, const Matrix& W, const Matrix& H, const nmfx::Penalty& p) {
  const Matrix P = test::naive_product(W, H);
  double f = 0;
  for (std::size_t k = 0; k < P.size(); ++k) f += 0.5 * std::pow(X.data()[k] - P.data()[k], 2);
  for (double w : W) f += p.l1_W * std::abs(w) + 0.5 * p.l2_W * w * w;
  for (double h : H) f += p.l1_H * std::abs(h) + 0.5 * p.l2_H * h * h;
  return f;
}

// The one-variable problem in W_ir, f(W + d e_ir) = f(W) + g d + c/2 d^2, written from the residual.
struct OneVariable {
  double g, c;
  double step(double w) const { return std::max(-w, c > 0 ? -g / c : (g > 0 ? -w : 0.0)); }
  double decrease(double w) const {
    const double d = step(w);
    return -(g * d + 0.5 * c * d * d);
  }
};

OneVariable one_variable_W(const Matrix& X, const Matrix& W, const Matrix& H, double l1, double l2, std::size_t i,
                           std::size_t r) {
  const Matrix P = test::naive_product(W, H);
  OneVariable v{l1 + l2 * W(i, r), l2};
  for (std::size_t j = 0; j < X.shape(1); ++j) {
    v.g -= (X(i, j) - P(i, j)) * H(r, j);
    v.c += H(r, j) * H(r, j);
  }
  return v;
}

Matrix transpose(const Matrix& A) {
  Matrix T = Matrix::from_shape({A.shape(1), A.shape(0)});
  for (std::size_t i = 0; i < A.shape(0); ++i)
    for (std::size_t j = 0; j < A.shape(1); ++j) T(j, i) = A(i, j);
  return T;
}

// Checks that B differs from A, row by row, exactly in the coordinate whose exact one-variable
// move decreases the objective most (found by evaluating the full objective for every such move),
// and by that move. For H, pass the transposed problem (X^T, H^T, W^T). Returns the rows changed.
std::size_t check_one_greedy_move_per_row(const Matrix& X, const Matrix& A, const Matrix& B, const Matrix& F, double l1,
                                          double l2, std::set<std::size_t>& chosen) {
  const nmfx::Penalty pen{l1, l2, 0, 0};
  const double f0 = objective(X, A, F, pen);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < A.shape(0); ++i) {
    std::size_t best_r = A.shape(1);
    double best_f = f0, best_step = 0;
    for (std::size_t r = 0; r < A.shape(1); ++r) {
      const OneVariable v = one_variable_W(X, A, F, l1, l2, i, r);
      const double d = v.step(A(i, r));
      Matrix moved = A;
      moved(i, r) += d;
      const double f = objective(X, moved, F, pen);
      // Brute-force check that d minimizes the one-variable problem: no feasible neighbour is lower.
      for (double h : {1e-3, 1e-2, 1e-1}) {
        for (double e : {d - h, d + h}) {
          if (A(i, r) + e < 0) continue;
          Matrix other = A;
          other(i, r) += e;
          CHECK(objective(X, other, F, pen) >= f - 1e-12 * f0);
        }
      }
      CHECK(f0 - f == doctest::Approx(v.decrease(A(i, r))).epsilon(1e-9).scale(f0));
      if (f < best_f) {
        best_f = f;
        best_r = r;
        best_step = d;
      }
    }
    CAPTURE(i);
    for (std::size_t r = 0; r < A.shape(1); ++r) {
      if (r == best_r)
        CHECK(B(i, r) == doctest::Approx(A(i, r) + best_step).epsilon(1e-12).scale(1.0));
      else
        CHECK(B(i, r) == A(i, r));  // untouched, bit for bit
    }
    if (best_r < A.shape(1)) {
      ++changed;
      chosen.insert(best_r);
    }
  }
  return changed;
}

struct Fit {
  Matrix W, H;
  nmfx::Values stats;
};

Fit run_cd(const nmfx::Data& X, std::size_t rank, int iterations, const nmfx::Penalty& penalty = {}, int threads = 1,
           double epsilon = 1e-3, long long max_inner = 0) {
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  auto cd = make_cd(epsilon, max_inner);
  Fit fit{test::random_matrix(X.rows(), rank, 5, 0.1, 1.0), test::random_matrix(rank, X.cols(), 6, 0.1, 1.0), {}};
  loss->prepare(X, rank);
  nmfx::Problem problem{X, *loss, "frobenius", rank, threads, penalty};
  cd->prepare(problem, fit.W, fit.H);
  for (int it = 0; it < iterations; ++it) cd->step(fit.W, fit.H);
  fit.stats = cd->stats();
  return fit;
}

double zero_fraction(const Matrix& A) {
  std::size_t zeros = 0;
  for (double a : A) zeros += a == 0.0;
  return static_cast<double>(zeros) / static_cast<double>(A.size());
}

}  // namespace

TEST_CASE("cd never increases the objective over 200 outer iterations (with and without penalties)") {
  const nmfx::Data X = test::make_data(test::random_matrix(60, 45, 7));
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.1, 0.2, 0.3, 0.1}}) {
    CAPTURE(penalty.l1_W);
    auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
    auto cd = make_cd(1e-3, 0);
    Matrix W = test::random_matrix(60, 6, 11, 0.1, 1.0), H = test::random_matrix(6, 45, 12, 0.1, 1.0);
    loss->prepare(X, 6);
    nmfx::Problem problem{X, *loss, "frobenius", 6, 1, penalty};
    cd->prepare(problem, W, H);
    double previous = objective(X.dense, W, H, penalty);
    const double initial = previous;
    double worst = -1;
    for (int it = 0; it < 200; ++it) {
      cd->step(W, H);
      const double f = objective(X.dense, W, H, penalty);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.5 * initial);  // and it did move
  }
}

TEST_CASE("cd with one greedy update per row moves the coordinate of largest exact decrease (W and H)") {
  const nmfx::Data X = test::make_data(test::random_matrix(7, 6, 21));
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.05, 0.3, 0.02, 0.4}}) {
    CAPTURE(penalty.l2_W);
    auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
    auto cd = make_cd(0.0, 1);  // epsilon 0 and a cap of one: exactly one greedy update per row
    const Matrix W0 = test::random_matrix(7, 3, 22, 0.0, 1.0), H0 = test::random_matrix(3, 6, 23, 0.0, 1.0);
    Matrix W = W0, H = H0;
    loss->prepare(X, 3);
    nmfx::Problem problem{X, *loss, "frobenius", 3, 1, penalty};
    cd->prepare(problem, W, H);
    cd->step(W, H);
    std::set<std::size_t> chosen;
    // W is updated first, against H0.
    const std::size_t rows_W = check_one_greedy_move_per_row(X.dense, W0, W, H0, penalty.l1_W, penalty.l2_W, chosen);
    // Then H against the new W: the same problem for H^T with X^T and W^T.
    const std::size_t rows_H = check_one_greedy_move_per_row(transpose(X.dense), transpose(H0), transpose(H),
                                                             transpose(W), penalty.l1_H, penalty.l2_H, chosen);
    CHECK(cd->stats().at("updates_W") == rows_W);
    CHECK(cd->stats().at("updates_H") == rows_H);
    CHECK(rows_W + rows_H > 7);
    CHECK(chosen.size() > 1);  // the test exercises the argmax, not always the first coordinate
  }
}

TEST_CASE("cd with a budget of two updates per row makes the two successive greedy moves (rank 7)") {
  // The inner loop's budget (max_inner, the authors' cap on step 7) and its greedy choice at a rank
  // that is not a multiple of the four running maxima of the argmax: with epsilon 0, each row of W
  // makes exactly the first greedy move from W0 and then the greedy move from there.
  const std::size_t M = 9, N = 8, L = 7;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 41));
  const Matrix W0 = test::random_matrix(M, L, 42, 0.0, 1.0), H0 = test::random_matrix(L, N, 43, 0.0, 1.0);
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(X, L);
  nmfx::Problem problem{X, *loss, "frobenius", L, 1, {}};
  auto W_after = [&](long long budget, double& updates) {
    auto cd = make_cd(0.0, budget);
    Matrix W = W0, H = H0;
    cd->prepare(problem, W, H);
    cd->step(W, H);
    updates = cd->stats().at("updates_W");
    return W;
  };
  double one = 0, two = 0;
  const Matrix W1 = W_after(1, one), W2 = W_after(2, two);
  std::set<std::size_t> chosen;
  const std::size_t first = check_one_greedy_move_per_row(X.dense, W0, W1, H0, 0, 0, chosen);
  const std::size_t second = check_one_greedy_move_per_row(X.dense, W1, W2, H0, 0, 0, chosen);
  CHECK(one == first);
  CHECK(two == first + second);
  CHECK(second > M / 2);  // most rows used the whole budget
  CHECK(chosen.size() > 2);
}

TEST_CASE("cd stops each row by the rule max_r D_ir < epsilon * p_init") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 31));
  const double epsilon = 0.05;
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  auto cd = make_cd(epsilon, 1000);  // the cap is never reached: only the epsilon rule stops rows
  const Matrix W0 = test::random_matrix(30, 4, 32, 0.0, 1.0), H0 = test::random_matrix(4, 20, 33, 0.0, 1.0);
  Matrix W = W0, H = H0;
  loss->prepare(X, 4);
  nmfx::Problem problem{X, *loss, "frobenius", 4, 1, {}};
  cd->prepare(problem, W, H);
  cd->step(W, H);
  // Row decreases before and after the W update, against H0.
  auto best_decrease = [&](const Matrix& A, std::size_t i) {
    double best = 0;
    for (std::size_t r = 0; r < 4; ++r)
      best = std::max(best, one_variable_W(X.dense, A, H0, 0, 0, i, r).decrease(A(i, r)));
    return best;
  };
  double p_init = 0;
  for (std::size_t i = 0; i < 30; ++i) p_init = std::max(p_init, best_decrease(W0, i));
  REQUIRE(p_init > 0);
  std::size_t untouched = 0, updated = 0;
  for (std::size_t i = 0; i < 30; ++i) {
    CAPTURE(i);
    bool moved = false;
    for (std::size_t r = 0; r < 4; ++r) moved = moved || W(i, r) != W0(i, r);
    if (best_decrease(W0, i) < epsilon * p_init) {
      CHECK_FALSE(moved);  // a row below the threshold from the start is left alone
      ++untouched;
    } else {
      CHECK(moved);
      ++updated;
    }
    CHECK(best_decrease(W, i) < epsilon * p_init * (1 + 1e-9));
  }
  CHECK(untouched > 0);  // both branches of the rule occur on this problem
  CHECK(updated > 0);
  CHECK(cd->stats().at("updates_W") > updated);  // some rows took several greedy steps
}

TEST_CASE("cd recovers a planted exact factorization to relative error below 1e-4") {
  const Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  const Fit fit = run_cd(X, 4, 3000);
  const Matrix P = test::naive_product(fit.W, fit.H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  CHECK(std::sqrt(err / X.norm_sq) < 1e-4);
}

TEST_CASE("cd reaches a stationary point: projected gradient below 1e-6 of its start") {
  const nmfx::Data X = test::make_data(test::random_matrix(30, 20, 41));
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(X, 3);
  nmfx::StationarityMeter meter;
  meter.prepare(30, 20, 3);
  auto pg = [&](const Matrix& W, const Matrix& H) {
    const nmfx::Stationarity s = meter.measure(X, *loss, nmfx::Penalty{}, W, H);
    return std::hypot(s.projected_gradient_W, s.projected_gradient_H);
  };
  const double initial = pg(test::random_matrix(30, 3, 5, 0.1, 1.0), test::random_matrix(3, 20, 6, 0.1, 1.0));
  const Fit fit = run_cd(X, 3, 3000);
  CHECK(pg(fit.W, fit.H) < 1e-6 * initial);
}

TEST_CASE("cd with a large L1 weight on H gives a sparser H") {
  const nmfx::Data X = test::make_data(test::random_matrix(50, 40, 51));
  const Fit plain = run_cd(X, 5, 300);
  const Fit sparse = run_cd(X, 5, 300, nmfx::Penalty{0, 0, 5.0, 0});
  CAPTURE(zero_fraction(plain.H));
  CAPTURE(zero_fraction(sparse.H));
  CHECK(zero_fraction(sparse.H) > zero_fraction(plain.H) + 0.2);
}

TEST_CASE("cd gives bit-identical iterates on 1 and 2 threads") {
  const nmfx::Data X = test::make_data(test::random_matrix(300, 200, 61));
  // Rank 16: 300 and 200 rows of 16 x 16 work are above the size where cd forks a team.
  const Fit one = run_cd(X, 16, 15, nmfx::Penalty{0.01, 0.02, 0.03, 0.04}, 1);
  const Fit two = run_cd(X, 16, 15, nmfx::Penalty{0.01, 0.02, 0.03, 0.04}, 2);
  CHECK(one.stats == two.stats);
  CHECK(std::equal(one.W.begin(), one.W.end(), two.W.begin()));
  CHECK(std::equal(one.H.begin(), one.H.end(), two.H.begin()));
}

TEST_CASE("cd on sparse X follows the same iterates as on the same X stored dense") {
  Matrix D = test::random_matrix(50, 40, 71);
  for (double& v : D) v = v < 0.7 ? 0.0 : v;
  const nmfx::Data S = test::make_sparse(D);
  const nmfx::Data X = test::make_data(D);
  const Fit dense = run_cd(X, 4, 10), sparse = run_cd(S, 4, 10);
  for (std::size_t k = 0; k < dense.W.size(); ++k)
    CHECK(sparse.W.data()[k] == doctest::Approx(dense.W.data()[k]).epsilon(1e-9).scale(1.0));
  for (std::size_t k = 0; k < dense.H.size(); ++k)
    CHECK(sparse.H.data()[k] == doctest::Approx(dense.H.data()[k]).epsilon(1e-9).scale(1.0));
}

TEST_CASE("cd refuses a loss other than frobenius") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 81));
  auto loss = test::registry().create<nmfx::Loss>("kl", json::object());
  loss->prepare(X, 2);
  auto cd = make_cd(1e-3, 0);
  Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
  nmfx::Problem problem{X, *loss, "kl", 2, 1, {}};
  CHECK_THROWS_AS(cd->prepare(problem, W, H), nmfx::Error);
}

TEST_CASE("cd with an all-zero row of H (zero curvature) takes the exact one-variable moves") {
  const nmfx::Data X = test::make_data(test::random_matrix(20, 15, 91));
  const Matrix W0 = test::random_matrix(20, 3, 92, 0.1, 1.0);
  Matrix H0 = test::random_matrix(3, 15, 93, 0.1, 1.0);
  for (std::size_t j = 0; j < 15; ++j) H0(1, j) = 0.0;
  for (const double l1 : {0.0, 0.1}) {
    CAPTURE(l1);
    auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
    auto cd = make_cd(0.0, 1000);  // rows run until no coordinate decreases the objective
    Matrix W = W0, H = H0;
    loss->prepare(X, 3);
    const nmfx::Penalty penalty{l1, 0, 0, 0};
    nmfx::Problem problem{X, *loss, "frobenius", 3, 1, penalty};
    cd->prepare(problem, W, H);
    cd->step(W, H);
    // Column 1 of W does not enter the loss: its gradient is l1, so it goes to 0 if l1 > 0 and
    // stays put otherwise.
    for (std::size_t i = 0; i < 20; ++i) CHECK(W(i, 1) == (l1 > 0 ? 0.0 : W0(i, 1)));
    for (double v : W) CHECK(std::isfinite(v));
    for (double v : H) CHECK(std::isfinite(v));
    CHECK(objective(X.dense, W, H, penalty) < objective(X.dense, W0, H0, penalty));
  }
}
