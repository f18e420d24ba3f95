// Gillis & Glineur's rho for the cell's X and rank (seed 000, eqs 18-21; Table 1): how many inner
// updates of a factor cost as much as the products with X that start them.
#include <nmfx/plugin.hpp>

#include <nmfx_common/rho.hpp>

namespace {

class RhoMetric final : public nmfx::Metric {
 public:
  explicit RhoMetric(const nmfx::Params&) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    const nmfx_rho::Rho r = nmfx_rho::rho(static_cast<double>(c.X.rows()), static_cast<double>(c.X.cols()),
                                          static_cast<double>(c.rank), nmfx_rho::cost_nnz(c.X));
    return {{"rho_W_mu", r.W_mu}, {"rho_H_mu", r.H_mu}, {"rho_W_hals", r.W_hals}, {"rho_H_hals", r.H_hals}};
  }
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, RhoMetric>(
      "rho", "1.0.0", "Gillis & Glineur's cost ratios rho_W and rho_H for MU and HALS (seed 000, eqs 18-21)");
  d.params = {};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
