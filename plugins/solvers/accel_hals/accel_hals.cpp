// Accelerated HALS (Gillis & Glineur 2012; seed 000 section 4, Algorithms 5-7): A and B are
// computed once per factor, then the HALS sweep of hals_sweep.hpp is repeated up to
// 1 + floor(alpha rho) times, stopping once a sweep moves the factor by at most epsilon times
// what the first one did. With alpha = 0 it is hals, iterate for iterate.
#include <string>

#include <nmfx/plugin.hpp>

#include <nmfx_common/accel_inner.hpp>
#include <nmfx_common/diagonal_scaling.hpp>
#include <nmfx_common/hals_sweep.hpp>
#include <nmfx_common/rho.hpp>

namespace {

class AccelHals final : public nmfx::Solver {
 public:
  explicit AccelHals(const nmfx::Params& p)
      : loop_(p),
        zero_floor_(p.real("zero_floor")),
        paper_rho_(p.str("rho_formula") == "gillis"),
        diagonal_scaling_(p.boolean("diagonal_scaling")) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    core_.prepare(problem, W, H, zero_floor_, "accel_hals");
    const double M = static_cast<double>(core_.M()), N = static_cast<double>(core_.N()),
                 L = static_cast<double>(core_.L());
    const nmfx_rho::Rho r = nmfx_rho::rho(M, N, L, nmfx_rho::cost_nnz(problem.X));
    // "seed": eqs 20-21 as printed (Table 1). "gillis": the inner sweep costs about M L^2 like
    // MU's inner step (seed 000 eq. 15), which gives eq. 18's ratio, as in Gillis' nnlsHALSupdt.
    rho_W_ = paper_rho_ ? r.W_mu : r.W_hals;
    rho_H_ = paper_rho_ ? r.H_mu : r.H_hals;
    inner_W_ = inner_H_ = 0;
    scaling_.prepare(problem.rank, problem.distribution);
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    inner_W_ = core_.update_W(W, H, [&](auto&& sweep) { return loop_.run(sweep, rho_W_); });
    if (diagonal_scaling_) scaling_.normalize_W(W, H);
    inner_H_ = core_.update_H(W, H, [&](auto&& sweep) { return loop_.run(sweep, rho_H_); });
    if (diagonal_scaling_) scaling_.normalize_H(W, H);
  }

  nmfx::Values stats() const override {
    return {{"inner_W", static_cast<double>(inner_W_)}, {"inner_H", static_cast<double>(inner_H_)}};
  }

 private:
  nmfx_accel::InnerLoop loop_;
  double zero_floor_;
  bool paper_rho_;
  bool diagonal_scaling_;
  nmfx_common::DiagonalScaling scaling_;
  double rho_W_ = 1, rho_H_ = 1;
  std::size_t inner_W_ = 0, inner_H_ = 0;
  nmfx_hals::Hals core_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, AccelHals>(
      "accel_hals", "1.0.0", "Gillis & Glineur's accelerated HALS: repeated HALS sweeps per product with X");
  d.params = nmfx_accel::params(0.5);
  d.params.push_back(nmfx::param_choice(
      "rho_formula", "seed", {"seed", "gillis"},
      "rho of the cap: seed = 1 + (P + NL)/M (seed 000 eqs 20-21); gillis = 1 + (P + NL)/(M(L + 1))"));
  d.params.push_back(nmfx::param_real(
      "zero_floor", 1e-16, "a component that becomes all zero is set to zero_floor * max of its factor", 0.0));
  d.params.push_back(nmfx_common::diagonal_scaling_param());
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
