#pragma once
/// @file linalg.hpp
/// The BLAS calls of the hot path, on preallocated row-major matrices (no allocation, no copies).
#include <string>
#include <vector>

#include <nmfx/distributed.hpp>
#include <nmfx/types.hpp>

namespace nmfx {

enum class Trans { no, yes };

/// C <- alpha * op(A) * op(B) + beta * C, through the BLAS (cblas_dgemm). C must already have the
/// right shape; throws nmfx::Error on a shape mismatch.
void gemm(const Matrix& A, Trans ta, const Matrix& B, Trans tb, Matrix& C, double alpha = 1.0, double beta = 0.0);

/// The products with X that every alternating NMF solver needs, for dense or sparse X: X H^T
/// (M x L) and W^T X (L x N), and the Gram matrices W^T W and H H^T. Dense X goes to the BLAS;
/// sparse X costs O(nnz * L), vectorised over the rank dimension, and runs on the cell's threads.
/// Every entry of a sparse product is the sum over the nonzeros in stored order, whatever the
/// processor and thread count, so results are bit-identical across both. prepare() sizes the
/// workspaces; the products then allocate nothing.
///
/// Distributed cells (distributed.hpp): prepared with a Distribution, X is this process's block
/// (i, j), W this process's rows and H its columns, and each product is PLANC's (MPI-FAUN): W^T X
/// gathers W's row block i along grid row i, multiplies it by the local block, and reduce-scatters
/// the result along grid column j, leaving this process's columns of W^T X; X H^T likewise with
/// H's column block along grid column j and a reduce-scatter along grid row i; a Gram matrix is
/// the local one summed over all processes. A solver written against these calls runs unchanged
/// on one process or many.
class DataProducts {
 public:
  void prepare(const Data& X, std::size_t rank);
  void prepare(const Data& X_block, std::size_t rank, const Distribution& distribution);
  /// out (rows of W x L) <- X H^T, for H (L x columns of H).
  void XHt(const Matrix& H, Matrix& out);
  /// out (L x rows of W) <- H X^T = (X H^T)^T: the same numbers as XHt, transposed, for
  /// solvers that keep W as W^T (no M x L transpose afterwards).
  void HXt(const Matrix& H, Matrix& out);
  /// A block of H X^T's columns (rows of X) handed to HXt_blocks' visitor: a (L x rows, rows of
  /// it lda apart) holds columns first_row .. first_row + rows of H X^T; thread is the OpenMP
  /// thread running the visit (0 .. omp_get_max_threads() - 1), for per-thread workspaces.
  struct HXtBlock {
    std::size_t first_row, rows;
    double* a;
    std::size_t lda;
    int thread;
  };
  /// H X^T by blocks of block_rows rows of X, each block handed to visit (which may change it)
  /// once. Sparse X on one process: the product is fused with the visits, each block computed
  /// into a per-thread buffer in cache and visited at once by the same thread, so that a visitor
  /// that sweeps the matching rows of W never reads the product back from memory; out is then
  /// left untouched. Otherwise HXt(H, out) first, then the blocks of out visited. Blocks run on
  /// the cell's threads when the product is large enough or parallel_visits asks for it; each
  /// block's numbers are HXt's, whatever the threads. visit runs inside an OpenMP parallel
  /// region, so it must not throw.
  void HXt_blocks(const Matrix& H, Matrix& out, std::size_t block_rows, bool parallel_visits,
                  void (*visit)(void* context, const HXtBlock& block), void* context);
  /// The same with any callable visit(const HXtBlock&), by reference (no std::function: a
  /// solver's iteration must not allocate).
  template <class Visit>
  void HXt_blocks(const Matrix& H, Matrix& out, std::size_t block_rows, bool parallel_visits, Visit& visit) {
    HXt_blocks(
        H, out, block_rows, parallel_visits,
        [](void* context, const HXtBlock& block) { (*static_cast<Visit*>(context))(block); }, &visit);
  }
  /// out (L x columns of H) <- W^T X, for W (rows of W x L).
  void WtX(const Matrix& W, Matrix& out);
  /// G (L x L) <- W^T W over all of W.
  void gram_W(const Matrix& W, Matrix& G);
  /// G (L x L) <- H H^T over all of H.
  void gram_H(const Matrix& H, Matrix& G);
  /// The sum over all processes (the identity on one).
  double sum(double local);
  void sum(double* data, std::size_t n);
  /// Null on one process.
  const Distribution* distribution() const { return distributed_ ? &distribution_ : nullptr; }

 private:
  void local_XHt(const Matrix& H, Matrix& out);
  void local_WtX(const Matrix& W, Matrix& out);
  void sparse_XHt(const Matrix& H, double* out, std::size_t rs, std::size_t cs);
  void check(const char* what, std::size_t L, bool transposed_out, const Matrix& F, const Matrix& out,
             bool factor_is_H) const;
  const Data* X_ = nullptr;
  std::vector<double> Ht_;    ///< sparse: H^T (N x L) and zero padding, so each row of X reads rows of it
  std::vector<double> tail_;  ///< sparse: W's last rows, padded (see linalg.cpp)
  std::vector<double> XtW_;   ///< sparse: X^T W (N x L rounded up to 8), transposed into W^T X
  // Distributed only.
  bool distributed_ = false;
  Distribution distribution_;
  std::vector<std::size_t> w_counts_, h_counts_;  ///< doubles per process in a row / column gather
  Matrix Wi_, Hj_, Hjt_, Q_, Vt_;                 ///< W_i, H_j, H_j^T (also (W_i^T X_ij)^T), X_ij H_j^T, W_i^T X_ij
  Matrix piece_, own_rows_;                       ///< a gathered or scattered piece; this process's rows of X H^T
};

/// <A, B> = sum_ij A_ij B_ij (same shapes).
double inner(const Matrix& A, const Matrix& B);

}  // namespace nmfx
