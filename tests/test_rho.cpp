// Gillis & Glineur's rho (seed 000, eqs 18-21) through the rho metric: Table 1 of seed 000, and
// P = M N for dense X whatever its zeros.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

using nmfx::json;

namespace {

nmfx::Values rho_of(const nmfx::Data& X, std::size_t rank) {
  auto metric = test::registry().create<nmfx::Metric>("rho", json::object());
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  const nmfx::Matrix W, H;
  const nmfx::Penalty penalty;
  const json cell = json::object(), trace = json::object();
  const nmfx::MetricContext context{X, W, H, 0, 0.0, "frobenius", *loss, penalty, rank, cell, trace, nullptr};
  return metric->evaluate(context);
}

}  // namespace

TEST_CASE("rho reproduces Table 1 of seed 000 for M = 12544 N = 10001 and dense X") {
  // X is not allocated (it would take 1 GB): a sparse Data with no entries but nnz = M N, which
  // is all the metric reads.
  nmfx::Data X;
  X.kind = nmfx::DataKind::sparse;
  X.sparse.rows = 12544;
  X.sparse.cols = 10001;
  X.nnz = 12544u * 10001u;
  struct Row {
    std::size_t L;
    double mu_W, mu_H, hals_W, hals_H;
  };
  for (const Row& row : {Row{30, 324, 406, 10025, 12582}, Row{60, 165, 207, 10049, 12620}}) {
    CAPTURE(row.L);
    const nmfx::Values v = rho_of(X, row.L);
    CHECK(std::floor(v.at("rho_W_mu")) == row.mu_W);
    CHECK(std::floor(v.at("rho_H_mu")) == row.mu_H);
    CHECK(std::floor(v.at("rho_W_hals")) == row.hals_W);
    CHECK(std::floor(v.at("rho_H_hals")) == row.hals_H);
  }
}

TEST_CASE("rho takes P = M N for dense X and P = nnz for sparse X") {
  nmfx::Matrix A = test::random_matrix(20, 10, 3);
  for (std::size_t k = 0; k < A.size(); k += 3) A.data()[k] = 0;  // zeros do not make a dense product cheaper
  const nmfx::Data X = test::make_data(A);
  REQUIRE(X.nnz < 200);
  const double M = 20, N = 10, L = 3, P = 200;
  const nmfx::Values v = rho_of(X, 3);
  CHECK(v.at("rho_W_mu") == doctest::Approx(1 + (P + N * L) / (M * L + M)).epsilon(1e-15));
  CHECK(v.at("rho_H_mu") == doctest::Approx(1 + (P + M * L) / (N * L + N)).epsilon(1e-15));
  CHECK(v.at("rho_W_hals") == doctest::Approx(1 + (P + N * L) / M).epsilon(1e-15));
  CHECK(v.at("rho_H_hals") == doctest::Approx(1 + (P + M * L) / N).epsilon(1e-15));

  nmfx::Data S;
  S.kind = nmfx::DataKind::sparse;
  S.sparse.rows = 20;
  S.sparse.cols = 10;
  S.nnz = 37;
  const nmfx::Values s = rho_of(S, 3);
  CHECK(s.at("rho_W_hals") == doctest::Approx(1 + (37 + N * L) / M).epsilon(1e-15));
  CHECK(s.at("rho_H_mu") == doctest::Approx(1 + (37 + M * L) / (N * L + N)).epsilon(1e-15));
}
