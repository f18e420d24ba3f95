// Matrix completion: the frobenius loss on observed data (value and gradient split against the
// formulas), weighted MU never increasing it, the rating metrics, and pa, sgd, ccd and mu each
// predicting the held-out entries of a planted low-rank matrix to within 20% of the noise.
#include <doctest/doctest.h>

#include <nmfx/linalg.hpp>

#include "ratings_support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

// P_Omega(A): A on the training entries, 0 elsewhere.
Matrix masked(const nmfx::Data& d, const Matrix& A) {
  Matrix P = Matrix::from_shape({d.rows(), d.cols()});
  P.fill(0.0);
  for (std::size_t i = 0; i < d.rows(); ++i)
    for (std::size_t k = d.sparse.indptr[i]; k < d.sparse.indptr[i + 1]; ++k)
      P(i, d.sparse.indices[k]) = A(i, d.sparse.indices[k]);
  return P;
}

Matrix transpose(const Matrix& A) {
  Matrix T = Matrix::from_shape({A.shape(1), A.shape(0)});
  for (std::size_t i = 0; i < A.shape(0); ++i)
    for (std::size_t j = 0; j < A.shape(1); ++j) T(j, i) = A(i, j);
  return T;
}

void check_close(const Matrix& A, const Matrix& B, double tol) {
  REQUIRE(A.shape() == B.shape());
  double worst = 0, scale = 0;
  for (std::size_t k = 0; k < A.size(); ++k) {
    worst = std::max(worst, std::abs(A.data()[k] - B.data()[k]));
    scale = std::max(scale, std::abs(B.data()[k]));
  }
  CHECK(worst <= tol * std::max(scale, 1.0));
}

}  // namespace

TEST_CASE("frobenius on observed data: the value and the gradient split over the training entries only") {
  const auto p = ratings_test::planted(30, 20, 3, 0.1, 0.4, 0.2, 3);
  const nmfx::Data& d = p.data;
  const Matrix W = test::random_matrix(30, 4, 8), H = test::random_matrix(4, 20, 9);
  auto loss = test::registry().create<nmfx::Loss>("frobenius", json::object());
  loss->prepare(d, 4);
  const Matrix WH = test::naive_product(W, H);
  double expected = 0;
  for (std::size_t i = 0; i < 30; ++i)
    for (std::size_t k = d.sparse.indptr[i]; k < d.sparse.indptr[i + 1]; ++k)
      expected += 0.5 * std::pow(d.sparse.values[k] - WH(i, d.sparse.indices[k]), 2);
  CHECK(loss->value(d, W, H) == doctest::Approx(expected).epsilon(1e-12));

  // pos_W = P(WH) H^T, neg_W = P(X) H^T; pos_H = W^T P(WH), neg_H = W^T P(X).
  const Matrix PWH = masked(d, WH), PX = masked(d, p.X);
  Matrix pos_W = Matrix::from_shape({30, 4}), neg_W = Matrix::from_shape({30, 4});
  Matrix pos_H = Matrix::from_shape({4, 20}), neg_H = Matrix::from_shape({4, 20});
  loss->gradient_W(d, W, H, pos_W, neg_W);
  loss->gradient_H(d, W, H, pos_H, neg_H);
  check_close(pos_W, test::naive_product(PWH, transpose(H)), 1e-12);
  check_close(neg_W, test::naive_product(PX, transpose(H)), 1e-12);
  check_close(pos_H, test::naive_product(transpose(W), PWH), 1e-12);
  check_close(neg_H, test::naive_product(transpose(W), PX), 1e-12);
  // The same with 2 threads (rows are independent, so the results are identical).
  nmfx::set_threads(2);
  Matrix pos_W2 = Matrix::from_shape({30, 4}), neg_W2 = Matrix::from_shape({30, 4});
  loss->gradient_W(d, W, H, pos_W2, neg_W2);
  CHECK(pos_W2 == pos_W);
  CHECK(loss->value(d, W, H) == doctest::Approx(expected).epsilon(1e-12));
  nmfx::set_threads(1);
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
      const Matrix PX = masked(d, p.X);
      const Matrix num_W = test::naive_product(PX, transpose(H));
      const Matrix den_W = test::naive_product(masked(d, test::naive_product(W, H)), transpose(H));
      for (std::size_t k = 0; k < W.size(); ++k)
        W.data()[k] *= num_W.data()[k] / std::max(den_W.data()[k] + lambda * W.data()[k], 1e-10);
      const Matrix num_H = test::naive_product(transpose(W), PX);
      const Matrix den_H = test::naive_product(transpose(W), masked(d, test::naive_product(W, H)));
      for (std::size_t k = 0; k < H.size(); ++k)
        H.data()[k] *= num_H.data()[k] / std::max(den_H.data()[k] + lambda * H.data()[k], 1e-10);
      r.solver->step(r.W, r.H);
      check_close(r.W, W, 1e-10);
      check_close(r.H, H, 1e-10);
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

// 300 x 200, rank 3, 30% of the entries observed, noise sd 0.1; 10% of the entries held out.
// Iterations and parameters: each solver is run until its test RMSE has settled (checked by hand
// with twice as many iterations): ccd 100 sweeps, mu 1500 iterations, sgd 100 passes at a constant
// eta = 0.05, pa (NN-PA-I) 100 passes with C = 0.01, and NN-PA-I with epsilon = sigma.
TEST_CASE("pa sgd ccd and mu predict held-out entries of a planted rank-3 matrix to test RMSE within 1.2 sigma") {
  const double sigma = 0.1;
  const auto p = ratings_test::planted(300, 200, 3, sigma, 0.3, 0.1, 42);
  const nmfx::Data& d = p.data;
  struct Case {
    std::string solver;
    json params;
    int steps;
  };
  const std::vector<Case> cases = {
      {"ccd", json::object(), 100},
      {"mu", json::object(), 1500},
      {"sgd", {{"eta", 0.05}, {"seed", 1}}, 100},
      {"pa", {{"C", 0.01}, {"seed", 1}}, 100},
      {"pa", {{"C", 0.01}, {"epsilon", sigma}, {"seed", 1}}, 100},
  };
  for (const auto& c : cases) {
    CAPTURE(c.solver);
    CAPTURE(c.params.dump());
    auto r = ratings_test::start(d, c.solver, c.params, 3, 7);
    const double before = ratings_test::rmse(d.test, r.W, r.H);
    for (int s = 0; s < c.steps; ++s) r.solver->step(r.W, r.H);
    const double after = ratings_test::rmse(d.test, r.W, r.H);
    MESSAGE(c.solver << " " << c.params.dump() << ": test RMSE " << before << " -> " << after << " (sigma " << sigma
                     << ")");
    CHECK(after <= 1.2 * sigma);
    CHECK(*std::min_element(r.W.begin(), r.W.end()) >= 0.0);
    CHECK(*std::min_element(r.H.begin(), r.H.end()) >= 0.0);
  }
}

TEST_CASE("ccd never increases the penalized objective and sgd spreads the penalty by count or per rating") {
  const auto p = ratings_test::planted(80, 60, 3, 0.1, 0.3, 0.1, 17);
  const nmfx::Data& d = p.data;
  const nmfx::Penalty penalty{0.01, 0.5, 0.02, 0.3};
  auto r = ratings_test::start(d, "ccd", json{{"inner", 2}}, 3, 3, penalty);
  double previous = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
  const double initial = previous;
  double worst = -1;
  for (int it = 0; it < 60; ++it) {
    r.solver->step(r.W, r.H);
    const double f = r.loss->value(d, r.W, r.H) + penalty.value(r.W, r.H);
    worst = std::max(worst, (f - previous) / previous);
    previous = f;
  }
  CHECK(worst <= 1e-12);
  CHECK(previous < 0.2 * initial);
  // With 2 threads, bit-identical factors (rows are independent).
  auto one = ratings_test::start(d, "ccd", json::object(), 3, 3, penalty);
  auto two = ratings_test::start(d, "ccd", json::object(), 3, 3, penalty);
  nmfx::set_threads(2);
  {
    nmfx::Problem problem{d, *two.loss, "frobenius", 3, 2, penalty};
    two.solver->prepare(problem, two.W, two.H);
  }
  for (int it = 0; it < 5; ++it) {
    one.solver->step(one.W, one.H);
    two.solver->step(two.W, two.H);
  }
  nmfx::set_threads(1);
  CHECK(one.W == two.W);
  CHECK(one.H == two.H);

  // sgd: per_rating applies the penalty at each of a user's n_u ratings, by_count once in total, so
  // per_rating shrinks the factors much more. by_count minimizes the reported objective itself.
  auto norm = [](const Matrix& A) {
    double s = 0;
    for (double v : A) s += v * v;
    return s;
  };
  double norms[2];
  int k = 0;
  for (const std::string spread : {"by_count", "per_rating"}) {
    auto s = ratings_test::start(d, "sgd", json{{"eta", 0.02}, {"penalty_spread", spread}, {"seed", 1}}, 3, 3,
                                 nmfx::Penalty{0, 0.5, 0, 0.5});
    const double f0 = s.loss->value(d, s.W, s.H) + 0.25 * (norm(s.W) + norm(s.H));
    for (int it = 0; it < 30; ++it) s.solver->step(s.W, s.H);
    const double f1 = s.loss->value(d, s.W, s.H) + 0.25 * (norm(s.W) + norm(s.H));
    if (spread == "by_count") CHECK(f1 < 0.5 * f0);
    norms[k++] = norm(s.W) + norm(s.H);
  }
  CHECK(norms[1] < 0.5 * norms[0]);
}
