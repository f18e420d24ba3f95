// The synthetic_ratings dataset: distinct pairs, skewed towards popular users and items, on the
// rating scale, drawn from its seed; impossible sizes refused with a clear message.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "support.hpp"

using nmfx::json;
using Pair = std::pair<long long, long long>;

TEST_CASE("synthetic_ratings draws distinct skewed pairs on the rating scale from its seed") {
  const json params = {{"users", 2000}, {"items", 500},          {"ratings", 60000}, {"rank", 5},
                       {"noise", 0.3},  {"min_user_ratings", 5}, {"seed", 4}};
  const nmfx::Data d = test::load_dataset("synthetic_ratings", params);
  CHECK(d.kind == nmfx::DataKind::observed);
  CHECK(d.rows() == 2000);
  CHECK(d.cols() == 500);
  CHECK(d.sparse.nnz() + d.test.nnz() == 60000);
  CHECK(d.test.nnz() == 12000);
  CHECK(d.info["planted_rank"] == 5);
  CHECK(d.info["noise"] == 0.3);
  // Distinct pairs: CSR rows sorted strictly (checked by finalize) and no pair in both sets.
  std::set<Pair> pairs;
  for (const nmfx::SparseMatrix* S : {&d.sparse, &d.test})
    for (std::size_t u = 0; u < S->rows; ++u)
      for (std::size_t k = S->indptr[u]; k < S->indptr[u + 1]; ++k) {
        CHECK(pairs.insert({static_cast<long long>(u), S->indices[k]}).second);
        const double v = S->values[k];
        CHECK(v >= 0.5);
        CHECK(v <= 5.0);
        CHECK(std::abs(v * 2 - std::round(v * 2)) < 1e-12);  // steps of 0.5
      }
  // Skew: the most active user rates far more than the median one, and every user at least 5.
  const json& per_user = d.info["ratings_per_user"];
  CHECK(per_user["min"].get<double>() >= 5);
  CHECK(per_user["max"].get<double>() > 5 * per_user["median"].get<double>());
  CHECK(d.info["ratings_per_item"]["max"].get<double>() > 5 * d.info["ratings_per_item"]["median"].get<double>());
  // The planted model's own test error is about the noise (plus rounding and clipping).
  const double oracle = d.info["oracle_test_rmse"];
  CHECK(oracle > 0.3);
  CHECK(oracle < 0.45);
  // Deterministic given the seed.
  const nmfx::Data again = test::load_dataset("synthetic_ratings", params);
  CHECK(again.sparse.indices == d.sparse.indices);
  CHECK(again.sparse.values == d.sparse.values);
  CHECK(again.test.values == d.test.values);
  json other = params;
  other["seed"] = 5;
  CHECK(test::load_dataset("synthetic_ratings", other).sparse.indices != d.sparse.indices);
  // Continuous values when not rounded.
  json smooth = params;
  smooth["round"] = false;
  const nmfx::Data c = test::load_dataset("synthetic_ratings", smooth);
  std::size_t off_grid = 0;
  for (double v : c.sparse.values) off_grid += std::abs(v * 2 - std::round(v * 2)) > 1e-9;
  CHECK(off_grid > c.sparse.nnz() / 2);
}

TEST_CASE("synthetic_ratings refuses impossible sizes with a clear message") {
  auto message = [](json given) {
    try {
      test::load_dataset("synthetic_ratings", given);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message({{"users", 10}, {"items", 10}, {"ratings", 95}, {"min_user_ratings", 1}}).find("do not fit") !=
        std::string::npos);
  CHECK(message({{"users", 100}, {"items", 100}, {"ratings", 500}}).find("min_user_ratings") != std::string::npos);
}
