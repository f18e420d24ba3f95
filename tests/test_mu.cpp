// Lee & Seung (2001), Theorems 1 and 2: the multiplicative updates never increase the Frobenius
// loss nor the KL divergence; and MU recovers a planted exact factorization. Also: sparse X gives
// the iterates of its dense copy, and on observed data (matrix completion) mu is the weighted
// multiplicative update.
#include <doctest/doctest.h>

#include <cmath>

#include "ratings_support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

struct Run {
  std::shared_ptr<nmfx::Loss> loss;
  std::shared_ptr<nmfx::Solver> solver;
  nmfx::Matrix W, H;
};

Run start(const nmfx::Data& X, const std::string& loss_name, std::size_t rank, std::uint64_t seed) {
  const auto& reg = test::registry();
  Run r;
  r.loss = reg.create<nmfx::Loss>(loss_name, nmfx::json::object());
  r.solver = reg.create<nmfx::Solver>("mu", nmfx::json{{"eps", 1e-10}});
  r.W = test::random_matrix(X.rows(), rank, seed, 0.1, 1.0);
  r.H = test::random_matrix(rank, X.cols(), seed + 1, 0.1, 1.0);
  r.loss->prepare(X, rank);
  return r;
}

}  // namespace

TEST_CASE("mu never increases the loss over 500 iterations (Lee & Seung Theorems 1-2)") {
  const nmfx::Data X = test::make_data(test::random_matrix(60, 45, 7));
  for (const std::string loss_name : {"frobenius", "kl"}) {
    CAPTURE(loss_name);
    Run r = start(X, loss_name, 6, 11);
    nmfx::Problem problem{X, *r.loss, loss_name, 6, 1};
    r.solver->prepare(problem, r.W, r.H);
    double previous = r.loss->value(X, r.W, r.H);
    const double initial = previous;
    double worst = -1;  // largest relative increase seen
    for (int it = 0; it < 500; ++it) {
      r.solver->step(r.W, r.H);
      const double value = r.loss->value(X, r.W, r.H);
      worst = std::max(worst, (value - previous) / previous);
      previous = value;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.9 * initial);  // and it did move
  }
}

TEST_CASE("mu recovers a planted exact factorization to relative error below 1e-3") {
  const nmfx::Matrix W0 = test::random_matrix(40, 4, 1), H0 = test::random_matrix(4, 30, 2);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  for (const std::string loss_name : {"frobenius", "kl"}) {
    CAPTURE(loss_name);
    Run r = start(X, loss_name, 4, 5);
    nmfx::Problem problem{X, *r.loss, loss_name, 4, 1};
    r.solver->prepare(problem, r.W, r.H);
    for (int it = 0; it < 20000; ++it) r.solver->step(r.W, r.H);
    const nmfx::Matrix P = test::naive_product(r.W, r.H);
    double err = 0;
    for (std::size_t k = 0; k < P.size(); ++k) err += std::pow(P.data()[k] - X.dense.data()[k], 2);
    CHECK(std::sqrt(err / X.norm_sq) < 1e-3);
  }
}

TEST_CASE("mu's fixed points: W = H = exact factors are left unchanged") {
  const nmfx::Matrix W0 = test::random_matrix(20, 3, 3, 0.5, 1.0), H0 = test::random_matrix(3, 15, 4, 0.5, 1.0);
  const nmfx::Data X = test::make_data(test::naive_product(W0, H0));
  for (const std::string loss_name : {"frobenius", "kl"}) {
    auto loss = test::registry().create<nmfx::Loss>(loss_name, nmfx::json::object());
    auto mu = test::registry().create<nmfx::Solver>("mu", nmfx::json{{"eps", 1e-10}});
    nmfx::Matrix W = W0, H = H0;
    loss->prepare(X, 3);
    nmfx::Problem problem{X, *loss, loss_name, 3, 1};
    mu->prepare(problem, W, H);
    mu->step(W, H);
    for (std::size_t k = 0; k < W.size(); ++k) CHECK(W.data()[k] == doctest::Approx(W0.data()[k]).epsilon(1e-12));
    for (std::size_t k = 0; k < H.size(); ++k) CHECK(H.data()[k] == doctest::Approx(H0.data()[k]).epsilon(1e-12));
  }
}

TEST_CASE("mu on sparse X and on its dense copy give the same iterates - frobenius and kl") {
  const test::DenseSparsePair p = test::dense_sparse_pair(40, 30, 21);
  const std::size_t L = 3;
  for (const char* loss_name : {"frobenius", "kl"}) {
    CAPTURE(loss_name);
    nmfx::Matrix W[2], H[2];
    const nmfx::Data* data[2] = {&p.dense, &p.sparse};
    for (int k = 0; k < 2; ++k) {
      W[k] = test::random_matrix(40, L, 8, 0.1, 1.0);
      H[k] = test::random_matrix(L, 30, 9, 0.1, 1.0);
      auto loss = test::registry().create<nmfx::Loss>(loss_name, nmfx::json::object());
      loss->prepare(*data[k], L);
      auto mu = test::registry().create<nmfx::Solver>("mu", nmfx::json{{"eps", 1e-10}});
      mu->prepare(nmfx::Problem{*data[k], *loss, loss_name, L, 2, nmfx::Penalty{}}, W[k], H[k]);
      for (int it = 0; it < 20; ++it) mu->step(W[k], H[k]);
    }
    CHECK(test::max_rel_diff(W[1], W[0]) <= 1e-10);
    CHECK(test::max_rel_diff(H[1], H[0]) <= 1e-10);
  }
}

TEST_CASE("mu on observed data is the weighted multiplicative update and never increases the objective") {
  const auto p = ratings_test::planted(60, 40, 4, 0.05, 0.3, 0.1, 11);
  const nmfx::Data& d = p.data;
  for (const double lambda : {0.0, 0.1}) {
    CAPTURE(lambda);
    const nmfx::Penalty penalty{0, lambda, 0, lambda};
    auto r = ratings_test::start(d, "mu", json{{"eps", 1e-10}}, 4, 5, penalty);
    // One step against the formula W <- W * (P(X) H^T) / (P(WH) H^T + lambda W), then H likewise.
    {
      Matrix W = r.W, H = r.H;
      const Matrix PX = ratings_test::masked(d, p.X);
      const Matrix num_W = test::naive_product(PX, test::transposed(H));
      const Matrix den_W = test::naive_product(ratings_test::masked(d, test::naive_product(W, H)), test::transposed(H));
      for (std::size_t k = 0; k < W.size(); ++k)
        W.data()[k] *= num_W.data()[k] / std::max(den_W.data()[k] + lambda * W.data()[k], 1e-10);
      const Matrix num_H = test::naive_product(test::transposed(W), PX);
      const Matrix den_H = test::naive_product(test::transposed(W), ratings_test::masked(d, test::naive_product(W, H)));
      for (std::size_t k = 0; k < H.size(); ++k)
        H.data()[k] *= num_H.data()[k] / std::max(den_H.data()[k] + lambda * H.data()[k], 1e-10);
      r.solver->step(r.W, r.H);
      ratings_test::check_close(r.W, W, 1e-10);
      ratings_test::check_close(r.H, H, 1e-10);
    }
    double previous = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
    const double initial = previous;
    double worst = -1;
    for (int it = 0; it < 300; ++it) {
      r.solver->step(r.W, r.H);
      const double f = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
      worst = std::max(worst, (f - previous) / previous);
      previous = f;
    }
    CHECK(worst <= 1e-12);
    CHECK(previous < 0.5 * initial);
  }
}
