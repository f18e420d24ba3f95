// Alternating nonnegative least squares, each block solved exactly by block principal pivoting
// (Kim & Park 2011, "Fast nonnegative matrix factorization: an active-set-like method and
// comparisons", SIAM J. Sci. Comput. 33(6)): W <- argmin_{W>=0} f(W, H), then H <- argmin_{H>=0} f(W, H),
// each a many-right-hand-side NNLS sharing one Gram matrix (see nnls_bpp.hpp).
#include <algorithm>
#include <string>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx_common/diagonal_scaling.hpp>
#include <nmfx_common/factor_shapes.hpp>

#include "nnls_bpp.hpp"

namespace {

using nmfx::Matrix;
using nmfx::Trans;

class AnlsBpp final : public nmfx::Solver {
 public:
  explicit AnlsBpp(const nmfx::Params& p) : diagonal_scaling_(p.boolean("diagonal_scaling")) {}

  void prepare(const nmfx::Problem& problem, Matrix& W, Matrix& H) override {
    const std::size_t M = problem.rows_of_W(), N = problem.cols_of_H(), L = problem.rank;
    if (problem.loss_name != "frobenius")
      throw nmfx::Error("anls_bpp: loss '" + problem.loss_name + "' is not supported (only frobenius)");
    nmfx_common::check_factor_shapes("anls_bpp", problem, W, H);
    X_ = &problem.X;
    penalty_ = problem.penalty;
    if (problem.distribution)
      products_.prepare(problem.X, L, *problem.distribution);
    else
      products_.prepare(problem.X, L);
    HHt_ = Matrix::from_shape({L, L});
    WtW_ = Matrix::from_shape({L, L});
    XHt_ = Matrix::from_shape({M, L});
    WtX_ = Matrix::from_shape({L, N});
    XtW_ = Matrix::from_shape({N, L});
    Ht_ = Matrix::from_shape({N, L});
    nnls_.prepare(L, std::max(M, N));
    scaling_.prepare(L, problem.distribution);
    prepared_ = true;
  }

  void step(Matrix& W, Matrix& H) override {
    if (!prepared_) throw nmfx::Error("anls_bpp: step() called before prepare()");
    const std::size_t L = W.shape(1), N = H.shape(1);
    // W first (the paper's ANLS order: only H needs an initial value). Row i of W solves
    // min_{w>=0} 1/2 w^T (HH^T + l2 I) w - (XH^T_i - l1)^T w, warm-started from W's passive sets.
    products_.gram_H(H, HHt_);
    products_.XHt(H, XHt_);
    shift(HHt_, XHt_, penalty_.l1_W, penalty_.l2_W);
    stats_W_ = nnls_.solve(HHt_, XHt_, W);
    if (diagonal_scaling_) scaling_.normalize_W(W, H);

    // Column j of H, i.e. row j of H^T, solves the same with W^T W and (W^T X)^T.
    products_.gram_W(W, WtW_);
    products_.WtX(W, WtX_);
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t j = 0; j < N; ++j) {
        XtW_(j, a) = WtX_(a, j);
        Ht_(j, a) = H(a, j);
      }
    shift(WtW_, XtW_, penalty_.l1_H, penalty_.l2_H);
    stats_H_ = nnls_.solve(WtW_, XtW_, Ht_);
    for (std::size_t a = 0; a < L; ++a)
      for (std::size_t j = 0; j < N; ++j) H(a, j) = Ht_(j, a);
    if (diagonal_scaling_) scaling_.normalize_H(W, H);
  }

  nmfx::Values stats() const override {
    return {{"bpp_iter_W", static_cast<double>(stats_W_.iterations)},
            {"bpp_iter_H", static_cast<double>(stats_H_.iterations)},
            {"cholesky_W", static_cast<double>(stats_W_.factorizations)},
            {"cholesky_H", static_cast<double>(stats_H_.factorizations)},
            {"bpp_failed", static_cast<double>(stats_W_.failed + stats_H_.failed)},
            {"bpp_jittered", static_cast<double>(stats_W_.jittered + stats_H_.jittered)},
            {"nnls_fallback", static_cast<double>(stats_W_.fallbacks + stats_H_.fallbacks)},
            {"nnls_unconverged", static_cast<double>(stats_W_.unconverged + stats_H_.unconverged)}};
  }

 private:
  // Elastic net: l2 on the Gram diagonal, l1 off the right-hand sides (exact for x >= 0).
  static void shift(Matrix& C, Matrix& B, double l1, double l2) {
    if (l2 != 0)
      for (std::size_t a = 0; a < C.shape(0); ++a) C(a, a) += l2;
    if (l1 != 0) {
      double* b = B.data();
      for (std::size_t k = 0; k < B.size(); ++k) b[k] -= l1;
    }
  }

  const nmfx::Data* X_ = nullptr;
  nmfx::Penalty penalty_;
  nmfx::DataProducts products_;
  Matrix HHt_, WtW_, XHt_, WtX_, XtW_, Ht_;
  nmfx_anls_bpp::NnlsBpp nnls_;
  nmfx_anls_bpp::NnlsBpp::Stats stats_W_, stats_H_;
  bool diagonal_scaling_;
  nmfx_common::DiagonalScaling scaling_;
  bool prepared_ = false;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, AnlsBpp>(
      "anls_bpp", "1.0.0",
      "alternating nonnegative least squares, each block solved exactly by block principal pivoting (Kim & Park 2011)");
  d.params = {nmfx_common::diagonal_scaling_param()};
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  d.distributed = true;  // each row of W and column of H is its own NNLS, given the Gram matrices
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
