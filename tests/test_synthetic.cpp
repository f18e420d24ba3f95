// The synthetic dataset: with noise 0, X is exactly the planted rank-r product.
#include <doctest/doctest.h>

#include "support.hpp"

TEST_CASE("synthetic plants an exact rank-r product when noise is 0") {
  auto d = test::registry().create<nmfx::Dataset>(
      "synthetic", nmfx::json{{"m", 12}, {"n", 9}, {"rank", 2}, {"noise", 0.0}, {"seed", 4}});
  const nmfx::Data X = d->load();
  REQUIRE(X.rows() == 12);
  REQUIRE(X.cols() == 9);
  // Rank 2: every 3x3 minor vanishes.
  for (std::size_t i = 0; i + 2 < 12; ++i) {
    const auto& A = X.dense;
    const double det = A(i, 0) * (A(i + 1, 1) * A(i + 2, 2) - A(i + 1, 2) * A(i + 2, 1)) -
                       A(i, 1) * (A(i + 1, 0) * A(i + 2, 2) - A(i + 1, 2) * A(i + 2, 0)) +
                       A(i, 2) * (A(i + 1, 0) * A(i + 2, 1) - A(i + 1, 1) * A(i + 2, 0));
    CHECK(std::abs(det) < 1e-12);
  }
  // The same seed gives the same matrix; another seed another.
  const nmfx::Data again = d->load();
  CHECK(again.dense == X.dense);
}
