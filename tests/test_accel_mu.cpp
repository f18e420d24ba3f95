// accel_mu, Gillis & Glineur's accelerated MU (seed 000 section 4, Algorithm 5): alpha = 0 gives
// back mu's iterates, and the inner updates stop when a step moves W by at most epsilon times the
// first step. Its monotone decrease, inner-update count and sparse X are tested beside hals
// (test_hals.cpp).
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

using nmfx::json;

TEST_CASE("accel_mu with alpha 0 gives exactly the iterates of mu with the frobenius loss") {
  const nmfx::Data X = test::make_data(test::random_matrix(50, 40, 31));
  const std::size_t L = 5;
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.2, 0.1, 0.3, 0.5}}) {
    CAPTURE(penalty.any());
    for (const double eps : {1e-10, 1e-3}) {
      CAPTURE(eps);
      auto loss_a = test::prepared_loss("frobenius", X, L), loss_b = test::prepared_loss("frobenius", X, L);
      auto mu = test::make_solver("mu", json{{"eps", eps}});
      auto acc = test::make_solver("accel_mu", json{{"alpha", 0.0}, {"eps", eps}});
      nmfx::Matrix W = test::random_matrix(50, L, 32, 0.1, 1.0), H = test::random_matrix(L, 40, 33, 0.1, 1.0);
      nmfx::Matrix W2 = W, H2 = H;
      mu->prepare(nmfx::Problem{X, *loss_a, "frobenius", L, 1, penalty}, W, H);
      acc->prepare(nmfx::Problem{X, *loss_b, "frobenius", L, 1, penalty}, W2, H2);
      bool same = true;
      for (int it = 0; it < 50; ++it) {
        mu->step(W, H);
        acc->step(W2, H2);
        same = same && W == W2 && H == H2;
        CHECK(acc->stats().at("inner_W") == 1);
        CHECK(acc->stats().at("inner_H") == 1);
      }
      CHECK(same);
    }
  }
}

TEST_CASE("accel_mu stops its inner updates when a step moves W by at most epsilon times the first step") {
  // The inner loop of Algorithm 6 on W, replayed with naive products: the early stop must fire at
  // the same p and leave the same W.
  const std::size_t M = 30, N = 25, L = 3;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 61));
  const nmfx::Matrix W0 = test::random_matrix(M, L, 62, 0.1, 0.6), H0 = test::random_matrix(L, N, 63, 0.1, 0.6);
  std::size_t longest = 0;
  for (const double epsilon : {0.5, 0.1, 0.02}) {
    CAPTURE(epsilon);
    nmfx::Matrix W = W0, A = test::naive_product(X.dense, test::transposed(H0));
    const nmfx::Matrix B = test::naive_product(H0, test::transposed(H0));
    std::size_t expected = 0;
    double first = 0;
    for (std::size_t p = 1; p <= 1000; ++p) {
      const nmfx::Matrix C = test::naive_product(W, B);
      double moved = 0;
      for (std::size_t k = 0; k < W.size(); ++k) {
        const double v = W.data()[k] * A.data()[k] / std::max(C.data()[k], 1e-10);
        moved += (v - W.data()[k]) * (v - W.data()[k]);
        W.data()[k] = v;
      }
      if (p == 1) first = std::sqrt(moved);
      if (std::sqrt(moved) <= epsilon * first) {
        expected = p;
        break;
      }
    }
    REQUIRE(expected >= 2);
    longest = std::max(longest, expected);
    auto loss = test::prepared_loss("frobenius", X, L);
    auto acc = test::make_solver("accel_mu", json{{"variant", "alg6"}, {"epsilon", epsilon}});
    nmfx::Matrix W1 = W0, H1 = H0;
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1}, W1, H1);
    acc->step(W1, H1);
    CHECK(acc->stats().at("inner_W") == expected);
    for (std::size_t k = 0; k < W.size(); ++k) CHECK(W1.data()[k] == doctest::Approx(W.data()[k]).epsilon(1e-9));
  }
  CHECK(longest > 10);  // at least one case where the stop fired deep into the loop
}
