// What every dataset gets from the plugin API's dataset helpers (nmfx/dataset_util.hpp) and
// finalize(): the checks of X (NaN, negatives, all zero) and the common options (lee_seung
// normalisation, scale, transpose).
#include <doctest/doctest.h>

#include <nmfx/dataset_util.hpp>

#include "support.hpp"

TEST_CASE("finalize refuses NaN - negatives and all-zero data - naming the first position") {
  nmfx::Data d;
  d.dense = nmfx::Matrix::from_shape({3, 3});
  d.dense.fill(1.0);
  d.dense(1, 2) = std::nan("");
  CHECK_THROWS_WITH(nmfx::finalize(d, "x"), doctest::Contains("1 NaN/Inf and 0 negative entries, the first at (1, 2)"));
  d.dense.fill(0.0);
  CHECK_THROWS_WITH(nmfx::finalize(d, "x"), doctest::Contains("all zeros"));
  d.dense.fill(2.0);
  nmfx::finalize(d, "x");
  CHECK(d.norm_sq == 36.0);
  CHECK(d.mean == 2.0);
  CHECK(d.nnz == 9);
}

TEST_CASE("common dataset options: lee_seung normalisation - scale - transpose") {
  nmfx::Data X;
  // Column 0 has mean 3 and sd 1, and no value is more than 1 sd below the mean (so nothing is
  // clipped); column 1 is constant.
  X.dense = {{2.0, 5.0}, {4.0, 5.0}, {2.0, 5.0}, {4.0, 5.0}};
  const nmfx::Params p(
      nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}, {"transpose", true}}));
  nmfx::apply_common_options(X, p);
  REQUIRE(X.dense.shape(0) == 2);  // transposed after normalising
  // Column 0 becomes 0.25 + 0.25 (x - 3) / 1: 0, 0.5, 0, 0.5.
  double mean = 0, sq = 0;
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(X.dense(0, j) == doctest::Approx(j % 2 == 0 ? 0.0 : 0.5));
    mean += X.dense(0, j) / 4;
  }
  for (std::size_t j = 0; j < 4; ++j) sq += (X.dense(0, j) - mean) * (X.dense(0, j) - mean) / 4;
  CHECK(mean == doctest::Approx(0.25));
  CHECK(std::sqrt(sq) == doctest::Approx(0.25));
  for (std::size_t j = 0; j < 4; ++j) CHECK(X.dense(1, j) == 0.25);  // a constant image: mean 0.25, sd 0
  // Column [0, 0, 0, 100]: z = sqrt(3) at its last value and -1/sqrt(3) at the others.
  nmfx::Data Z;
  Z.dense = {{0.0}, {0.0}, {0.0}, {100.0}};
  nmfx::apply_common_options(
      Z, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}})));
  CHECK(Z.dense(3, 0) == doctest::Approx(0.25 + 0.25 * std::sqrt(3.0)));
  CHECK(Z.dense(0, 0) == doctest::Approx(0.25 - 0.25 / std::sqrt(3.0)));
  nmfx::Data Y;
  Y.dense = {{0.0, 2.0}, {4.0, 8.0}};
  nmfx::apply_common_options(
      Y, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"scale", "max"}})));
  CHECK(Y.dense(1, 0) == 0.5);
  CHECK(Y.dense(1, 1) == 1.0);
}

TEST_CASE("lee_seung normalisation maps a constant image to 0.25 despite rounding") {
  nmfx::Data X;
  X.dense = nmfx::Matrix::from_shape({63, 1});
  X.dense.fill(100.0 / 255.0);  // the mean of 63 copies is not exactly 100/255: sd would be ~3e-16
  nmfx::apply_common_options(
      X, nmfx::Params(nmfx::resolve_params(nmfx::common_dataset_params(), nmfx::json{{"normalize", "lee_seung"}})));
  for (double v : X.dense) CHECK(v == 0.25);
}
