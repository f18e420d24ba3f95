#pragma once
/// @file linalg.hpp
/// The BLAS calls of the hot path, on preallocated row-major matrices (no allocation, no copies).
#include <string>
#include <vector>

#include <nmfx/types.hpp>

namespace nmfx {

enum class Trans { no, yes };

/// C <- alpha * op(A) * op(B) + beta * C, through the BLAS (cblas_dgemm). C must already have the
/// right shape; throws nmfx::Error on a shape mismatch.
void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha = 1.0, double beta = 0.0);

/// The two products with X that every alternating NMF solver needs, for dense or sparse X:
/// X H^T (M x L) and W^T X (L x N). Dense X goes to the BLAS; sparse X costs O(nnz * L), vectorised
/// over the rank dimension, and runs on the cell's threads. Every entry of a sparse
/// product is the sum over the nonzeros in stored order, whatever the processor and thread count,
/// so results are bit-identical across both. prepare() sizes the workspaces; the products then
/// allocate nothing.
class DataProducts {
 public:
  void prepare(const Data& X, std::size_t rank);
  /// out (M x L) <- X H^T, for H (L x N).
  void XHt(const Matrix& H, Matrix& out);
  /// out (L x M) <- H X^T = (X H^T)^T, for H (L x N): the same numbers as XHt, transposed, for
  /// solvers that keep W as W^T (no M x L transpose afterwards).
  void HXt(const Matrix& H, Matrix& out);
  /// out (L x N) <- W^T X, for W (M x L).
  void WtX(const Matrix& W, Matrix& out);

 private:
  void sparse_XHt(const Matrix& H, double* out, std::size_t rs, std::size_t cs);
  void check(const char* what, std::size_t L, bool transposed_out, const Matrix& F, const Matrix& out,
             bool factor_is_H) const;
  const Data* X_ = nullptr;
  std::vector<double> Ht_;    ///< sparse: H^T (N x L) and zero padding, so each row of X reads rows of it
  std::vector<double> tail_;  ///< sparse: W's last rows, padded (see linalg.cpp)
  std::vector<double> XtW_;   ///< sparse: X^T W (N x L rounded up to 8), transposed into W^T X
};

/// <A, B> = sum_ij A_ij B_ij (same shapes).
double inner(const Matrix& A, const Matrix& B);

}  // namespace nmfx
