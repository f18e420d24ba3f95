// A planted low-rank X = W·H with W, H uniform on [0, 1), plus optional Gaussian noise clipped at
// zero. Its own seed fixes the data, so every run's seed varies only the initialisation.
#include <algorithm>
#include <cstdint>
#include <sstream>

#include <nmfx/linalg.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx/rng.hpp>

namespace {

class Synthetic final : public nmfx::Dataset {
 public:
  explicit Synthetic(const nmfx::Params& p)
      : m_(static_cast<std::size_t>(p.integer("m"))),
        n_(static_cast<std::size_t>(p.integer("n"))),
        rank_(static_cast<std::size_t>(p.integer("rank"))),
        noise_(p.real("noise")),
        seed_(static_cast<std::uint64_t>(p.integer("seed"))) {}

  nmfx::Data load() override {
    nmfx::Rng rng(seed_);
    // W first, then H, each in row-major order, so the stream is fixed by (seed, m, n, rank).
    nmfx::Matrix W({m_, rank_});
    for (double& w : W) w = rng.uniform();
    nmfx::Matrix H({rank_, n_});
    for (double& h : H) h = rng.uniform();

    nmfx::Data data;
    data.dense.resize({m_, n_});
    nmfx::gemm(W, nmfx::Trans::no, H, nmfx::Trans::no, data.dense);

    if (noise_ > 0.0) {
      double* x = data.dense.data();
      const std::size_t size = data.dense.size();
      double mean = 0.0;
      for (std::size_t k = 0; k < size; ++k) mean += x[k];
      mean /= static_cast<double>(size);
      const double sd = noise_ * mean;
      for (std::size_t k = 0; k < size; ++k) x[k] = std::max(0.0, x[k] + sd * rng.normal());
    }

    std::ostringstream description;
    description << "planted rank-" << rank_ << " product W H of uniform [0, 1) factors, " << m_ << " x " << n_;
    if (noise_ > 0.0) description << ", Gaussian noise of sd " << noise_ << " x mean(W H), clipped at 0";
    data.info = {{"planted_rank", rank_}, {"description", description.str()}};
    return data;
  }

 private:
  std::size_t m_, n_, rank_;
  double noise_;
  std::uint64_t seed_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Synthetic>(
      "synthetic", "1.0.0", "planted low-rank X = W H (uniform [0, 1) factors) with optional Gaussian noise");
  d.params = {
      nmfx::param_int("m", 200, "rows of X", 1),
      nmfx::param_int("n", 150, "columns of X", 1),
      nmfx::param_int("rank", 10, "inner dimension of the planted factors W (m x rank) and H (rank x n)", 1),
      nmfx::param_real("noise", 0.0,
                       "standard deviation of additive Gaussian noise, as a fraction of mean(W H); "
                       "X is then clipped at 0",
                       0.0),
      nmfx::param_int("seed", 0, "seeds the planted factors and the noise, independent of the run's seed", 0),
  };
  d.data_kinds = {nmfx::DataKind::dense};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
