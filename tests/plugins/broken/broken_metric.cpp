// A deliberately wrong metric, for the test of nmfx check-plugin: NaN on the first checkpoint.
#include <cmath>

#include <nmfx/plugin.hpp>

namespace {

class BrokenMetric final : public nmfx::Metric {
 public:
  explicit BrokenMetric(const nmfx::Params&) {}
  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    return {{"broken", c.iteration == 0 ? std::nan("") : 1.0}};
  }
};

nmfx::PluginDescriptor describe() {
  return nmfx::describe<nmfx::Metric, BrokenMetric>("broken_metric", "0.0.1", "test metric, NaN at the start");
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
