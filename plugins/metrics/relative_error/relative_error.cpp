// ||X - WH||_F / ||X||_F computed exactly, in row blocks: the trace identity used by the Frobenius
// loss cancels catastrophically once the error falls below ~1e-8 of ||X||, and forming all of
// W·H would need M x N memory. A block of at most 256 rows costs O(256 N) memory; the flops are
// those of one W·H, O(MNL).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <xtensor/xmanipulation.hpp>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

namespace {

constexpr std::size_t block_rows = 256;

class RelativeError final : public nmfx::Metric {
 public:
  explicit RelativeError(const nmfx::Params&) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    if (!(c.X.norm_sq > 0.0)) throw nmfx::Error("relative_error: ||X||_F = 0, so the relative error is undefined");
    if (!c.distribution || !c.distribution->distributed())
      return {{"relative_error", std::sqrt(squared_error(c.X, c.W, c.H) / c.X.norm_sq)}};
    // Distributed: this process's block X_ij against W_i H_j (W's row block i gathered along the
    // grid row, H's column block j along the grid column), the blocks' squares summed.
    const nmfx::Distribution& d = *c.distribution;
    const nmfx::Layout& l = d.layout;
    const std::size_t L = c.W.shape(1);
    using G = nmfx::Communicator::Group;
    std::vector<std::size_t> counts;
    for (const nmfx::Range& r : l.w_rows_in_row()) counts.push_back(r.size() * L);
    Wi_.resize({l.x_rows.size(), L});
    d.comm->gather(G::row, c.W.data(), counts, Wi_.data());
    counts.clear();
    for (const nmfx::Range& r : l.h_cols_in_column()) counts.push_back(r.size() * L);
    nmfx::Matrix piece = xt::transpose(c.H), Hjt({l.x_cols.size(), L});
    d.comm->gather(G::column, piece.data(), counts, Hjt.data());
    Hj_ = xt::transpose(Hjt);
    const double sum = d.sum(squared_error(c.X, Wi_, Hj_));
    return {{"relative_error", std::sqrt(sum / c.X.norm_sq)}};
  }

 private:
  // ||X - WH||_F^2 for this X (or block), WH formed block_rows rows at a time.
  double squared_error(const nmfx::Data& X, const nmfx::Matrix& W, const nmfx::Matrix& H) {
    const bool sparse = X.kind == nmfx::DataKind::sparse;
    const std::size_t M = X.rows(), N = X.cols(), L = W.shape(1);
    if (W.shape(0) != M || H.shape(0) != L || H.shape(1) != N)
      throw nmfx::Error("relative_error: W " + shape(W) + " and H " + shape(H) + " do not fit X " + std::to_string(M) +
                        "x" + std::to_string(N));
    const double* x = sparse ? nullptr : X.dense.data();
    const double* w = W.data();
    double sum = 0.0;
    for (std::size_t r0 = 0; r0 < M; r0 += block_rows) {
      const std::size_t rows = std::min(block_rows, M - r0);
      if (W_block_.shape(0) != rows || W_block_.shape(1) != L) W_block_.resize({rows, L});
      if (WH_block_.shape(0) != rows || WH_block_.shape(1) != N) WH_block_.resize({rows, N});
      std::copy(w + r0 * L, w + (r0 + rows) * L, W_block_.data());
      nmfx::gemm(W_block_, nmfx::Trans::no, H, nmfx::Trans::no, WH_block_);
      double* wh = WH_block_.data();
      double block = 0.0;
      if (sparse) {
        const nmfx::SparseMatrix& S = X.sparse;
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t k = S.indptr[r0 + i]; k < S.indptr[r0 + i + 1]; ++k) wh[i * N + S.indices[k]] -= S.values[k];
        for (std::size_t k = 0; k < rows * N; ++k) block += wh[k] * wh[k];
      } else {
        const double* xb = x + r0 * N;
        for (std::size_t k = 0; k < rows * N; ++k) {
          const double d = xb[k] - wh[k];
          block += d * d;
        }
      }
      sum += block;
    }
    return sum;
  }

  static std::string shape(const nmfx::Matrix& A) {
    return std::to_string(A.shape(0)) + "x" + std::to_string(A.shape(1));
  }
  // Kept between checkpoints so that only the first evaluation (and a shorter last block) allocates.
  nmfx::Matrix W_block_, WH_block_;
  nmfx::Matrix Wi_, Hj_;  // distributed: W's row block and H's column block of this process's X block
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, RelativeError>("relative_error", "1.0.0",
                                                       "||X - WH||_F / ||X||_F, computed exactly in row blocks");
  d.params = {};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
