// f = 1/2 ||X - WH||_F^2 (Lee & Seung 2001, eq. 2, halved so the gradient has no factor 2).
// W·H (M x N) is never formed: the value comes from L x L and M x L products, and every product
// is a BLAS call (or, for sparse X, an O(nnz L) product) into a workspace sized in prepare(), so no
// call below allocates.
// Observed data (ratings, missing entries unknown): only the training entries Omega count,
// f = 1/2 sum_{(u,i) in Omega} (x_ui - (WH)_ui)^2, in O(|Omega| L) per call, row by row in parallel.
#include <algorithm>
#include <string>
#include <vector>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

using nmfx::Trans;

class Frobenius final : public nmfx::Loss {
 public:
  explicit Frobenius(const nmfx::Params&) {}

  void prepare(const nmfx::Data& X, std::size_t rank) override {
    M_ = rows_W_ = X.rows();
    N_ = cols_H_ = X.cols();
    L_ = rank;
    HHt_.resize({L_, L_});
    WtW_.resize({L_, L_});
    observed_ = X.kind == nmfx::DataKind::observed;
    if (observed_) {
      Ht_.resize(N_ * L_);
      row_sums_.resize(M_);
      return;
    }
    XHt_.resize({M_, L_});
    products_.prepare(X, rank);
  }

  // Distributed (PLANC's MPI-FAUN): the same formulas, with X H^T and W^T X for this process's rows
  // and columns and the Gram matrices summed over all processes; the value's <X H^T, W> is summed too.
  void prepare_distributed(const nmfx::Data& X_block, std::size_t rank, const nmfx::Distribution& d) override {
    if (X_block.kind == nmfx::DataKind::observed)
      throw nmfx::Error("frobenius: observed data (missing entries) cannot be distributed");
    prepare(X_block, rank);
    rows_W_ = d.layout.w_rows.size();
    cols_H_ = d.layout.h_cols.size();
    XHt_.resize({rows_W_, L_});
    products_.prepare(X_block, rank, d);
  }

  // 1/2 ||X||^2 - <X H^T, W> + 1/2 <W^T W, H H^T>.
  double value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) override {
    check(X, W, H, "value");
    if (observed_) return observed_value(X, W, H);
    products_.XHt(H, XHt_);
    products_.gram_W(W, WtW_);
    products_.gram_H(H, HHt_);
    const double f = 0.5 * X.norm_sq - products_.sum(nmfx::inner(XHt_, W)) + 0.5 * nmfx::inner(WtW_, HHt_);
    return std::max(f, 0.0);  // the identity can round to a tiny negative number near a fit
  }

  // grad_W = W (H H^T) - X H^T.
  void gradient_W(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_W");
    if (observed_) return observed_gradient(X.sparse, W.data(), H, true, pos, neg);
    products_.gram_H(H, HHt_);
    nmfx::gemm(W, Trans::no, HHt_, Trans::no, pos);
    products_.XHt(H, neg);
  }

  // grad_H = (W^T W) H - W^T X.
  void gradient_H(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, nmfx::Matrix& pos,
                  nmfx::Matrix& neg) override {
    check(X, W, H, "gradient_H");
    if (observed_) return observed_gradient(X.sparse_t, W.data(), H, false, pos, neg);
    products_.gram_W(W, WtW_);
    nmfx::gemm(WtW_, Trans::no, H, Trans::no, pos);
    products_.WtX(W, neg);
  }

 private:
  void to_rows(const nmfx::Matrix& H) {
    for (std::size_t a = 0; a < L_; ++a)
      for (std::size_t j = 0; j < N_; ++j) Ht_[j * L_ + a] = H(a, j);
  }

  // 1/2 sum over the training entries of (x_ui - w_u . h_i)^2. Per-row sums added in row order, so
  // the value does not depend on the number of threads.
  double observed_value(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    to_rows(H);
    const nmfx::SparseMatrix& S = X.sparse;
    const double* w = W.data();
    const double* ht = Ht_.data();
    const std::size_t L = L_;
    const long rows = static_cast<long>(M_);
#pragma omp parallel for schedule(dynamic, 256)
    for (long uu = 0; uu < rows; ++uu) {
      const std::size_t u = static_cast<std::size_t>(uu);
      const double* p = w + u * L;
      double s = 0.0;
      for (std::size_t k = S.indptr[u]; k < S.indptr[u + 1]; ++k) {
        const double* q = ht + static_cast<std::size_t>(S.indices[k]) * L;
        double pred = 0.0;
        for (std::size_t a = 0; a < L; ++a) pred += p[a] * q[a];
        const double d = S.values[k] - pred;
        s += d * d;
      }
      row_sums_[u] = s;
    }
    double f = 0.0;
    for (double s : row_sums_) f += s;
    return 0.5 * f;
  }

  // The gradient split over the training entries Omega, with P_Omega keeping the entries in Omega
  // and zeroing the others:
  //   W: pos = P_Omega(WH) H^T, neg = P_Omega(X) H^T   (row u: sum over the items i rated by u)
  //   H: pos = W^T P_Omega(WH), neg = W^T P_Omega(X)   (column i: sum over the users u who rated i)
  // S is X.sparse for W and X.sparse_t for H; each output row is one row of S, so rows run in
  // parallel and the result does not depend on the number of threads.
  void observed_gradient(const nmfx::SparseMatrix& S, const double* w, const nmfx::Matrix& H, bool for_W,
                         nmfx::Matrix& pos, nmfx::Matrix& neg) {
    to_rows(H);
    const double* ht = Ht_.data();
    const std::size_t L = L_;
    // For W: row u of the result, the other factor's rows are q_i (Ht). For H: column i of the
    // result, the other factor's rows are p_u (W).
    const double* own = for_W ? w : ht;
    const double* other = for_W ? ht : w;
    double* pos_data = pos.data();
    double* neg_data = neg.data();
    const std::size_t stride = for_W ? 1 : S.rows;  // entry a of the row: W's is contiguous, H's N apart
    const long rows = static_cast<long>(S.rows);
#pragma omp parallel for schedule(dynamic, 256)
    for (long rr = 0; rr < rows; ++rr) {
      const std::size_t r = static_cast<std::size_t>(rr);
      double acc_pos[256], acc_neg[256];  // L <= 256 is checked in check()
      for (std::size_t a = 0; a < L; ++a) acc_pos[a] = acc_neg[a] = 0.0;
      const double* x = own + r * L;
      for (std::size_t k = S.indptr[r]; k < S.indptr[r + 1]; ++k) {
        const double* y = other + static_cast<std::size_t>(S.indices[k]) * L;
        double pred = 0.0;
        for (std::size_t a = 0; a < L; ++a) pred += x[a] * y[a];
        const double v = S.values[k];
        for (std::size_t a = 0; a < L; ++a) {
          acc_pos[a] += pred * y[a];
          acc_neg[a] += v * y[a];
        }
      }
      // W: row r of the M x L gradient; H: column r of the L x N gradient.
      const std::size_t base = for_W ? r * L : r;
      for (std::size_t a = 0; a < L; ++a) {
        pos_data[base + a * stride] = acc_pos[a];
        neg_data[base + a * stride] = acc_neg[a];
      }
    }
  }

  void check(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H, const char* where) const {
    if (X.rows() != M_ || X.cols() != N_ || W.shape(0) != rows_W_ || W.shape(1) != L_ || H.shape(0) != L_ ||
        H.shape(1) != cols_H_)
      throw nmfx::Error(std::string("frobenius ") + where + ": X " + std::to_string(X.rows()) + "x" +
                        std::to_string(X.cols()) + ", W " + shape(W) + ", H " + shape(H) +
                        " do not match the prepared " + std::to_string(M_) + "x" + std::to_string(N_) + " at rank " +
                        std::to_string(L_));
    if (observed_ && L_ > 256)
      throw nmfx::Error(std::string("frobenius ") + where + ": observed data supports rank <= 256, got " +
                        std::to_string(L_));
  }
  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }

  std::size_t M_ = 0, N_ = 0, L_ = 0;
  std::size_t rows_W_ = 0, cols_H_ = 0;  // this process's rows of W and columns of H (M_, N_ on one process)
  bool observed_ = false;
  std::vector<double> Ht_, row_sums_;
  nmfx::Matrix HHt_, WtW_, XHt_;
  nmfx::DataProducts products_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Loss, Frobenius>("frobenius", "1.0.0",
                                                 "half the squared Frobenius norm, 1/2 ||X - WH||_F^2");
  d.params = {};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  d.distributed = true;  // dense and sparse X
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
