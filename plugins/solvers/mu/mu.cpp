// Lee & Seung multiplicative updates for any loss, as diagonally rescaled gradient descent
// (Lee & Seung 2001, section 5): W <- W * neg / pos with grad = pos - neg, so eq. 4 (Frobenius)
// and eq. 5 (KL) are one loop, and a new loss needs only its gradient split.
#include <algorithm>
#include <string>

#include <nmfx/plugin.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace {

class Mu final : public nmfx::Solver {
 public:
  explicit Mu(const nmfx::Params& p) : eps_(p.real("eps")) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    const std::size_t M = problem.rows_of_W(), N = problem.cols_of_H(), L = problem.rank;
    nmfx_common::check_factor_shapes("mu", problem, W, H);
    // Keep the referents rather than the Problem itself, which may be a temporary.
    X_ = &problem.X;
    loss_ = &problem.loss;
    penalty_ = problem.penalty;
    pos_W_.resize({M, L});
    neg_W_.resize({M, L});
    pos_H_.resize({L, N});
    neg_H_.resize({L, N});
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (!loss_) throw nmfx::Error("mu: step() called before prepare()");
    // W first, then H with the new W (seed 001, Listing 1).
    loss_->gradient_W(*X_, W, H, pos_W_, neg_W_);
    update(W, pos_W_, neg_W_, penalty_.l1_W, penalty_.l2_W);
    loss_->gradient_H(*X_, W, H, pos_H_, neg_H_);
    update(H, pos_H_, neg_H_, penalty_.l1_H, penalty_.l2_H);
  }

 private:
  // A <- A * neg / max(pos + l1 + l2 A, eps): eps guards zero denominators as np.maximum(den, eps)
  // does. The penalty's gradient l1 + l2 A is nonnegative, so it joins the positive part
  // (scikit-learn's MU: W XH^T / (W HH^T + l1 + l2 W)).
  void update(nmfx::Matrix& A, const nmfx::Matrix& pos, const nmfx::Matrix& neg, double l1, double l2) const {
    double* a = A.data();
    const double* p = pos.data();
    const double* n = neg.data();
    const std::size_t size = A.size();
    const double eps = eps_;
    if (l1 == 0 && l2 == 0) {
      for (std::size_t k = 0; k < size; ++k) a[k] *= n[k] / std::max(p[k], eps);
    } else {
      for (std::size_t k = 0; k < size; ++k) a[k] *= n[k] / std::max(p[k] + l1 + l2 * a[k], eps);
    }
  }

  double eps_;
  nmfx::Penalty penalty_;
  const nmfx::Data* X_ = nullptr;
  nmfx::Loss* loss_ = nullptr;
  nmfx::Matrix pos_W_, neg_W_, pos_H_, neg_H_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Mu>(
      "mu", "1.0.0", "Lee & Seung multiplicative updates (W then H) for any loss with a gradient split");
  d.params = {
      nmfx::param_real("eps", 1e-10, "floor of the update denominators, max(pos, eps)", 0.0),
  };
  d.losses = {"*"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse,
                  nmfx::DataKind::observed};  // as far as the loss accepts the data
  d.penalties = true;
  d.distributed = true;  // elementwise updates of this process's rows and columns, from the loss's gradients
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
