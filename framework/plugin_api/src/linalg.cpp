#include <algorithm>

#include <cblas.h>
#include <omp.h>

#include <nmfx/linalg.hpp>

namespace nmfx {

void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha, double beta) {
  const std::size_t m = ta == Trans::no ? A.shape(0) : A.shape(1);
  const std::size_t k = ta == Trans::no ? A.shape(1) : A.shape(0);
  const std::size_t kb = tb == Trans::no ? B.shape(0) : B.shape(1);
  const std::size_t n = tb == Trans::no ? B.shape(1) : B.shape(0);
  if (k != kb || C.shape(0) != m || C.shape(1) != n)
    throw Error("gemm: shapes do not match (" + std::to_string(m) + "x" + std::to_string(k) + " times " +
                std::to_string(kb) + "x" + std::to_string(n) + " into " + std::to_string(C.shape(0)) + "x" +
                std::to_string(C.shape(1)) + ")");
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, ta == Trans::no ? CblasNoTrans : CblasTrans,
              tb == Trans::no ? CblasNoTrans : CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, A.data(), static_cast<int>(A.shape(1)), B.data(),
              static_cast<int>(B.shape(1)), beta, C.data(), static_cast<int>(C.shape(1)));
}

double inner(const Matrix& A, const Matrix& B) {
  if (A.shape() != B.shape()) throw Error("inner: shapes do not match");
  return cblas_ddot(static_cast<int>(A.size()), A.data(), 1, B.data(), 1);
}

}  // namespace nmfx

namespace nmfx {

void DataProducts::prepare(const Data& X, std::size_t rank) {
  if (X.kind == DataKind::observed)
    throw Error("DataProducts: X has missing entries (observed data); a product with X is not defined");
  X_ = &X;
  if (X.kind == DataKind::sparse) {
    Ht_ = Matrix::from_shape({X.cols(), rank});
    XtW_ = Matrix::from_shape({X.cols(), rank});
  }
}

void DataProducts::XHt(const Matrix& H, Matrix& out) {
  const Data& X = *X_;
  if (X.kind == DataKind::dense) return gemm(X.dense, Trans::no, H, Trans::yes, out);
  const std::size_t L = H.shape(0), N = H.shape(1), M = X.rows();
  if (N != X.cols() || out.shape(0) != M || out.shape(1) != L || Ht_.shape(1) != L)
    throw Error("DataProducts::XHt: shapes do not match the prepared problem");
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) Ht_(j, a) = H(a, j);
  const SparseMatrix& S = X.sparse;
  const double* ht = Ht_.data();
  double* o = out.data();
#pragma omp parallel for schedule(dynamic, 64)
  for (std::size_t i = 0; i < M; ++i) {
    double* row = o + i * L;
    for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
    for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
      const double x = S.values[k];
      const double* h = ht + static_cast<std::size_t>(S.indices[k]) * L;
      for (std::size_t a = 0; a < L; ++a) row[a] += x * h[a];
    }
  }
}

void DataProducts::WtX(const Matrix& W, Matrix& out) {
  const Data& X = *X_;
  if (X.kind == DataKind::dense) return gemm(W, Trans::yes, X.dense, Trans::no, out);
  const std::size_t M = W.shape(0), L = W.shape(1), N = X.cols();
  if (M != X.rows() || out.shape(0) != L || out.shape(1) != N || XtW_.shape(1) != L)
    throw Error("DataProducts::WtX: shapes do not match the prepared problem");
  // (W^T X)^T = X^T W: row j of X^T gathers rows of W, contiguous.
  const SparseMatrix& T = X.sparse_t;
  const double* w = W.data();
  double* r = XtW_.data();
#pragma omp parallel for schedule(dynamic, 64)
  for (std::size_t j = 0; j < N; ++j) {
    double* row = r + j * L;
    for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
    for (std::size_t k = T.indptr[j]; k < T.indptr[j + 1]; ++k) {
      const double x = T.values[k];
      const double* wi = w + static_cast<std::size_t>(T.indices[k]) * L;
      for (std::size_t a = 0; a < L; ++a) row[a] += x * wi[a];
    }
  }
  for (std::size_t a = 0; a < L; ++a)
    for (std::size_t j = 0; j < N; ++j) out(a, j) = XtW_(j, a);
}

}  // namespace nmfx
