// A planted low-rank X = W·H with W, H uniform on [0, 1), plus optional Gaussian noise clipped at
// zero. Its own seed fixes the data, so every run's seed varies only the initialisation.
//
// Every number is drawn by position, not in sequence: entry k of W, of H and of the noise is a
// function of (seed, k) alone (counter-based SplitMix64, below). So any block of X is generated
// from only its own rows of W, its own columns of H and its own noise, and the same seed gives the
// same X for any process grid; load() is load_block() of the whole matrix.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include <nmfx/plugin.hpp>
#include <nmfx/rng.hpp>

namespace {

// Draw number `index` of the stream `key`: SplitMix64 (Steele, Lea & Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014) is a counter (key + (index + 1) * gamma) passed
// through a mixing function, so its index-th output is computed directly, without the ones before.
std::uint64_t draw(std::uint64_t key, std::uint64_t index) {
  std::uint64_t z = key + (index + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform on [0, 1): the top 53 bits of a draw, as nmfx::Rng::uniform.
double uniform(std::uint64_t key, std::uint64_t index) {
  return static_cast<double>(draw(key, index) >> 11) * 0x1.0p-53;
}

// Standard normal by Box-Muller from draws 2k and 2k + 1, as nmfx::Rng::normal.
double normal(std::uint64_t key, std::uint64_t k) {
  const double u1 = 1.0 - uniform(key, 2 * k);  // in (0, 1]: the log is finite
  const double u2 = uniform(key, 2 * k + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

class Synthetic final : public nmfx::Dataset {
 public:
  explicit Synthetic(const nmfx::Params& p)
      : m_(static_cast<std::size_t>(p.integer("m"))),
        n_(static_cast<std::size_t>(p.integer("n"))),
        rank_(static_cast<std::size_t>(p.integer("rank"))),
        noise_(p.real("noise")) {
    // One key per purpose, from the dataset's seed through nmfx::Rng's named streams, so that the
    // three draws never coincide (and never with the run's own streams).
    const auto seed = static_cast<std::uint64_t>(p.integer("seed"));
    key_w_ = nmfx::Rng::stream("synthetic.W", seed).next();
    key_h_ = nmfx::Rng::stream("synthetic.H", seed).next();
    key_noise_ = nmfx::Rng::stream("synthetic.noise", seed).next();
  }

  nmfx::Data load() override { return load_block({0, m_}, {0, n_}); }

  std::pair<std::size_t, std::size_t> shape() override { return {m_, n_}; }

  nmfx::Data load_block(const nmfx::Range& rows, const nmfx::Range& cols) override {
    if (rows.begin >= rows.end || cols.begin >= cols.end || rows.end > m_ || cols.end > n_)
      throw nmfx::Error("dataset 'synthetic': block rows [" + std::to_string(rows.begin) + ", " +
                        std::to_string(rows.end) + ") x columns [" + std::to_string(cols.begin) + ", " +
                        std::to_string(cols.end) + ") is empty or outside X's " + std::to_string(m_) + " x " +
                        std::to_string(n_));
    const std::size_t L = rank_, nb = cols.size();
    // W(i, l) is draw i * L + l of W's stream, H(l, j) draw l * n + j of H's: only the block's rows
    // of W and columns of H are kept.
    std::vector<double> W(rows.size() * L), H(L * nb);
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::size_t l = 0; l < L; ++l) W[i * L + l] = uniform(key_w_, (rows.begin + i) * L + l);
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t j = 0; j < nb; ++j) H[l * nb + j] = uniform(key_h_, l * n_ + cols.begin + j);

    nmfx::Data data;
    data.dense = nmfx::Matrix::from_shape({rows.size(), nb});
    data.dense.fill(0.0);
    // (W H)_ij summed over l = 0, 1, ... in that order for every entry, whatever the block, so a
    // block equals the same entries of the whole X bit for bit (a BLAS GEMM may block l differently).
    for (std::size_t i = 0; i < rows.size(); ++i) {
      double* x = &data.dense(i, 0);
      for (std::size_t l = 0; l < L; ++l) {
        const double w = W[i * L + l];
        const double* h = &H[l * nb];
        for (std::size_t j = 0; j < nb; ++j) x[j] += w * h[j];
      }
    }

    if (noise_ > 0.0) {
      const double sd = noise_ * mean_of_product();
      for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < nb; ++j) {
          double& x = data.dense(i, j);
          x = std::max(0.0, x + sd * normal(key_noise_, (rows.begin + i) * n_ + cols.begin + j));
        }
    }

    std::ostringstream description;
    description << "planted rank-" << rank_ << " product W H of uniform [0, 1) factors, " << m_ << " x " << n_;
    if (noise_ > 0.0) description << ", Gaussian noise of sd " << noise_ << " x mean(W H), clipped at 0";
    data.info = {{"planted_rank", rank_}, {"description", description.str()}};
    return data;
  }

 private:
  // mean(W H) = (1 / mn) sum_l (sum_i W_il) (sum_j H_lj): the column sums of W and the row sums of
  // H, computed by every process in the same order, so the noise scale is the same bits everywhere.
  // O((m + n) rank) draws and no storage.
  double mean_of_product() const {
    double total = 0.0;
    for (std::size_t l = 0; l < rank_; ++l) {
      double w = 0.0, h = 0.0;
      for (std::size_t i = 0; i < m_; ++i) w += uniform(key_w_, i * rank_ + l);
      for (std::size_t j = 0; j < n_; ++j) h += uniform(key_h_, l * n_ + j);
      total += w * h;
    }
    return total / (static_cast<double>(m_) * static_cast<double>(n_));
  }

  std::size_t m_, n_, rank_;
  double noise_;
  std::uint64_t key_w_ = 0, key_h_ = 0, key_noise_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, Synthetic>(
      "synthetic", "2.0.0", "planted low-rank X = W H (uniform [0, 1) factors) with optional Gaussian noise");
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
  d.distributed = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
