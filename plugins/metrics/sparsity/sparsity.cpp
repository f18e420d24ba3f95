// Fraction of near-zero entries of W and of H (seed 001, Fig. 4: entries below 1e-3).
#include <string>

#include <nmfx/plugin.hpp>

namespace {

class Sparsity final : public nmfx::Metric {
 public:
  explicit Sparsity(const nmfx::Params& p) : threshold_(p.real("threshold")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    return {{"sparsity_W", fraction_below(c.W)}, {"sparsity_H", fraction_below(c.H)}};
  }

 private:
  double fraction_below(const nmfx::Matrix& A) const {
    const std::size_t size = A.size();
    if (size == 0) return 0.0;
    const double* a = A.data();
    std::size_t count = 0;
    for (std::size_t k = 0; k < size; ++k) count += a[k] < threshold_;
    return static_cast<double>(count) / static_cast<double>(size);
  }

  double threshold_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, Sparsity>("sparsity", "1.0.0",
                                                  "fraction of entries of W and of H below a threshold");
  d.params = {
      nmfx::param_real("threshold", 1e-3, "entries strictly below this count as zero", 0.0),
  };
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse, nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
