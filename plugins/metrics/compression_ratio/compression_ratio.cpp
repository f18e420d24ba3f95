// Storage of the factors against storage of X, both as dense doubles: (M + N) L / (M N)
// (seed 000, Fig. 12 plots quality against this ratio).
#include <nmfx/plugin.hpp>

namespace {

class CompressionRatio final : public nmfx::Metric {
 public:
  explicit CompressionRatio(const nmfx::Params&) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    const double M = static_cast<double>(c.X.rows()), N = static_cast<double>(c.X.cols());
    const double L = static_cast<double>(c.W.shape(1));
    return {
        {"compression_ratio", (M + N) * L / (M * N)}, {"bytes_factors", 8.0 * (M + N) * L}, {"bytes_X", 8.0 * M * N}};
  }
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, CompressionRatio>(
      "compression_ratio", "1.0.0", "storage of W and H over storage of X, (M + N) L / (M N), dense doubles");
  d.params = {};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
