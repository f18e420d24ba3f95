// The rating metrics test_rmse, test_mae and train_rmse (plugins/common's rating errors) against
// their definitions, and their refusal without a test set.
#include <doctest/doctest.h>

#include <cmath>

#include "ratings_support.hpp"

using nmfx::json;
using nmfx::Matrix;

TEST_CASE("test_rmse test_mae and train_rmse match their definitions and need a test set") {
  const auto p = ratings_test::planted(30, 20, 3, 0.1, 0.4, 0.2, 21);
  const nmfx::Data& d = p.data;
  const Matrix W = test::random_matrix(30, 3, 1), H = test::random_matrix(3, 20, 2);
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(d, 3);
  const nmfx::Penalty penalty{};
  const json cell = json::object(), trace = json::object();
  nmfx::MetricContext c{d,     W,       H, 0,    0.0,   "frobenius",
                        *loss, penalty, 3, cell, trace, [](const std::string&) { return 0.0; }};
  auto metric = [&](const std::string& name, bool clip = false) {
    auto m = test::registry().create<nmfx::Metric>(name, json{{"clip", clip}});
    return m->evaluate(c).at(name);
  };
  const Matrix WH = test::naive_product(W, H);
  double sq = 0, ab = 0, sq_clip = 0;
  const auto [lo, hi] = std::minmax_element(d.sparse.values.begin(), d.sparse.values.end());
  for (std::size_t i = 0; i < 30; ++i)
    for (std::size_t k = d.test.indptr[i]; k < d.test.indptr[i + 1]; ++k) {
      const double e = d.test.values[k] - WH(i, d.test.indices[k]);
      sq += e * e;
      ab += std::abs(e);
      const double clipped = std::min(std::max(WH(i, d.test.indices[k]), *lo), *hi);
      sq_clip += std::pow(d.test.values[k] - clipped, 2);
    }
  const double n = static_cast<double>(d.test.nnz());
  CHECK(metric("test_rmse") == doctest::Approx(std::sqrt(sq / n)).epsilon(1e-12));
  CHECK(metric("test_mae") == doctest::Approx(ab / n).epsilon(1e-12));
  CHECK(metric("test_rmse", true) == doctest::Approx(std::sqrt(sq_clip / n)).epsilon(1e-12));
  CHECK(metric("train_rmse") == doctest::Approx(ratings_test::rmse(d.sparse, W, H)).epsilon(1e-12));

  const auto no_test = ratings_test::planted(30, 20, 3, 0.1, 0.4, 0.0, 21);
  nmfx::MetricContext c2{no_test.data, W,       H, 0,    0.0,   "frobenius",
                         *loss,        penalty, 3, cell, trace, [](const std::string&) { return 0.0; }};
  auto m = test::registry().create<nmfx::Metric>("test_rmse", json{{"clip", false}});
  CHECK_THROWS_WITH(m->evaluate(c2), doctest::Contains("no test entries"));
}
