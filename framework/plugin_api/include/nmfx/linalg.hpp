#pragma once
/// @file linalg.hpp
/// The BLAS calls of the hot path, on preallocated row-major matrices (no allocation, no copies).
#include <string>

#include <nmfx/types.hpp>

namespace nmfx {

enum class Trans { no, yes };

/// C <- alpha * op(A) * op(B) + beta * C, through the BLAS (cblas_dgemm). C must already have the
/// right shape; throws nmfx::Error on a shape mismatch.
void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha = 1.0,
          double beta = 0.0);

/// The two products with X that every alternating NMF solver needs, for dense or sparse X:
/// X H^T (M x L) and W^T X (L x N). Dense X goes to the BLAS; sparse X costs O(nnz * L) and runs
/// on the cell's threads (the host sets them before the cell runs). prepare() sizes the workspaces; the products then allocate nothing.
class DataProducts {
 public:
  void prepare(const Data& X, std::size_t rank);
  /// out (M x L) <- X H^T, for H (L x N).
  void XHt(const Matrix& H, Matrix& out);
  /// out (L x N) <- W^T X, for W (M x L).
  void WtX(const Matrix& W, Matrix& out);

 private:
  const Data* X_ = nullptr;
  Matrix Ht_;  ///< sparse: H^T (N x L), so each row of X reads contiguous rows of it
  Matrix XtW_; ///< sparse: (X^T W) (N x L), transposed into the L x N result
};

/// <A, B> = sum_ij A_ij B_ij (same shapes).
double inner(const Matrix& A, const Matrix& B);

}  // namespace nmfx
