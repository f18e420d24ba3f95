// accel_hals, Gillis & Glineur's accelerated HALS (seed 000 section 4, Algorithm 7): alpha = 0
// gives back hals's iterates, the inner sweeps stop after the second when the first already solved
// the subproblem, and they solve each penalized subproblem to its KKT conditions. Its monotone
// decrease, recovery and penalties are tested beside hals (test_hals.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <nmfx/kkt.hpp>

#include "support.hpp"

using nmfx::json;

TEST_CASE("accel_hals with alpha 0 gives exactly the iterates of hals") {
  const nmfx::Data X = test::make_data(test::random_matrix(70, 300, 41));  // more than one column block of H
  const std::size_t L = 7;
  for (const nmfx::Penalty penalty : {nmfx::Penalty{}, nmfx::Penalty{0.2, 0.1, 0.3, 0.5}}) {
    CAPTURE(penalty.any());
    auto loss = test::prepared_loss("frobenius", X, L);
    auto hals = test::make_solver("hals", json::object());
    auto acc = test::make_solver("accel_hals", json{{"alpha", 0.0}});
    nmfx::Matrix W = test::random_matrix(70, L, 42, 0.1, 1.0), H = test::random_matrix(L, 300, 43, 0.1, 1.0);
    nmfx::Matrix W2 = W, H2 = H;
    hals->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W2, H2);
    bool same = true;
    for (int it = 0; it < 50; ++it) {
      hals->step(W, H);
      acc->step(W2, H2);
      same = same && W == W2 && H == H2;
    }
    CHECK(same);
    CHECK(acc->stats().at("inner_W") == 1);
    CHECK(acc->stats().at("inner_H") == 1);
  }
}

TEST_CASE("accel_hals stops after the second sweep when the first already solved the subproblem") {
  // At rank 1 one HALS sweep is the exact NNLS solution, so the second sweep moves the factor by
  // rounding only: ||F(2) - F(1)|| <= epsilon ||F(1) - F(0)|| and the loop stops at p = 2.
  const nmfx::Data X = test::make_data(test::random_matrix(40, 30, 71));
  for (const std::string variant : {"alg6", "alg7"}) {
    CAPTURE(variant);
    auto loss = test::prepared_loss("frobenius", X, 1);
    auto acc = test::make_solver("accel_hals", json{{"variant", variant}, {"alpha", 10.0}});
    nmfx::Matrix W = test::random_matrix(40, 1, 72, 0.1, 1.0), H = test::random_matrix(1, 30, 73, 0.1, 1.0);
    acc->prepare(nmfx::Problem{X, *loss, "frobenius", 1, 1}, W, H);
    for (int it = 0; it < 5; ++it) {
      acc->step(W, H);
      CHECK(acc->stats().at("inner_W") == 2);
      CHECK(acc->stats().at("inner_H") == 2);
    }
  }
}

TEST_CASE("accel_hals inner sweeps solve each penalized subproblem to its KKT conditions") {
  // With alg6, epsilon = 0 and many sweeps, the update of W is the exact solution of the convex
  // subproblem min_{W >= 0} 1/2 |X - WH|^2 + l1 |W|_1 + l2/2 |W|^2 for the H it started from, whose
  // KKT conditions say: G = W HH^T - XH^T + l1 + l2 W >= 0, and G = 0 where W > 0. Likewise H for
  // the new W. This pins the signs and scales of l1 (off A) and l2 (on diag B).
  const std::size_t M = 40, N = 30, L = 4;
  const nmfx::Data X = test::make_data(test::random_matrix(M, N, 121));
  const nmfx::Penalty penalty{0.3, 0.2, 0.1, 0.5};
  auto loss = test::prepared_loss("frobenius", X, L);
  auto acc = test::make_solver("accel_hals", json{{"variant", "alg6"}, {"epsilon", 0.0}, {"max_inner", 2000}});
  nmfx::Matrix W = test::random_matrix(M, L, 122, 0.1, 0.6), H = test::random_matrix(L, N, 123, 0.1, 0.6);
  acc->prepare(nmfx::Problem{X, *loss, "frobenius", L, 1, penalty}, W, H);
  // Projected gradient of the subproblem in F (rows: independent problems) for the Gram matrix G
  // and the linear term C; relative to |C|.
  const auto projected = [](const nmfx::Matrix& F, const nmfx::Matrix& G, const nmfx::Matrix& C, double l1, double l2) {
    const nmfx::Matrix FG = test::naive_product(F, G);
    double pg = 0, scale = 0;
    for (std::size_t k = 0; k < F.size(); ++k) {
      const double g = FG.data()[k] - C.data()[k] + l1 + l2 * F.data()[k];
      const double p = F.data()[k] > 0 ? g : std::min(g, 0.0);
      pg += p * p;
      scale += C.data()[k] * C.data()[k];
    }
    return std::sqrt(pg / scale);
  };
  for (int it = 0; it < 3; ++it) {
    const nmfx::Matrix H_before = H;
    acc->step(W, H);
    const nmfx::Matrix Ht = test::transposed(H_before), Wt = test::transposed(W);
    // W: rows of W against (HH^T, XH^T) of the H it started from.
    CHECK(projected(W, test::naive_product(H_before, Ht), test::naive_product(X.dense, Ht), penalty.l1_W,
                    penalty.l2_W) < 1e-10);
    // H: rows of H^T against (W^T W, X^T W) of the new W.
    CHECK(projected(test::transposed(H), test::naive_product(Wt, W), test::naive_product(test::transposed(X.dense), W),
                    penalty.l1_H, penalty.l2_H) < 1e-10);
  }
}
