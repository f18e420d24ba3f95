// First-order optimality of the cell's objective f = loss + penalty at (W, H): the KKT conditions
// of seed 001 eq. 5 (W >= 0, grad_W f >= 0, W * grad_W f = 0, and the same for H), measured as the
// projected gradient norm (Lin 2007) and the complementarity residuals.
#include <nmfx/kkt.hpp>
#include <nmfx/plugin.hpp>

namespace {

class Kkt final : public nmfx::Metric {
 public:
  explicit Kkt(const nmfx::Params&) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    if (!prepared_) {
      meter_.prepare(c.W.shape(0), c.H.shape(1), c.rank);  // this process's part when distributed
      prepared_ = true;
    }
    const nmfx::Stationarity s = meter_.measure(c.X, c.cell_loss, c.penalty, c.W, c.H, c.distribution);
    const double pg = s.projected_gradient_W + s.projected_gradient_H;
    if (c.iteration == 0 || initial_ == 0) initial_ = pg;
    return {{"kkt_projected_gradient", pg},
            {"kkt_projected_gradient_relative", initial_ > 0 ? pg / initial_ : 0.0},
            {"kkt_projected_gradient_W", s.projected_gradient_W},
            {"kkt_projected_gradient_H", s.projected_gradient_H},
            {"kkt_complementarity_W", s.complementarity_W},
            {"kkt_complementarity_H", s.complementarity_H}};
  }

 private:
  nmfx::StationarityMeter meter_;
  bool prepared_ = false;
  double initial_ = 0;  // at the run's first checkpoint (iteration 0)
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, Kkt>(
      "kkt", "1.0.0", "KKT residuals: projected gradient norm (absolute, relative to the start) and complementarity");
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
