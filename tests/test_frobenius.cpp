// The frobenius loss against formulas written out independently here: its value (Lee & Seung eq 2),
// its gradient split checked by finite differences, and on observed data (matrix completion) the
// value and gradient over the training entries only.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/linalg.hpp>

#include "loss_support.hpp"
#include "ratings_support.hpp"

using nmfx::json;
using nmfx::Matrix;

namespace {

double naive_frobenius(const nmfx::Matrix& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double s = 0;
  for (std::size_t k = 0; k < X.size(); ++k) s += std::pow(X.data()[k] - P.data()[k], 2);
  return 0.5 * s;
}

}  // namespace

TEST_CASE("frobenius value matches its definition (Lee & Seung eq 2)") {
  nmfx::Matrix Xm = test::random_matrix(13, 9, 1);
  Xm(2, 3) = 0.0;  // 0 log 0 = 0
  Xm(5, 0) = 0.0;
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = test::random_matrix(13, 4, 2), H = test::random_matrix(4, 9, 3);
  auto fro = test::registry().create<nmfx::Loss>("frobenius", nmfx::json::object());
  fro->prepare(X, 4);
  CHECK(fro->value(X, W, H) == doctest::Approx(naive_frobenius(Xm, W, H)).epsilon(1e-10));
}

TEST_CASE("frobenius of a 2x2 example by hand") {
  // X = [[1, 0], [2, 4]], W = [[1], [2]], H = [[1, 1]]: WH = [[1, 1], [2, 2]].
  nmfx::Matrix Xm = {{1.0, 0.0}, {2.0, 4.0}};
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = {{1.0}, {2.0}}, H = {{1.0, 1.0}};
  auto fro = test::registry().create<nmfx::Loss>("frobenius", nmfx::json::object());
  fro->prepare(X, 1);
  // 0.5 * (0 + 1 + 0 + 4) = 2.5
  CHECK(fro->value(X, W, H) == doctest::Approx(2.5).epsilon(1e-14));
}

TEST_CASE("frobenius gradient splits: pos - neg >= 0 and pos - neg matches finite differences") {
  test::check_gradient_split("frobenius");
}

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
  const Matrix PWH = ratings_test::masked(d, WH), PX = ratings_test::masked(d, p.X);
  Matrix pos_W = Matrix::from_shape({30, 4}), neg_W = Matrix::from_shape({30, 4});
  Matrix pos_H = Matrix::from_shape({4, 20}), neg_H = Matrix::from_shape({4, 20});
  loss->gradient_W(d, W, H, pos_W, neg_W);
  loss->gradient_H(d, W, H, pos_H, neg_H);
  ratings_test::check_close(pos_W, test::naive_product(PWH, test::transposed(H)), 1e-12);
  ratings_test::check_close(neg_W, test::naive_product(PX, test::transposed(H)), 1e-12);
  ratings_test::check_close(pos_H, test::naive_product(test::transposed(W), PWH), 1e-12);
  ratings_test::check_close(neg_H, test::naive_product(test::transposed(W), PX), 1e-12);
  // The same with 2 threads (rows are independent, so the results are identical).
  nmfx::set_threads(2);
  Matrix pos_W2 = Matrix::from_shape({30, 4}), neg_W2 = Matrix::from_shape({30, 4});
  loss->gradient_W(d, W, H, pos_W2, neg_W2);
  CHECK(pos_W2 == pos_W);
  CHECK(loss->value(d, W, H) == doctest::Approx(expected).epsilon(1e-12));
  nmfx::set_threads(1);
}
