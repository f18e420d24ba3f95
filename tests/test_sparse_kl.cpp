// KL on sparse X: value and both gradient parts equal those on the dense copy; mu (Frobenius and
// KL) gives the same iterates on sparse X and on its dense copy; relative_error agrees; and the
// sparse loops give the same bits on 1 and on 2 threads.
#include <doctest/doctest.h>

#include <nmfx/linalg.hpp>

#include "support.hpp"

namespace {

using nmfx::Matrix;

// A dense M x N matrix with about 70% zeros, and the same matrix as a sparse Data (CSR), both
// finalized by the framework. `explicit_zero` also stores one zero entry in the CSR.
struct Pair {
  nmfx::Data dense, sparse;
};

Pair make_pair(std::size_t M, std::size_t N, std::uint64_t seed, bool explicit_zero = false) {
  nmfx::Rng rng(seed);
  Matrix X = Matrix::from_shape({M, N});
  for (double& v : X) v = rng.uniform() < 0.7 ? 0.0 : 5.0 * rng.uniform();
  X(0, 0) = 0.0;
  Pair p;
  p.dense.dense = X;
  nmfx::finalize(p.dense, "dense");
  p.sparse.kind = nmfx::DataKind::sparse;
  auto& S = p.sparse.sparse;
  S.rows = M;
  S.cols = N;
  S.indptr.push_back(0);
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j)
      if (X(i, j) != 0.0 || (explicit_zero && i == 0 && j == 0)) {
        S.indices.push_back(static_cast<std::uint32_t>(j));
        S.values.push_back(X(i, j));
      }
    S.indptr.push_back(S.values.size());
  }
  nmfx::finalize(p.sparse, "sparse");
  return p;
}

double max_rel_diff(const Matrix& A, const Matrix& B) {
  REQUIRE(A.shape(0) == B.shape(0));
  REQUIRE(A.shape(1) == B.shape(1));
  double worst = 0.0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    const double a = A.data()[k], b = B.data()[k];
    const double scale = std::max(std::abs(a), std::abs(b));
    if (scale > 0) worst = std::max(worst, std::abs(a - b) / scale);
  }
  return worst;
}

struct Gradients {
  Matrix pos_W, neg_W, pos_H, neg_H;
  double value;
};

Gradients kl_at(const nmfx::Data& X, const Matrix& W, const Matrix& H) {
  auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json::object());
  const std::size_t M = X.rows(), N = X.cols(), L = W.shape(1);
  kl->prepare(X, L);
  Gradients g{Matrix::from_shape({M, L}), Matrix::from_shape({M, L}), Matrix::from_shape({L, N}),
              Matrix::from_shape({L, N}), 0.0};
  g.value = kl->value(X, W, H);
  kl->gradient_W(X, W, H, g.pos_W, g.neg_W);
  kl->gradient_H(X, W, H, g.pos_H, g.neg_H);
  return g;
}

}  // namespace

TEST_CASE("kl on sparse X equals kl on its dense copy - value and both gradient parts") {
  for (bool explicit_zero : {false, true}) {
    CAPTURE(explicit_zero);
    const Pair p = make_pair(37, 23, 11, explicit_zero);
    const Matrix W = test::random_matrix(37, 4, 1, 0.1, 1.0), H = test::random_matrix(4, 23, 2, 0.1, 1.0);
    const Gradients d = kl_at(p.dense, W, H), s = kl_at(p.sparse, W, H);
    CHECK(std::abs(s.value - d.value) <= 1e-12 * std::abs(d.value));
    CHECK(max_rel_diff(s.pos_W, d.pos_W) <= 1e-12);
    CHECK(max_rel_diff(s.neg_W, d.neg_W) <= 1e-12);
    CHECK(max_rel_diff(s.pos_H, d.pos_H) <= 1e-12);
    CHECK(max_rel_diff(s.neg_H, d.neg_H) <= 1e-12);
  }
}

TEST_CASE("kl on sparse X is +inf where WH = 0 at a nonzero of X - as on dense X") {
  const Pair p = make_pair(10, 8, 5);
  Matrix W = test::random_matrix(10, 2, 3, 0.1, 1.0), H = test::random_matrix(2, 8, 4, 0.1, 1.0);
  // Find a row i with a nonzero X(i, j) and make (WH)_ij = 0 by zeroing row i of W.
  std::size_t i = 0;
  while (p.sparse.sparse.indptr[i + 1] == p.sparse.sparse.indptr[i]) ++i;
  REQUIRE(i < 10);
  for (std::size_t a = 0; a < 2; ++a) W(i, a) = 0.0;
  CHECK(std::isinf(kl_at(p.sparse, W, H).value));
  CHECK(std::isinf(kl_at(p.dense, W, H).value));
}

TEST_CASE("kl on sparse X gives the same bits on 1 and 2 threads") {
  const Pair p = make_pair(300, 200, 7);
  const Matrix W = test::random_matrix(300, 5, 1, 0.1, 1.0), H = test::random_matrix(5, 200, 2, 0.1, 1.0);
  nmfx::set_threads(1);
  const Gradients one = kl_at(p.sparse, W, H);
  nmfx::set_threads(2);
  const Gradients two = kl_at(p.sparse, W, H);
  CHECK(one.value == two.value);
  CHECK(one.neg_W == two.neg_W);
  CHECK(one.neg_H == two.neg_H);
}

TEST_CASE("mu on sparse X and on its dense copy give the same iterates - frobenius and kl") {
  const Pair p = make_pair(40, 30, 21);
  const std::size_t L = 3;
  for (const char* loss_name : {"frobenius", "kl"}) {
    CAPTURE(loss_name);
    Matrix W[2], H[2];
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
    CHECK(max_rel_diff(W[1], W[0]) <= 1e-10);
    CHECK(max_rel_diff(H[1], H[0]) <= 1e-10);
  }
}

TEST_CASE("relative_error on sparse X equals the dense one") {
  const Pair p = make_pair(300, 40, 13);  // more than one 256-row block
  const Matrix W = test::random_matrix(300, 3, 1), H = test::random_matrix(3, 40, 2);
  auto metric = test::registry().create<nmfx::Metric>("relative_error", nmfx::json::object());
  auto loss = test::registry().create<nmfx::Loss>("frobenius", nmfx::json::object());
  const nmfx::Penalty penalty;
  const nmfx::json cell = nmfx::json::object(), trace = nmfx::json::object();
  double e[2];
  const nmfx::Data* data[2] = {&p.dense, &p.sparse};
  for (int k = 0; k < 2; ++k) {
    loss->prepare(*data[k], 3);
    const nmfx::MetricContext c{*data[k], W, H, 0, 0.0, "frobenius", *loss, penalty, 3, cell, trace, nullptr};
    e[k] = metric->evaluate(c).at("relative_error");
  }
  CHECK(e[0] > 0.1);
  CHECK(std::abs(e[1] - e[0]) <= 1e-12 * e[0]);
}
