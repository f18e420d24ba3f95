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

/// <A, B> = sum_ij A_ij B_ij (same shapes).
double inner(const Matrix& A, const Matrix& B);

/// Number of threads the BLAS uses from now on, and what it is.
void set_blas_threads(int threads);
int blas_threads();
std::string blas_info();

}  // namespace nmfx
