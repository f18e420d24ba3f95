// The relative_error metric ||X - WH||_F / ||X||_F on sparse X equals the one on its dense copy.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

using nmfx::Matrix;

TEST_CASE("relative_error on sparse X equals the dense one") {
  const test::DenseSparsePair p = test::dense_sparse_pair(300, 40, 13);  // more than one 256-row block
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
