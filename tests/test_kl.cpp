// The kl loss (generalized Kullback-Leibler divergence) against formulas written out independently
// here: its value (Lee & Seung eq 3) and a 2x2 case by hand, its gradient split checked by finite
// differences; on sparse X, the value and both gradient parts of the dense copy, +inf where WH = 0
// at a nonzero of X, and the same bits on 1 and 2 threads; on dense X over several tiles, both
// gradients against sums written out entry by entry, with each of the two kernels for X / WH.
#include <doctest/doctest.h>

#include <cmath>

#include <nmfx/host/threads.hpp>
#include <nmfx/linalg.hpp>

#include "loss_support.hpp"

using nmfx::Matrix;

namespace {

double naive_kl(const nmfx::Matrix& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
  const nmfx::Matrix P = test::naive_product(W, H);
  double s = 0;
  for (std::size_t k = 0; k < X.size(); ++k) {
    const double x = X.data()[k], y = P.data()[k];
    s += (x > 0 ? x * std::log(x / y) : 0.0) - x + y;
  }
  return s;
}

struct Gradients {
  Matrix pos_W, neg_W, pos_H, neg_H;
  double value;
};

Gradients kl_at(const nmfx::Data& X, const Matrix& W, const Matrix& H,
                const nmfx::json& params = nmfx::json::object()) {
  auto kl = test::registry().create<nmfx::Loss>("kl", params);
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

TEST_CASE("kl value matches its definition (Lee & Seung eq 3)") {
  nmfx::Matrix Xm = test::random_matrix(13, 9, 1);
  Xm(2, 3) = 0.0;  // 0 log 0 = 0
  Xm(5, 0) = 0.0;
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = test::random_matrix(13, 4, 2), H = test::random_matrix(4, 9, 3);
  auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json::object());
  kl->prepare(X, 4);
  CHECK(kl->value(X, W, H) == doctest::Approx(naive_kl(Xm, W, H)).epsilon(1e-12));
}

TEST_CASE("kl of a 2x2 example by hand") {
  // X = [[1, 0], [2, 4]], W = [[1], [2]], H = [[1, 1]]: WH = [[1, 1], [2, 2]].
  // D = (1 log 1 - 1 + 1) + (0 - 0 + 1) + (2 log 1 - 2 + 2) + (4 log 2 - 4 + 2) = 4 log 2 - 1.
  nmfx::Matrix Xm = {{1.0, 0.0}, {2.0, 4.0}};
  const nmfx::Data X = test::make_data(Xm);
  const nmfx::Matrix W = {{1.0}, {2.0}}, H = {{1.0, 1.0}};
  auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json::object());
  kl->prepare(X, 1);
  CHECK(kl->value(X, W, H) == doctest::Approx(4 * std::log(2.0) - 1).epsilon(1e-14));
}

TEST_CASE("kl gradient splits: pos - neg >= 0 and pos - neg matches finite differences") {
  test::check_gradient_split("kl");
}

TEST_CASE("kl on sparse X equals kl on its dense copy - value and both gradient parts") {
  for (bool explicit_zero : {false, true}) {
    CAPTURE(explicit_zero);
    const test::DenseSparsePair p = test::dense_sparse_pair(37, 23, 11, explicit_zero);
    const Matrix W = test::random_matrix(37, 4, 1, 0.1, 1.0), H = test::random_matrix(4, 23, 2, 0.1, 1.0);
    const Gradients d = kl_at(p.dense, W, H), s = kl_at(p.sparse, W, H);
    CHECK(std::abs(s.value - d.value) <= 1e-12 * std::abs(d.value));
    CHECK(test::max_rel_diff(s.pos_W, d.pos_W) <= 1e-12);
    CHECK(test::max_rel_diff(s.neg_W, d.neg_W) <= 1e-12);
    CHECK(test::max_rel_diff(s.pos_H, d.pos_H) <= 1e-12);
    CHECK(test::max_rel_diff(s.neg_H, d.neg_H) <= 1e-12);
  }
}

TEST_CASE("kl on sparse X is +inf where WH = 0 at a nonzero of X - as on dense X") {
  const test::DenseSparsePair p = test::dense_sparse_pair(10, 8, 5);
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
  const test::DenseSparsePair p = test::dense_sparse_pair(300, 200, 7);
  const Matrix W = test::random_matrix(300, 5, 1, 0.1, 1.0), H = test::random_matrix(5, 200, 2, 0.1, 1.0);
  nmfx::set_threads(1);
  const Gradients one = kl_at(p.sparse, W, H);
  nmfx::set_threads(2);
  const Gradients two = kl_at(p.sparse, W, H);
  CHECK(one.value == two.value);
  CHECK(one.neg_W == two.neg_W);
  CHECK(one.neg_H == two.neg_H);
}

TEST_CASE("kl on dense X over several tiles: both gradients equal the formulas, the same bits on 1 and 2 threads") {
  // 1100 x 610 makes W^T R four columns of tiles (153, 153, 153, 151 wide) of two rows (848 and
  // 252 high), and R H^T several row blocks with a shorter last one: every edge of the blocking.
  // 400 x 340 at rank 340 = min(M, N): four columns of tiles (85 wide) of one row.
  const std::size_t shapes[2][3] = {{1100, 610, 3}, {400, 340, 340}};
  for (const auto& shape : shapes) {
    const std::size_t M = shape[0], N = shape[1], L = shape[2];
    CAPTURE(L);
    Matrix Xm = test::random_matrix(M, N, 21, 0.0, 2.0);
    for (std::size_t k = 0; k < Xm.size(); k += 7) Xm.data()[k] = 0.0;  // zeros of X add nothing
    const nmfx::Data X = test::make_data(Xm);
    const Matrix W = test::random_matrix(M, L, 22, 0.1, 1.0), H = test::random_matrix(L, N, 23, 0.1, 1.0);
    // neg_W = (X / WH) H^T and neg_H = W^T (X / WH), summed here entry by entry.
    const Matrix WH = test::naive_product(W, H);
    Matrix neg_W = Matrix::from_shape({M, L}), neg_H = Matrix::from_shape({L, N});
    neg_W.fill(0.0);
    neg_H.fill(0.0);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) {
        const double r = Xm(i, j) / WH(i, j);
        for (std::size_t a = 0; a < L; ++a) {
          neg_W(i, a) += r * H(a, j);
          neg_H(a, j) += W(i, a) * r;
        }
      }
    for (const char* kernel : {"auto", "blas"}) {  // the one-pass ratio (AVX-512), and the GEMM then the ratio
      CAPTURE(kernel);
      const nmfx::json params{{"kernel", kernel}};
      nmfx::set_threads(1);
      const Gradients one = kl_at(X, W, H, params);
      nmfx::set_threads(2);
      const Gradients two = kl_at(X, W, H, params);
      CHECK(test::max_rel_diff(one.neg_W, neg_W) <= 1e-12);
      CHECK(test::max_rel_diff(one.neg_H, neg_H) <= 1e-12);
      CHECK(one.value == doctest::Approx(naive_kl(Xm, W, H)).epsilon(1e-12));
      CHECK(one.value == two.value);
      CHECK(one.neg_W == two.neg_W);
      CHECK(one.neg_H == two.neg_H);
    }
  }
  nmfx::set_threads(1);
}

TEST_CASE("kl on dense X: the one-pass ratio of W H (kernel auto) gives the gradients of the GEMM and ratio (blas)") {
  // On an AVX-512 processor `auto` forms X / WH with W H in registers; `blas` takes a GEMM, then the
  // ratio. Shapes cover every edge of the one-pass kernel: pieces of 8 rows and of 16 and 8
  // columns, single rows and single columns at the ends of tiles and row blocks; ranks 1, 3, 30.
  // A zero row of W against a zero row of X gives 0 / 0 := 0 there in both.
  const std::size_t shapes[3][3] = {{1100, 610, 3}, {637, 251, 30}, {90, 77, 1}};
  for (const auto& shape : shapes) {
    const std::size_t M = shape[0], N = shape[1], L = shape[2];
    CAPTURE(M);
    CAPTURE(L);
    Matrix Xm = test::random_matrix(M, N, 31, 0.0, 2.0);
    for (std::size_t k = 0; k < Xm.size(); k += 5) Xm.data()[k] = 0.0;
    Matrix W = test::random_matrix(M, L, 32, 0.1, 1.0);
    const Matrix H = test::random_matrix(L, N, 33, 0.1, 1.0);
    for (std::size_t j = 0; j < N; ++j) Xm(5, j) = 0.0;
    for (std::size_t a = 0; a < L; ++a) W(5, a) = 0.0;
    const nmfx::Data X = test::make_data(Xm);
    Gradients g[2];
    const char* kernels[2] = {"auto", "blas"};
    for (int k = 0; k < 2; ++k) {
      auto kl = test::registry().create<nmfx::Loss>("kl", nmfx::json{{"kernel", kernels[k]}});
      kl->prepare(X, L);
      g[k] = Gradients{Matrix::from_shape({M, L}), Matrix::from_shape({M, L}), Matrix::from_shape({L, N}),
                       Matrix::from_shape({L, N}), 0.0};
      kl->gradient_W(X, W, H, g[k].pos_W, g[k].neg_W);
      kl->gradient_H(X, W, H, g[k].pos_H, g[k].neg_H);
    }
    CHECK(test::max_rel_diff(g[0].neg_W, g[1].neg_W) <= 1e-13);
    CHECK(test::max_rel_diff(g[0].neg_H, g[1].neg_H) <= 1e-13);
    for (std::size_t a = 0; a < L; ++a) CHECK(g[0].neg_W(5, a) == 0.0);
  }
}
