// The value of a loss at each checkpoint: the cell's own loss (already computed by the runner), or
// any other loss plugin by name, so that e.g. a Frobenius run also reports its KL divergence.
#include <string>

#include <nmfx/plugin.hpp>

namespace {

class LossMetric final : public nmfx::Metric {
 public:
  explicit LossMetric(const nmfx::Params& p) : of_(p.str("of")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    if (of_.empty() || of_ == c.loss_name) return {{"loss_" + c.loss_name, c.loss}};
    if (!c.loss_of)
      throw nmfx::Error("loss: parameter 'of' = '" + of_ + "' needs the host's loss_of, which is not set");
    return {{"loss_" + of_, c.loss_of(of_)}};
  }

 private:
  std::string of_;
};

nmfx::PluginDescriptor describe() {
  auto d =
      nmfx::describe<nmfx::Metric, LossMetric>("loss", "1.0.0", "value of the cell's loss or of any other loss plugin");
  d.params = {
      nmfx::param_string("of", "", "name of the loss plugin to evaluate; empty means the cell's own loss"),
  };
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  d.distributed = true;  // the cell's loss, and loss_of, are already values of the whole X
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
