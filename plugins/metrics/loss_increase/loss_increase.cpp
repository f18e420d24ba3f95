// The largest relative increase of the loss between consecutive checkpoints so far:
// max_k (f_k - f_{k-1}) / f_{k-1}. Lee & Seung's Theorems 1 and 2 (seed 004) say it is never
// positive for MU; evaluated at every iteration (checkpoints: 1) it checks them on real data.
#include <algorithm>
#include <limits>

#include <nmfx/plugin.hpp>

namespace {

class LossIncrease final : public nmfx::Metric {
 public:
  explicit LossIncrease(const nmfx::Params&) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    // The runner puts this checkpoint's loss in the trace before it calls the metrics.
    const auto& losses = c.trace.at("loss");
    const std::size_t n = losses.size();
    if (n >= 2) {
      const double previous = losses[n - 2], current = losses[n - 1];
      if (previous > 0) worst_ = std::max(worst_, (current - previous) / previous);
    }
    // At the first checkpoint nothing is compared yet: 0 ("no increase seen").
    return {{"loss_max_relative_increase", n >= 2 ? worst_ : 0.0}};
  }

 private:
  double worst_ = -std::numeric_limits<double>::infinity();
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, LossIncrease>(
      "loss_increase", "1.0.0", "largest relative increase of the loss between consecutive checkpoints so far");
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
