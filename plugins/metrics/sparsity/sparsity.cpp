// Fraction of near-zero entries of W and of H (seed 001, Fig. 4: entries below 1e-3).
#include <string>

#include <nmfx/plugin.hpp>

namespace {

class Sparsity final : public nmfx::Metric {
 public:
  explicit Sparsity(const nmfx::Params& p) : threshold_(p.real("threshold")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    // Counts and sizes, summed over the processes of a distributed cell.
    double counts[4] = {below(c.W), static_cast<double>(c.W.size()), below(c.H), static_cast<double>(c.H.size())};
    if (c.distribution && c.distribution->comm) c.distribution->comm->sum(nmfx::Communicator::Group::all, counts, 4);
    return {{"sparsity_W", counts[1] > 0 ? counts[0] / counts[1] : 0.0},
            {"sparsity_H", counts[3] > 0 ? counts[2] / counts[3] : 0.0}};
  }

 private:
  double below(const nmfx::Matrix& A) const {
    const double* a = A.data();
    std::size_t count = 0;
    for (std::size_t k = 0; k < A.size(); ++k) count += a[k] < threshold_;
    return static_cast<double>(count);
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
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
