// Generalized Kullback-Leibler divergence D(X || WH) = sum X log(X / WH) - X + WH
// (Lee & Seung 2001, eq. 3), with the gradient split of section 5 (eqs 8-9).
// Dense X: W·H is formed by one GEMM into an M x N workspace sized in prepare(); the ratio
// X / WH then overwrites that same workspace (value() needs WH, the gradients only the ratio),
// so the loss holds one M x N buffer, not two. Elementwise work is plain loops on contiguous data.
// Sparse X: WH is needed only where X is nonzero (X log(X / WH) - X vanishes elsewhere, and the
// sum of all of WH is sum_a (sum_i W_ia)(sum_j H_aj)), so a value or a gradient costs
// O(nnz L + (M + N) L) time and O(nnz + (M + N) L) memory, never M x N. The nonzero loops run on
// OpenMP threads, each output row written by one thread, so results do not depend on the threads.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

using nmfx::Trans;

class Kl final : public nmfx::Loss {
 public:
  explicit Kl(const nmfx::Params&) {}

  void prepare(const nmfx::Data& X, std::size_t rank) override {
    M_ = X.rows();
    N_ = X.cols();
    L_ = rank;
    sums_.assign(L_, 0.0);
    sparse_ = X.kind == nmfx::DataKind::sparse;
    if (X.kind == nmfx::DataKind::observed)
      throw nmfx::Error("kl: X has missing entries (observed data); the divergence needs all of X");
    if (!sparse_) {
      buf_.resize({M_, N_});
      return;
    }
    // Sparse: H^T (N x L), so that (WH)_ij = W_i: . (H^T)_j: reads two contiguous rows; and X^T's
    // CSR, so that W^T R runs over the columns of X with each (WH)_ij computed where it is used.
    buf_ = nmfx::Matrix();
    const nmfx::SparseMatrix& S = X.sparse;
    const nmfx::SparseMatrix& T = X.sparse_t;
    if (T.rows != N_ || T.cols != M_ || T.nnz() != S.nnz())
      throw nmfx::Error("kl: the sparse X has no transpose (X.sparse_t); the framework's finalize() fills it");
    Ht_ = nmfx::Matrix::from_shape({N_, L_});
    XtW_ = nmfx::Matrix::from_shape({N_, L_});
    row_sums_.assign(M_, 0.0);
  }

  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    check(X, W, H, "value");
    if (sparse_) return sparse_value(X, W, H);
    nmfx::gemm(W, Trans::no, H, Trans::no, buf_);
    const double* x = X.dense.data();
    const double* wh = buf_.data();
    const std::size_t size = buf_.size();
    double d = 0.0;
    for (std::size_t k = 0; k < size; ++k) {
      if (x[k] == 0.0) {
        d += wh[k];  // 0 log 0 = 0
      } else if (wh[k] == 0.0) {
        return std::numeric_limits<double>::infinity();
      } else {
        d += x[k] * std::log(x[k] / wh[k]) - x[k] + wh[k];
      }
    }
    return d;
  }

  // dD/dW_ia = sum_mu H_amu - sum_mu (X / WH)_imu H_amu: pos = row sums of H on every row,
  // neg = (X / WH) H^T.
  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_W");
    if (sparse_) {
      sparse_ratio_times_Ht(X, W, H, neg);
    } else {
      ratio(X, W, H);
      nmfx::gemm(buf_, Trans::no, H, Trans::yes, neg);
    }
    const double* h = H.data();
    for (std::size_t a = 0; a < L_; ++a) {
      double s = 0.0;
      for (std::size_t j = 0; j < N_; ++j) s += h[a * N_ + j];
      sums_[a] = s;
    }
    double* p = pos.data();
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) p[i * L_ + a] = sums_[a];
  }

  // dD/dH_amu = sum_i W_ia - sum_i W_ia (X / WH)_imu: pos = column sums of W on every column,
  // neg = W^T (X / WH).
  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_H");
    if (sparse_) {
      sparse_Wt_ratio(X, W, H, neg);  // from the current W: MU has just updated it
    } else {
      ratio(X, W, H);  // from the current W: MU has just updated it
      nmfx::gemm(W, Trans::yes, buf_, Trans::no, neg);
    }
    const double* w = W.data();
    std::fill(sums_.begin(), sums_.end(), 0.0);
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) sums_[a] += w[i * L_ + a];
    double* p = pos.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) p[a * N_ + j] = sums_[a];
  }

 private:
  // Sparse X. Ht_ <- H^T.
  void transpose_H(const nmfx::Matrix& H) {
    const double* h = H.data();
    double* ht = Ht_.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) ht[j * L_ + a] = h[a * N_ + j];
  }

  // sum over nonzeros of X log(X / WH) - X, plus sum_ij (WH)_ij = sum_a (sum_i W_ia)(sum_j H_aj).
  // Each row's part is summed by one thread into row_sums_, and the rows in order after, so the
  // value does not depend on the number of threads.
  double sparse_value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    transpose_H(H);
    const nmfx::SparseMatrix& S = X.sparse;
    const double* w = W.data();
    const double* ht = Ht_.data();
    double* rs = row_sums_.data();
    const std::size_t L = L_;
    const std::ptrdiff_t M = static_cast<std::ptrdiff_t>(M_);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t ii = 0; ii < M; ++ii) {
      const std::size_t i = static_cast<std::size_t>(ii);
      const double* wi = w + i * L;
      double d = 0.0;
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k) {
        const double x = S.values[k];
        if (x == 0.0) continue;  // an explicitly stored zero: 0 log 0 = 0
        const double* hj = ht + static_cast<std::size_t>(S.indices[k]) * L;
        double wh = 0.0;
        for (std::size_t a = 0; a < L; ++a) wh += wi[a] * hj[a];
        d += wh == 0.0 ? std::numeric_limits<double>::infinity() : x * std::log(x / wh) - x;
      }
      rs[i] = d;
    }
    double d = 0.0;
    for (std::size_t i = 0; i < M_; ++i) d += rs[i];
    if (std::isinf(d)) return d;
    std::fill(sums_.begin(), sums_.end(), 0.0);
    for (std::size_t i = 0; i < M_; ++i)
      for (std::size_t a = 0; a < L_; ++a) sums_[a] += w[i * L_ + a];
    const double* h = H.data();
    for (std::size_t a = 0; a < L_; ++a) {
      double row = 0.0;
      for (std::size_t j = 0; j < N_; ++j) row += h[a * N_ + j];
      d += sums_[a] * row;
    }
    return d;
  }

  // One nonzero's contribution to a row of R H^T or R^T W: out += (x / (u . v)) * v, where u . v
  // is (WH)_ij, computed here from the two rows that the product reads anyway (so the ratio is
  // never stored, and each gradient is one pass over the nonzeros). x = 0 (an explicitly stored
  // zero) contributes nothing; x > 0 over WH = 0 gives +inf, as in the dense case.
  static void add_ratio_times(double* out, double x, const double* u, const double* v, std::size_t L) {
    if (x == 0.0) return;
    double wh = 0.0;
    for (std::size_t a = 0; a < L; ++a) wh += u[a] * v[a];
    const double r = x / wh;
    for (std::size_t a = 0; a < L; ++a) out[a] += r * v[a];
  }

  // neg (M x L) <- R H^T: row i of neg is the sum over the nonzeros (i, j) of R_ij H_:j.
  void sparse_ratio_times_Ht(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& neg) {
    transpose_H(H);
    const nmfx::SparseMatrix& S = X.sparse;
    const double* w = W.data();
    const double* ht = Ht_.data();
    double* out = neg.data();
    const std::size_t L = L_;
    const std::ptrdiff_t M = static_cast<std::ptrdiff_t>(M_);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t ii = 0; ii < M; ++ii) {
      const std::size_t i = static_cast<std::size_t>(ii);
      double* row = out + i * L;
      for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
      for (std::size_t k = S.indptr[i]; k < S.indptr[i + 1]; ++k)
        add_ratio_times(row, S.values[k], w + i * L, ht + static_cast<std::size_t>(S.indices[k]) * L, L);
    }
  }

  // neg (L x N) <- W^T R, computed as its transpose R^T W (N x L): row j sums R_ij W_i: over the
  // nonzeros of column j of X, read through X^T's CSR, then transposed into neg. (WH)_ij is the
  // same dot product, in the same order, as in the row pass above.
  void sparse_Wt_ratio(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& neg) {
    transpose_H(H);
    const nmfx::SparseMatrix& T = X.sparse_t;
    const double* w = W.data();
    const double* ht = Ht_.data();
    const std::ptrdiff_t N = static_cast<std::ptrdiff_t>(N_);
    const std::size_t L = L_;
    double* r = XtW_.data();
#pragma omp parallel for schedule(dynamic, 64)
    for (std::ptrdiff_t jj = 0; jj < N; ++jj) {
      const std::size_t j = static_cast<std::size_t>(jj);
      double* row = r + j * L;
      for (std::size_t a = 0; a < L; ++a) row[a] = 0.0;
      for (std::size_t k = T.indptr[j]; k < T.indptr[j + 1]; ++k)
        add_ratio_times(row, T.values[k], ht + j * L, w + static_cast<std::size_t>(T.indices[k]) * L, L);
    }
    double* o = neg.data();
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) o[a * N_ + j] = r[j * L_ + a];
  }

  // buf_ <- X / (W H), with 0 / 0 := 0 (a zero of X contributes nothing to the gradient's
  // negative part); X > 0 over WH = 0 gives +inf, as the divergence itself is +inf there.
  void ratio(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    nmfx::gemm(W, Trans::no, H, Trans::no, buf_);
    const double* x = X.dense.data();
    double* r = buf_.data();
    const std::size_t size = buf_.size();
    for (std::size_t k = 0; k < size; ++k) r[k] = x[k] == 0.0 ? 0.0 : x[k] / r[k];
  }

  void check(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, const char* where) const {
    if (X.rows() != M_ || X.cols() != N_ || W.shape(0) != M_ || W.shape(1) != L_ || H.shape(0) != L_ ||
        H.shape(1) != N_)
      throw nmfx::Error(std::string("kl ") + where + ": X " + std::to_string(X.rows()) + "x" +
                        std::to_string(X.cols()) + ", W " + shape(W) + ", H " +
                        shape(H) + " do not match the prepared " + std::to_string(M_) + "x" +
                        std::to_string(N_) + " at rank " + std::to_string(L_));
  }
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::size_t M_ = 0, N_ = 0, L_ = 0;
  bool sparse_ = false;
  nmfx::Matrix buf_;          // dense X: W H, then X / (W H)
  std::vector<double> sums_;  // row sums of H or column sums of W
  // Sparse X only.
  nmfx::Matrix Ht_, XtW_;               // H^T (N x L); R^T W (N x L)
  std::vector<double> row_sums_;        // per-row parts of the value
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Loss, Kl>("kl", "1.0.0",
                                          "generalized Kullback-Leibler divergence D(X || WH)");
  d.params = {};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
