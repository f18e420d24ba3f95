// Accelerated multiplicative updates (Gillis & Glineur 2012; seed 000 section 4, Algorithms 5-7,
// each inner step being Algorithm 1 steps 3-4): A = X H^T and B = H H^T are computed once, then
// W <- W * A / max(W B, eps) is repeated up to 1 + floor(alpha rho_W) times, stopping once a step
// moves W by at most epsilon times what the first one did; likewise for H. Each step is computed
// exactly as the mu solver with the frobenius loss computes it, so alpha = 0 is mu, bit for bit.
#include <algorithm>
#include <string>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>

#include <nmfx_common/accel_inner.hpp>
#include <nmfx_common/rho.hpp>
#include <nmfx_common/factor_shapes.hpp>

namespace {

using nmfx::Trans;

class AccelMu final : public nmfx::Solver {
 public:
  explicit AccelMu(const nmfx::Params& p) : loop_(p), eps_(p.real("eps")) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (problem.loss_name != "frobenius")
      throw nmfx::Error("accel_mu: loss '" + problem.loss_name + "' is not supported, only frobenius");
    const std::size_t M = problem.X.rows(), N = problem.X.cols(), L = problem.rank;
    nmfx_common::check_factor_shapes("accel_mu", problem, W, H);
    penalty_ = problem.penalty;
    products_.prepare(problem.X, L);
    A_W_.resize({M, L});
    C_W_.resize({M, L});
    B_W_.resize({L, L});
    A_H_.resize({L, N});
    C_H_.resize({L, N});
    B_H_.resize({L, L});
    const nmfx_rho::Rho r = nmfx_rho::rho(static_cast<double>(M), static_cast<double>(N), static_cast<double>(L),
                                          nmfx_rho::cost_nnz(problem.X));
    rho_W_ = r.W_mu;  // eq. 18
    rho_H_ = r.H_mu;  // eq. 19
    inner_W_ = inner_H_ = 0;
    prepared_ = true;
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (!prepared_) throw nmfx::Error("accel_mu: step() called before prepare()");
    // W: Algorithm 1 with steps 3-4 repeated. The same calls as frobenius's gradient_W.
    nmfx::gemm(H, Trans::no, H, Trans::yes, B_W_);
    products_.XHt(H, A_W_);
    const bool measure_W = loop_.measures(rho_W_);
    inner_W_ = loop_.run(
        [&] {
          nmfx::gemm(W, Trans::no, B_W_, Trans::no, C_W_);
          return update(W, C_W_, A_W_, penalty_.l1_W, penalty_.l2_W, measure_W);
        },
        rho_W_);
    // H: Algorithm 2 likewise, with the new W. The same calls as frobenius's gradient_H.
    nmfx::gemm(W, Trans::yes, W, Trans::no, B_H_);
    products_.WtX(W, A_H_);
    const bool measure_H = loop_.measures(rho_H_);
    inner_H_ = loop_.run(
        [&] {
          nmfx::gemm(B_H_, Trans::no, H, Trans::no, C_H_);
          return update(H, C_H_, A_H_, penalty_.l1_H, penalty_.l2_H, measure_H);
        },
        rho_H_);
  }

  nmfx::Values stats() const override {
    return {{"inner_W", static_cast<double>(inner_W_)}, {"inner_H", static_cast<double>(inner_H_)}};
  }

 private:
  // F <- F * A / max(C + l1 + l2 F, eps), written as mu writes it (so that the rounding is the
  // same); returns ||F_new - F_old||_F^2 when asked to.
  double update(nmfx::Matrix& F, const nmfx::Matrix& C, const nmfx::Matrix& A, double l1, double l2,
                bool measure) const {
    double* f = F.data();
    const double* p = C.data();
    const double* n = A.data();
    const std::size_t size = F.size();
    const double eps = eps_;
    double moved = 0;
    if (l1 == 0 && l2 == 0) {
      if (!measure) {
        for (std::size_t k = 0; k < size; ++k) f[k] *= n[k] / std::max(p[k], eps);
        return 0;
      }
      for (std::size_t k = 0; k < size; ++k) {
        const double old = f[k];
        f[k] *= n[k] / std::max(p[k], eps);
        moved += (f[k] - old) * (f[k] - old);
      }
    } else {
      if (!measure) {
        for (std::size_t k = 0; k < size; ++k) f[k] *= n[k] / std::max(p[k] + l1 + l2 * f[k], eps);
        return 0;
      }
      for (std::size_t k = 0; k < size; ++k) {
        const double old = f[k];
        f[k] *= n[k] / std::max(p[k] + l1 + l2 * f[k], eps);
        moved += (f[k] - old) * (f[k] - old);
      }
    }
    return moved;
  }

  nmfx_accel::InnerLoop loop_;
  double eps_;
  bool prepared_ = false;
  nmfx::Penalty penalty_;
  nmfx::DataProducts products_;
  nmfx::Matrix A_W_, B_W_, C_W_, A_H_, B_H_, C_H_;
  double rho_W_ = 1, rho_H_ = 1;
  std::size_t inner_W_ = 0, inner_H_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, AccelMu>(
      "accel_mu", "1.0.0", "Gillis & Glineur's accelerated MU: repeated Lee & Seung steps per product with X");
  d.params = nmfx_accel::params(2.0);
  d.params.push_back(nmfx::param_real("eps", 1e-10, "floor of the update denominators, max(W B, eps), as mu", 0.0));
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
