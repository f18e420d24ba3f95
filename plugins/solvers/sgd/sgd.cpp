// Projected stochastic gradient for NMF with missing values (seed 003, "Projected stochastic
// gradient method"): for each revealed rating r_ui, in an order shuffled each pass,
//   e = r_ui - p_u.q_i
//   p_u <- max(p_u + eta_t (e q_i - lambda_u p_u - mu_u), 0)
//   q_i <- max(q_i + eta_t (e p_u - lambda_i q_i - mu_i), 0)      (both from the old p_u, q_i)
// where lambda, mu are the penalty's L2 and L1 weights spread over the entries (see README).
#include <cmath>
#include <string>
#include <vector>

#include <nmfx/plugin.hpp>

#include <nmfx_common/online_passes.hpp>

namespace {

using nmfx_online::Entry;

// What one pass over a chunk of entries reads, as plain data.
struct Chunk {
  double* w;
  double* ht;
  std::size_t L;
  bool penalized;
  nmfx::Penalty pen;
  const double* user_weight;
  const double* item_weight;
  double sq_error;
};

// The learning-rate schedule: eta0, or eta0 / (1 + t / |train|)^power_t, with t rounded down to a
// multiple of 256 entries.
struct Schedule {
  double eta0;
  bool inverse_scaling;
  double power;
  std::size_t n;  // training entries
  double operator()(std::uint64_t t) const {
    if (!inverse_scaling) return eta0;
    const double passes =
        static_cast<double>(t & ~static_cast<std::uint64_t>(255)) / static_cast<double>(std::max<std::size_t>(n, 1));
    return eta0 / std::pow(1.0 + passes, power);
  }
};

// The entries e[0 .. count) in order; t0 entries came before e[0]. The rate is recomputed at each
// multiple of 256 entries counted from the start. Compiled twice (AVX2 and baseline x86-64, chosen
// at load time): wider vectors, the same operations in the same order (no FMA contraction in
// either), so the same results on every machine.
NMFX_TARGET_CLONES void run_chunk(Chunk& c, const Entry* e, std::size_t count, std::uint64_t t0, const Schedule& rate) {
  constexpr std::size_t ahead = 8;
  double* w = c.w;
  double* ht = c.ht;
  const std::size_t L = c.L;
  double eta = rate(t0), sq = 0.0;  // locals: stores through p and q may not alias them
  for (std::size_t k = 0; k < count; ++k) {
    if (((t0 + k) & 255) == 0) eta = rate(t0 + k);
    if (k + ahead < count) nmfx_online::prefetch_rows(w, ht, e[k + ahead], L);
    double* p = w + static_cast<std::size_t>(e[k].u) * L;
    double* q = ht + static_cast<std::size_t>(e[k].i) * L;
    const double err = e[k].r - nmfx_online::dot(p, q, L);
    sq += err * err;
    const double g = eta * err;
    if (!c.penalized) {
      for (std::size_t a = 0; a < L; ++a) {
        const double pa = p[a], qa = q[a];
        p[a] = std::max(pa + g * qa, 0.0);
        q[a] = std::max(qa + g * pa, 0.0);
      }
    } else {
      const double wu = c.user_weight[e[k].u], wi = c.item_weight[e[k].i];
      const double lu = eta * c.pen.l2_W * wu, li = eta * c.pen.l2_H * wi;
      const double mu = eta * c.pen.l1_W * wu, mi = eta * c.pen.l1_H * wi;
      for (std::size_t a = 0; a < L; ++a) {
        const double pa = p[a], qa = q[a];
        p[a] = std::max(pa + g * qa - lu * pa - mu, 0.0);
        q[a] = std::max(qa + g * pa - li * qa - mi, 0.0);
      }
    }
  }
  c.sq_error += sq;
}

class Sgd final : public nmfx::Solver {
 public:
  explicit Sgd(const nmfx::Params& p)
      : eta0_(p.real("eta")),
        inverse_scaling_(p.str("schedule") == "inverse_scaling"),
        power_(p.real("power_t")),
        by_count_(p.str("penalty_spread") == "by_count"),
        order_(nmfx_online::parse_order(p.str("order"))),
        seed_(p.integer("seed")),
        every_(static_cast<std::size_t>(p.integer("stream_every"))),
        stream_passes_(static_cast<std::uint64_t>(p.integer("stream_passes"))) {
    if (!(eta0_ > 0)) throw nmfx::Error("sgd: eta must be > 0");
  }

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    nmfx_online::check_shapes("sgd", problem, W, H);
    L_ = problem.rank;
    const nmfx::Data& X = problem.X;
    stream_.prepare(X.sparse, order_, nmfx_online::resolve_seed(seed_, W, H), every_, stream_passes_);
    Ht_.assign(X.cols() * L_, 0.0);
    pen_ = problem.penalty;
    penalized_ = pen_.any();
    // Per-row weights of the penalty: by_count spreads lambda ||p_u||^2 over the n_u ratings of
    // user u (weight 1/n_u per rating); per_rating applies it in full at each rating.
    user_weight_.assign(X.rows(), 1.0);
    item_weight_.assign(X.cols(), 1.0);
    if (by_count_) {
      for (std::size_t u = 0; u < X.rows(); ++u) {
        const std::size_t n = X.sparse.indptr[u + 1] - X.sparse.indptr[u];
        user_weight_[u] = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;
      }
      for (std::size_t i = 0; i < X.cols(); ++i) {
        const std::size_t n = X.sparse_t.indptr[i + 1] - X.sparse_t.indptr[i];
        item_weight_[i] = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;
      }
    }
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (L_ == 0) throw nmfx::Error("sgd: step() called before prepare()");
    nmfx_online::to_rows(H, Ht_);
    const std::size_t L = L_;
    double* w = W.data();
    double* ht = Ht_.data();
    Chunk c{w, ht, L, penalized_, pen_, user_weight_.data(), item_weight_.data(), 0.0};
    const Schedule schedule{eta0_, inverse_scaling_, power_, stream_.size()};
    entries_ = stream_.step([&](const Entry* e, std::size_t count, std::uint64_t t0) {
      run_chunk(c, e, count, t0, schedule);
      last_eta_ = schedule(t0 + count - 1);
    });
    sq_error_ = c.sq_error;
    nmfx_online::from_rows(Ht_, H);
  }

  nmfx::Values stats() const override {
    const double n = static_cast<double>(std::max<std::size_t>(entries_, 1));
    return {{"eta", last_eta_},
            {"entries", static_cast<double>(entries_)},
            {"passes",
             static_cast<double>(stream_.processed()) / static_cast<double>(std::max<std::size_t>(stream_.size(), 1))},
            // RMSE of the predictions made just before each update of this step (online error).
            {"online_rmse", std::sqrt(sq_error_ / n)}};
  }

 private:
  double eta0_;
  bool inverse_scaling_;
  double power_;
  bool by_count_;
  nmfx_online::Order order_;
  long long seed_;
  std::size_t every_;
  std::uint64_t stream_passes_;
  std::size_t L_ = 0;
  nmfx::Penalty pen_;
  bool penalized_ = false;
  nmfx_online::EntryStream stream_;
  std::vector<double> Ht_, user_weight_, item_weight_;
  double sq_error_ = 0.0, last_eta_ = 0.0;
  std::size_t entries_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Sgd>(
      "sgd", "1.0.0", "projected stochastic gradient over the observed entries (ratings), one pass per step");
  d.params = {
      nmfx::param_real("eta", 0.01, "learning rate eta0", 0.0),
      nmfx::param_choice("schedule", "constant", {"constant", "inverse_scaling"},
                         "constant: eta0; inverse_scaling: eta0 / (1 + t/|train|)^power_t, t = entries seen so far"),
      nmfx::param_real("power_t", 1.0, "exponent of inverse_scaling", 0.0),
      nmfx::param_choice("penalty_spread", "by_count", {"by_count", "per_rating"},
                         "by_count: user u's penalty is split over its n_u ratings (unbiased for the reported "
                         "objective); per_rating: the full penalty gradient at every rating (Funk/Koren SGD)"),
  };
  for (auto& s : nmfx_online::stream_params()) d.params.push_back(s);
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::observed};
  d.penalties = true;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
