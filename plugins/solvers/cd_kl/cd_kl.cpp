// Cyclic coordinate descent for KL-NMF: Hsieh & Dhillon (2011), "Fast coordinate descent methods
// with variable selection for non-negative matrix factorization", KDD, section 4. Each variable
// of W (then of H) takes a few projected Newton steps on its one-variable problem, row by row,
// with that row of WH kept current; see cd_kl_newton.hpp for the inner loop and README.md for the
// equations. Rows of W are independent given H (and columns of H given W), so they run in parallel
// and the iterates do not depend on the thread count.
#include <algorithm>
#include <string>
#include <vector>

#include <omp.h>

#include <nmfx/plugin.hpp>
#include <nmfx_common/factor_shapes.hpp>

#include "cd_kl_newton.hpp"

namespace {

using nmfx::Matrix;

class CdKl final : public nmfx::Solver {
 public:
  explicit CdKl(const nmfx::Params& p) {
    settings_.newton_steps = static_cast<int>(p.integer("newton_steps"));
    settings_.newton_tol = p.real("newton_tol");
    settings_.floor = p.real("floor");
  }

  void prepare(const nmfx::Problem& problem, Matrix& W, Matrix& H) override {
    const std::size_t M = problem.X.rows(), N = problem.X.cols(), L = problem.rank;
    if (problem.loss_name != "kl")
      throw nmfx::Error("cd_kl: loss '" + problem.loss_name + "' is not supported; cd_kl minimizes 'kl' only");
    if (problem.X.kind == nmfx::DataKind::observed)
      throw nmfx::Error("cd_kl: X has missing entries (observed data); the divergence needs all of X");
    nmfx_common::check_factor_shapes("cd_kl", problem, W, H);
    X_ = &problem.X;
    sparse_ = X_->kind == nmfx::DataKind::sparse;
    if (sparse_ && (X_->sparse_t.rows != N || X_->sparse_t.nnz() != X_->sparse.nnz()))
      throw nmfx::Error("cd_kl: the sparse X has no transpose (X.sparse_t); the framework's finalize() fills it");
    threads_ = std::max(1, problem.threads);
    Wt_ = Matrix::from_shape({L, M});
    Ht_ = Matrix::from_shape({N, L});
    colsum_.assign(L, 0.0);
    // Per thread: the row of WH (y), and for dense X a column of X, for sparse X the other factor
    // gathered at the row's nonzeros (L x nnz).
    std::size_t longest = std::max(M, N), gathered = 0;
    if (sparse_) {
      longest = std::max(max_row(X_->sparse), max_row(X_->sparse_t));
      gathered = L * longest;
    }
    y_stride_ = std::max<std::size_t>(longest, 1);
    g_stride_ = sparse_ ? std::max<std::size_t>(gathered, 1) : std::max<std::size_t>(M, 1);
    y_.assign(static_cast<std::size_t>(threads_) * y_stride_, 0.0);
    g_.assign(static_cast<std::size_t>(threads_) * g_stride_, 0.0);
    steps_W_ = steps_H_ = 0;
  }

  void step(Matrix& W, Matrix& H) override {
    if (!X_) throw nmfx::Error("cd_kl: step() called before prepare()");
    const std::size_t M = W.shape(0), L = W.shape(1), N = H.shape(1);

    // W, row by row, given H: colsum_r = sum_j H_rj.
    for (std::size_t r = 0; r < L; ++r) {
      double s = 0.0;
      for (std::size_t j = 0; j < N; ++j) s += H(r, j);
      colsum_[r] = s;
    }
    steps_W_ = sparse_ ? sparse_rows(X_->sparse, W.data(), H.data(), N, L) : dense_W(W.data(), H.data(), M, N, L);

    // H, column by column, given the new W, on the transposed problem X^T ~ H^T W^T: the variables
    // of column j of H are row j of H^T, and W^T holds the other factor's rows contiguously.
    std::fill(colsum_.begin(), colsum_.end(), 0.0);
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t r = 0; r < L; ++r) {
        Wt_(r, i) = W(i, r);
        colsum_[r] += W(i, r);
      }
    for (std::size_t r = 0; r < L; ++r)
      for (std::size_t j = 0; j < N; ++j) Ht_(j, r) = H(r, j);
    steps_H_ = sparse_ ? sparse_rows(X_->sparse_t, Ht_.data(), Wt_.data(), M, L) : dense_H(Ht_.data(), M, N, L);
    for (std::size_t r = 0; r < L; ++r)
      for (std::size_t j = 0; j < N; ++j) H(r, j) = Ht_(j, r);
  }

  nmfx::Values stats() const override {
    return {{"newton_steps_W", static_cast<double>(steps_W_)}, {"newton_steps_H", static_cast<double>(steps_H_)}};
  }

 private:
  // Dense X, the rows of W: x = row i of X, G = H (L x N) itself.
  long long dense_W(double* W, const double* H, std::size_t M, std::size_t N, std::size_t L) {
    const double* X = X_->dense.data();
    long long steps = 0;
    const std::ptrdiff_t rows = static_cast<std::ptrdiff_t>(M);
#pragma omp parallel num_threads(threads_) if (threads_ > 1 && M * N * L >= 65536) reduction(+ : steps)
    {
      double* y = y_.data() + static_cast<std::size_t>(omp_get_thread_num()) * y_stride_;
#pragma omp for schedule(static)
      for (std::ptrdiff_t ii = 0; ii < rows; ++ii) {
        const std::size_t i = static_cast<std::size_t>(ii);
        steps += nmfx_cd_kl::sweep(W + i * L, X + i * N, H, colsum_.data(), N, L, settings_, y);
      }
    }
    return steps;
  }

  // Dense X, the columns of H (rows of H^T): x = column j of X, gathered; G = W^T (L x M). Each
  // thread takes a contiguous range of columns, so the cache lines of X it gathers from serve
  // several consecutive columns.
  long long dense_H(double* Ht, std::size_t M, std::size_t N, std::size_t L) {
    const double* X = X_->dense.data();
    const double* Wt = Wt_.data();
    long long steps = 0;
    const std::ptrdiff_t cols = static_cast<std::ptrdiff_t>(N);
#pragma omp parallel num_threads(threads_) if (threads_ > 1 && M * N * L >= 65536) reduction(+ : steps)
    {
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      double* y = y_.data() + t * y_stride_;
      double* x = g_.data() + t * g_stride_;
#pragma omp for schedule(static)
      for (std::ptrdiff_t jj = 0; jj < cols; ++jj) {
        const std::size_t j = static_cast<std::size_t>(jj);
        for (std::size_t i = 0; i < M; ++i) x[i] = X[i * N + j];
        steps += nmfx_cd_kl::sweep(Ht + j * L, x, Wt, colsum_.data(), M, L, settings_, y);
      }
    }
    return steps;
  }

  // Sparse X: the rows of A (rows x L) against the CSR S, whose columns index the rows of the
  // other factor F, stored L x width. Only the nonzeros enter the derivatives (zeros of X add only
  // the column sums), so a sweep costs O(nnz of the row * L * Newton steps).
  long long sparse_rows(const nmfx::SparseMatrix& S, double* A, const double* F, std::size_t width, std::size_t L) {
    long long steps = 0;
    const std::ptrdiff_t rows = static_cast<std::ptrdiff_t>(S.rows);
#pragma omp parallel num_threads(threads_) if (threads_ > 1 && S.nnz() * L >= 65536) reduction(+ : steps)
    {
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      double* y = y_.data() + t * y_stride_;
      double* G = g_.data() + t * g_stride_;
#pragma omp for schedule(dynamic, 32)
      for (std::ptrdiff_t ii = 0; ii < rows; ++ii) {
        const std::size_t i = static_cast<std::size_t>(ii);
        const std::size_t begin = S.indptr[i], n = S.indptr[i + 1] - begin;
        const std::uint32_t* idx = S.indices.data() + begin;
        for (std::size_t r = 0; r < L; ++r) {
          const double* f = F + r * width;
          double* g = G + r * n;
          for (std::size_t k = 0; k < n; ++k) g[k] = f[idx[k]];
        }
        steps += nmfx_cd_kl::sweep(A + i * L, S.values.data() + begin, G, colsum_.data(), n, L, settings_, y);
      }
    }
    return steps;
  }

  static std::size_t max_row(const nmfx::SparseMatrix& S) {
    std::size_t m = 0;
    for (std::size_t i = 0; i < S.rows; ++i) m = std::max<std::size_t>(m, S.indptr[i + 1] - S.indptr[i]);
    return m;
  }

  nmfx_cd_kl::Settings settings_;
  const nmfx::Data* X_ = nullptr;
  bool sparse_ = false;
  int threads_ = 1;
  Matrix Wt_, Ht_;              ///< W^T (L x M) and H^T (N x L) for the H update
  std::vector<double> colsum_;  ///< sums of the fixed factor's rows (H) or columns (W)
  std::size_t y_stride_ = 1, g_stride_ = 1;
  std::vector<double> y_, g_;  ///< per thread: a row of WH; a column of X or the gathered factor
  long long steps_W_ = 0, steps_H_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, CdKl>(
      "cd_kl", "1.0.0", "Hsieh & Dhillon (2011) cyclic coordinate descent with projected Newton steps for KL-NMF");
  d.params = {
      nmfx::param_int("newton_steps", 2, "projected Newton steps per variable per sweep at most (authors' code: 2)",
                      1.0),
      nmfx::param_real("newton_tol", 0.5,
                       "a variable's Newton steps stop once |change| < newton_tol * |old value| (authors' code: 0.5)",
                       0.0),
      nmfx::param_real("floor", 1e-15, "lower bound of the projection, keeping WH > 0 (authors' code: 1e-15)", 0.0),
  };
  d.losses = {"kl"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
