// HALS (Cichocki & Phan 2009; seed 000 eq. 12) and the HALS family's shared code (plugins/common's
// hals_sweep and accel_inner): monotone decrease of hals, accel_hals and accel_mu, the equation
// itself, the inner-loop counts of Algorithms 5 and 7 (seed 000 section 4), recovery of a planted
// factorization, sparse X, penalties, the zero-component safety step and the threaded sweep. What
// is particular to accel_mu and accel_hals is in test_accel_mu.cpp and test_accel_hals.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <nmfx/kkt.hpp>
#include <nmfx/linalg.hpp>

#include <nmfx_common/hals_sweep.hpp>
#include "support.hpp"

using nmfx::json;

namespace {

double relative_error(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double err = 0;
  for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
  return std::sqrt(err / X.norm_sq);
}

std::size_t zeros(const nmfx::Matrix& A) {
  std::size_t n = 0;
  for (double v : A) n += v == 0.0;
  return n;
}

}  // namespace

TEST_CASE("hals and accel_hals and accel_mu never increase the Frobenius loss over 300 iterations") {
  const nmfx::Data X = test::make_data(test::random_matrix(60, 45, 7));
  const std::size_t L = 6;
  for (const auto& [name, params] :
       std::vector<std::pair<std::string, json>>{{"hals", json::object()},
                                                 {"accel_hals", json{{"variant", "alg7"}}},
                                                 {"accel_hals", json{{"variant", "alg7"}, {"rho_formula", "gillis"}}},
                                                 {"accel_mu", json{{"variant", "alg7"}}}}) {
    CAPTURE(name);
    CAPTURE(params.dump());
    auto loss = test::prepared_loss("frobenius", X, L);
    auto s = test::make_solver(name, params);
    nmfx::Matrix W = test::random_matrix(60, L, 11, 0.1, 1.0), H = test::random_matrix(L, 45, 12, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
    double previous = loss->value(X, W, H);
    const double initial = previous;
    double worst = -1;
    for (int it = 0; it < 300; ++it) {
      s->step(W, H);
      const double value = loss->value(X, W, H);
      worst = std::max(worst, (value - previous) / previous);
      previous = value;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.9 * initial);
  }
}

TEST_CASE("one hals step is eq. 12 of seed 000 computed term by term") {
  // W[:,j] <- max(0, (A[:,j] - sum_{l<j} W_new[:,l] B[l,j] - sum_{l>j} W_old[:,l] B[l,j]) / B[j,j]),
  // A = X H^T, B = H H^T; then the rows of H likewise with A = W^T X, B = W^T W (Algorithms 3-4).
  const std::size_t M = 23, N = 17, L = 5;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 21));
  // Scaled so that WH is about X and no component vanishes (the safety step is tested below).
  nmfx::Matrix W = test::random_matrix(M, L, 22, 0.05, 0.5), H = test::random_matrix(L, N, 23, 0.05, 0.5);
  // The reference, with naive sums.
  nmfx::Matrix W1 = W, H1 = H;
  for (std::size_t j = 0; j < L; ++j) {
    double Bjj = 0;
    for (std::size_t n = 0; n < N; ++n) Bjj += H(j, n) * H(j, n);
    for (std::size_t i = 0; i < M; ++i) {
      double a = 0;
      for (std::size_t n = 0; n < N; ++n) a += X.dense(i, n) * H(j, n);
      for (std::size_t l = 0; l < L; ++l) {
        if (l == j) continue;
        double Blj = 0;
        for (std::size_t n = 0; n < N; ++n) Blj += H(l, n) * H(j, n);
        a -= W1(i, l) * Blj;  // W1(i, l) is new for l < j, old for l > j
      }
      W1(i, j) = std::max(0.0, a / Bjj);
    }
  }
  for (std::size_t j = 0; j < L; ++j) {
    double Bjj = 0;
    for (std::size_t i = 0; i < M; ++i) Bjj += W1(i, j) * W1(i, j);
    for (std::size_t n = 0; n < N; ++n) {
      double a = 0;
      for (std::size_t i = 0; i < M; ++i) a += W1(i, j) * X.dense(i, n);
      for (std::size_t l = 0; l < L; ++l) {
        if (l == j) continue;
        double Bjl = 0;
        for (std::size_t i = 0; i < M; ++i) Bjl += W1(i, j) * W1(i, l);
        a -= Bjl * H1(l, n);
      }
      H1(j, n) = std::max(0.0, a / Bjj);
    }
  }
  for (std::size_t j = 0; j < L; ++j) {
    double top = 0;
    for (std::size_t i = 0; i < M; ++i) top = std::max(top, W1(i, j));
    REQUIRE(top > 0);
  }
  auto loss = test::prepared_loss("frobenius", X, L);
  auto hals = test::make_solver("hals", json::object());
  hals->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
  hals->step(W, H);
  for (std::size_t k = 0; k < W.size(); ++k) CHECK(W.data()[k] == doctest::Approx(W1.data()[k]).epsilon(1e-11));
  for (std::size_t k = 0; k < H.size(); ++k) CHECK(H.data()[k] == doctest::Approx(H1.data()[k]).epsilon(1e-11));
  CHECK(zeros(W) + zeros(H) > 0);  // the projection max(0, .) was exercised
}

TEST_CASE("alg5 does exactly 1 + floor(alpha rho) inner updates and alg7 never more") {
  // 40 x 30 dense, L = 4, P = M N = 1200 (eqs 18-21):
  //   MU:   rho_W = 1 + (1200 + 120)/(160 + 40) = 7.6,   rho_H = 1 + (1200 + 160)/(120 + 30) = 10.07
  //   HALS: rho_W = 1 + (1200 + 120)/40 = 34,            rho_H = 1 + (1200 + 160)/30 = 46.33
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 51));
  const std::size_t L = 4;
  const double M = 40, N = 30, P = 1200;
  const double mu_W = 1 + (P + N * L) / (M * L + M), mu_H = 1 + (P + M * L) / (N * L + N);
  const double hals_W = 1 + (P + N * L) / M, hals_H = 1 + (P + M * L) / N;
  struct Case {
    std::string name, rho_formula;
    double alpha, rho_W, rho_H;
  };
  for (const Case& c :
       {Case{"accel_mu", "", 1.0, mu_W, mu_H}, Case{"accel_mu", "", 2.0, mu_W, mu_H},
        Case{"accel_hals", "seed", 0.5, hals_W, hals_H}, Case{"accel_hals", "gillis", 0.5, mu_W, mu_H}}) {
    CAPTURE(c.name);
    CAPTURE(c.alpha);
    CAPTURE(c.rho_formula);
    const double cap_W = 1 + std::floor(c.alpha * c.rho_W), cap_H = 1 + std::floor(c.alpha * c.rho_H);
    json params{{"alpha", c.alpha}};
    if (!c.rho_formula.empty()) params["rho_formula"] = c.rho_formula;
    auto loss = test::prepared_loss("frobenius", X, L);
    json params5 = params, params7 = params;
    params5["variant"] = "alg5";
    params7["variant"] = "alg7";
    auto alg5 = test::make_solver(c.name, params5), alg7 = test::make_solver(c.name, params7);
    nmfx::Matrix W = test::random_matrix(40, L, 52, 0.1, 1.0), H = test::random_matrix(L, 30, 53, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    alg5->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W, H);
    alg7->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W2, H2);
    double most_W = 0, most_H = 0, least = 1e9;
    for (int it = 0; it < 30; ++it) {
      alg5->step(W, H);
      CHECK(alg5->stats().at("inner_W") == cap_W);
      CHECK(alg5->stats().at("inner_H") == cap_H);
      alg7->step(W2, H2);
      most_W = std::max(most_W, alg7->stats().at("inner_W"));
      most_H = std::max(most_H, alg7->stats().at("inner_H"));
      least = std::min({least, alg7->stats().at("inner_W"), alg7->stats().at("inner_H")});
    }
    CHECK(most_W <= cap_W);
    CHECK(most_H <= cap_H);
    CHECK(least >= 1);
    CHECK(most_W > 1);  // the cap allowed more than one, and at least once it was used
  }
}

TEST_CASE("hals and accel_hals recover a planted exact factorization to relative error below 1e-4") {
  const nmfx::Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  for (const std::string name : {"hals", "accel_hals"}) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, 4);
    auto s = test::make_solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(40, 4, 5, 0.1, 1.0), H = test::random_matrix(4, 30, 6, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", 4, 1}, W, H);
    for (int it = 0; it < 3000; ++it) s->step(W, H);
    CHECK(relative_error(X, W, H) < 1e-4);
  }
}

TEST_CASE("hals and accel_mu on sparse X give the iterates of dense X and the caps use P = nnz") {
  nmfx::Matrix A = test::random_matrix(50, 40, 81);
  for (double& v : A) v = v < 0.7 ? 0.0 : v;  // about 30% nonzero
  const nmfx::Data dense = test::make_data(A), sparse = test::make_sparse(A);
  REQUIRE(sparse.nnz == dense.nnz);
  for (const std::string name : {"hals", "accel_mu"}) {
    CAPTURE(name);
    auto loss_d = test::prepared_loss("frobenius", dense, 4), loss_s = test::prepared_loss("frobenius", sparse, 4);
    const json params = name == "hals" ? json::object() : json{{"alpha", 0.0}};
    auto sd = test::make_solver(name, params), ss = test::make_solver(name, params);
    nmfx::Matrix W = test::random_matrix(50, 4, 82, 0.1, 1.0), H = test::random_matrix(4, 40, 83, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    sd->prepare(nmfx::Problem{dense, *loss_d, "frobenius", 4, 1}, W, H);
    ss->prepare(nmfx::Problem{sparse, *loss_s, "frobenius", 4, 1}, W2, H2);
    for (int it = 0; it < 20; ++it) {
      sd->step(W, H);
      ss->step(W2, H2);
    }
    for (std::size_t k = 0; k < W.size(); ++k) CHECK(W2.data()[k] == doctest::Approx(W.data()[k]).epsilon(1e-9));
    for (std::size_t k = 0; k < H.size(); ++k) CHECK(H2.data()[k] == doctest::Approx(H.data()[k]).epsilon(1e-9));
  }
  // On sparse X the cost model's P is nnz(X), not M N (seed 000, section 3.1).
  for (const std::string name : {"accel_mu", "accel_hals"}) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", sparse, 4);
    auto s = test::make_solver(name, json{{"variant", "alg5"}, {"alpha", 1.0}});
    nmfx::Matrix W = test::random_matrix(50, 4, 82, 0.1, 1.0), H = test::random_matrix(4, 40, 83, 0.1, 1.0);
    s->prepare(nmfx::Problem{sparse, *loss, "frobenius", 4, 1}, W, H);
    s->step(W, H);
    const double P = static_cast<double>(sparse.nnz), M = 50, N = 40, L = 4;
    const double rho_W = name == "accel_mu" ? 1 + (P + N * L) / (M * L + M) : 1 + (P + N * L) / M;
    const double rho_H = name == "accel_mu" ? 1 + (P + M * L) / (N * L + N) : 1 + (P + M * L) / N;
    CHECK(s->stats().at("inner_W") == 1 + std::floor(rho_W));
    CHECK(s->stats().at("inner_H") == 1 + std::floor(rho_H));
  }
}

TEST_CASE("hals and accel_hals with penalties never increase the penalized objective") {
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 91));
  const std::size_t L = 4;
  const nmfx::Penalty penalty{0.3, 0.2, 0.1, 0.5};
  for (const std::string name : {"hals", "accel_hals"}) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, L);
    auto s = test::make_solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(40, L, 92, 0.1, 1.0), H = test::random_matrix(L, 30, 93, 0.1, 1.0);
    s->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
    const double initial = loss->value(X, W, H) + penalty.value(W, H);
    double previous = initial, worst = -1;
    for (int it = 0; it < 300; ++it) {
      s->step(W, H);
      const double f = loss->value(X, W, H) + penalty.value(W, H);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.5 * initial);
  }
}

TEST_CASE("hals with a large L1 weight on H gives a sparser H") {
  const nmfx::Matrix W0 = test::random_matrix(40, 5, 101), H0 = test::random_matrix(5, 30, 102);
  nmfx::Matrix Xm = test::naive_product(W0, H0);
  const nmfx::Matrix noise = test::random_matrix(40, 30, 103);
  for (std::size_t k = 0; k < Xm.size(); ++k) Xm.data()[k] += 0.1 * noise.data()[k];
  const nmfx::Data X = test::make_data(Xm);
  std::vector<std::size_t> zero_counts;
  for (const double l1 : {0.0, 2.0, 20.0}) {
    auto loss = test::prepared_loss("frobenius", X, 5);
    auto hals = test::make_solver("hals", json::object());
    nmfx::Matrix W = test::random_matrix(40, 5, 104, 0.1, 1.0), H = test::random_matrix(5, 30, 105, 0.1, 1.0);
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", 5, 1, nmfx::Penalty{0, 0, l1, 0}}, W, H);
    for (int it = 0; it < 300; ++it) hals->step(W, H);
    zero_counts.push_back(zeros(H));
  }
  CAPTURE(zero_counts[0]);
  CAPTURE(zero_counts[1]);
  CAPTURE(zero_counts[2]);
  CHECK(zero_counts[1] > zero_counts[0]);
  CHECK(zero_counts[2] > zero_counts[1]);
}

TEST_CASE("a column of W that becomes all zero is set to zero_floor times max W (HALSacc.m)") {
  // X = u v^T with small integers, so all arithmetic is exact. With H = [v; v] and W = [u u], the
  // first column's update is (u s - u s)/s = 0 exactly (s = v'v); the second column then fits X.
  const std::size_t M = 4, N = 3;
  const nmfx::Matrix u = {{1.0}, {2.0}, {3.0}, {1.0}}, v = {{1.0, 2.0, 1.0}};
  const nmfx::Data X = test::make_data(test::naive_product(u, v));
  for (const double floor : {1e-16, 1e-8, 0.0}) {
    CAPTURE(floor);
    auto loss = test::prepared_loss("frobenius", X, 2);
    auto hals = test::make_solver("hals", json{{"zero_floor", floor}});
    nmfx::Matrix W = nmfx::Matrix::from_shape({M, 2}), H = nmfx::Matrix::from_shape({2, N});
    for (std::size_t i = 0; i < M; ++i) W(i, 0) = W(i, 1) = u(i, 0);
    for (std::size_t j = 0; j < N; ++j) H(0, j) = H(1, j) = v(0, j);
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", 2, 1}, W, H);
    hals->step(W, H);
    for (std::size_t i = 0; i < M; ++i) {
      CHECK(W(i, 0) == floor * 3.0);  // max W = 3, in the second column (u)
      CHECK(W(i, 1) == u(i, 0));
    }
    for (int it = 0; it < 20; ++it) hals->step(W, H);
    bool finite = true;
    for (double x : W) finite = finite && std::isfinite(x) && x >= 0;
    for (double x : H) finite = finite && std::isfinite(x) && x >= 0;
    CHECK(finite);
    CHECK(relative_error(X, W, H) < 1e-12);
  }
}

TEST_CASE("hals accel_hals and accel_mu refuse a loss other than frobenius and wrong shapes") {
  const nmfx::Data X = test::make_data(test::random_matrix(10, 8, 111));
  for (const std::string name : {"hals", "accel_hals", "accel_mu"}) {
    CAPTURE(name);
    auto loss = test::prepared_loss("frobenius", X, 2);
    auto s = test::make_solver(name, json::object());
    nmfx::Matrix W = test::random_matrix(10, 2, 1), H = test::random_matrix(2, 8, 2);
    CHECK_THROWS_AS(s->prepare(nmfx::Problem{X, *loss, "kl", 2, 1}, W, H), nmfx::Error);
    nmfx::Matrix Wbad = test::random_matrix(9, 2, 1);
    CHECK_THROWS_AS(s->prepare(nmfx::Problem{X, *loss, "frobenius", 2, 1}, Wbad, H), nmfx::Error);
  }
}

TEST_CASE("a HALS sweep split over threads gives the bits of the serial sweep") {
  // K L^2 = 3000 * 40^2 is above the split threshold (2^17), so with 2 threads the 47 blocks of 64
  // columns go to two ranges; each column's updates and each block's change are computed alike.
  const std::size_t L = 40, K = 3000;
  const nmfx::Matrix G = test::random_matrix(L, 2 * L, 5);
  nmfx::Matrix B = nmfx::Matrix::from_shape({L, L});
  nmfx::gemm(G, nmfx::Trans::no, G, nmfx::Trans::yes, B);
  const nmfx::Matrix A = test::random_matrix(L, K, 6), F0 = test::random_matrix(L, K, 7);
  nmfx::Matrix serial = F0, split = F0;
  nmfx::set_threads(1);
  nmfx_hals::Sweep one;
  one.prepare(L, K);
  const double moved1 = one.run(serial, A, B, 1e-16);
  nmfx::set_threads(2);
  nmfx_hals::Sweep two;
  two.prepare(L, K);
  const double moved2 = two.run(split, A, B, 1e-16);
  CHECK(moved1 > 0);
  CHECK(moved1 == moved2);
  std::size_t differ = 0;
  for (std::size_t k = 0; k < serial.size(); ++k) differ += serial.data()[k] != split.data()[k];
  CHECK(differ == 0);
  // and it is eq. 12: the last component's row satisfies its own update against the others.
  for (std::size_t k = 0; k < K; k += 97) {
    double r = A(L - 1, k);
    for (std::size_t l = 0; l < L; ++l) r -= B(L - 1, l) * split(l, k);
    // F[L-1,k] is the fixed point max(0, F + r / B) of its own update: r = 0 where F > 0, r <= 0 at 0.
    if (split(L - 1, k) > 0)
      CHECK(std::abs(r) <= 1e-9 * (std::abs(A(L - 1, k)) + 1));
    else
      CHECK(r <= 1e-9 * (std::abs(A(L - 1, k)) + 1));
  }
}

TEST_CASE("a HALS sweep gives each column the bits of that column swept alone") {
  // The columns of F are independent NNLS problems. Full blocks of 64 columns run a body compiled
  // for exactly 64 (8-wide vectors, the numerator in registers), a lone column the general one:
  // the same bits, in the factor and in the change the sweep returns.
  const std::size_t L = 13, K = 64 + 9, dead = 5;
  const nmfx::Matrix G = test::random_matrix(L, 2 * L, 8);
  nmfx::Matrix B = nmfx::Matrix::from_shape({L, L});
  nmfx::gemm(G, nmfx::Trans::no, G, nmfx::Trans::yes, B);
  // A = B P for a positive P, less a little: the solutions are mostly positive, some entries 0.
  const nmfx::Matrix P = test::random_matrix(L, K, 9), F0 = test::random_matrix(L, K, 10);
  nmfx::Matrix A = nmfx::Matrix::from_shape({L, K});
  nmfx::gemm(B, nmfx::Trans::no, P, nmfx::Trans::no, A);
  const nmfx::Matrix noise = test::random_matrix(L, K, 11, -2.0, 0.0);
  for (std::size_t k = 0; k < A.size(); ++k) A.data()[k] += noise.data()[k];
  // Component `dead` of the other factor is zero (B's row and column 0): its entries are set to 0
  // where A < 0 and kept where A = 0.
  for (std::size_t l = 0; l < L; ++l) B(dead, l) = B(l, dead) = 0;
  for (std::size_t k = 0; k < K; ++k) A(dead, k) = k % 3 ? -1.0 : 0.0;
  nmfx::Matrix F = F0;
  nmfx::set_threads(1);
  nmfx_hals::Sweep all;
  all.prepare(L, K);
  const double moved = all.run(F, A, B, 1e-16);
  nmfx_hals::Sweep one;
  one.prepare(L, 1);
  std::size_t differ = 0, zeros = 0;
  double moved_full_block = 0, moved_rest = 0;  // summed as the sweep sums: per block, blocks in order
  for (std::size_t k = 0; k < K; ++k) {
    nmfx::Matrix f = nmfx::Matrix::from_shape({L, 1}), a = nmfx::Matrix::from_shape({L, 1});
    for (std::size_t l = 0; l < L; ++l) {
      f(l, 0) = F0(l, k);
      a(l, 0) = A(l, k);
    }
    (k < 64 ? moved_full_block : moved_rest) += one.run(f, a, B, 1e-16);
    for (std::size_t l = 0; l < L; ++l) {
      // a component zero in this column alone is floored by the lone sweep: compare only the rest
      if (f(l, 0) <= 1e-15) {
        ++zeros;
        continue;
      }
      differ += f(l, 0) != F(l, k);
    }
  }
  CHECK(differ == 0);
  CHECK(zeros < L * K / 2);  // most entries were compared
  CHECK(moved == (0.0 + moved_full_block) + moved_rest);
  for (std::size_t k = 0; k < K; ++k) CHECK(F(dead, k) == (k % 3 ? 0.0 : F0(dead, k)));
}

TEST_CASE("hals with zero_floor 0 reaches stationarity when an L1 penalty kills components") {
  // Rank 8 on planted rank-4 data with l1 = 2 on both factors: most components die. With B[j,j] = 0
  // a component's objective is linear, -(XH^T - l1) f = l1 f, so the sweep sets it to exactly 0,
  // where its projected gradient vanishes. (Gillis & Glineur's floor, the default, keeps such a
  // component at 1e-16 max instead, and its gradient l1 then keeps the projected gradient away
  // from 0: pg_tol cannot stop such a run.)
  const nmfx::Matrix W0 = test::random_matrix(60, 4, 31), H0 = test::random_matrix(4, 40, 32);
  nmfx::Matrix A = test::naive_product(W0, H0);
  const nmfx::Matrix noise = test::random_matrix(60, 40, 33, -0.1, 0.1);
  for (std::size_t k = 0; k < A.size(); ++k) A.data()[k] = std::max(0.0, A.data()[k] + noise.data()[k]);
  const nmfx::Data X = test::make_data(A);
  const nmfx::Penalty penalty{2.0, 0.0, 2.0, 0.0};
  auto loss = test::prepared_loss("frobenius", X, 8);
  auto hals = test::make_solver("hals", json{{"zero_floor", 0.0}});
  nmfx::Matrix W = test::random_matrix(60, 8, 34, 0.1, 1.0), H = test::random_matrix(8, 40, 35, 0.1, 1.0);
  nmfx::Problem problem{X, *loss, "frobenius", 8, 1, penalty};
  hals->prepare(problem, W, H);
  nmfx::StationarityMeter meter;
  meter.prepare(60, 40, 8);
  auto pg = [&] {
    const nmfx::Stationarity s = meter.measure(X, *loss, penalty, W, H);
    return s.projected_gradient_W + s.projected_gradient_H;
  };
  const double initial = pg();
  for (int it = 0; it < 3000; ++it) hals->step(W, H);
  CHECK(pg() < 1e-6 * initial);
  std::size_t dead = 0;
  for (std::size_t j = 0; j < 8; ++j) {
    bool zero = true;
    for (std::size_t i = 0; i < 60; ++i) zero = zero && W(i, j) == 0.0;
    dead += zero;
  }
  CHECK(dead >= 1);
}
