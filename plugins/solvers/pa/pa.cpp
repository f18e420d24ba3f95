// Online passive-aggressive algorithms for NMF with missing values (Blondel, Kubo & Ueda, AISTATS
// 2014; seed 003, "Passive-aggressive algorithms for NMF"): on each revealed rating r_ui, p_u moves
// to the nearest nonnegative vector with |p.q_i - r| <= eps (NN-PA) or its slack relaxations
// (NN-PA-I, NN-PA-II), and so does q_i with p_u fixed. The one-vector problem is in pa_update.hpp.
#include <string>
#include <vector>

#include <nmfx/plugin.hpp>

#include <nmfx_common/online_passes.hpp>
#include "pa_update.hpp"

namespace {

using nmfx_online::Entry;

// Everything the per-entry update reads and counts, as plain data, so that one pass over a chunk
// of entries is a free function compiled for two targets.
struct Kernel {
  nmfx_pa::Options options;
  bool sequential = false;
  bool pa1_capped_test = false;  // NN-PA-I with exact or bisection: try theta = C first
  double d = 0.0;                // 1 / (2C) for NN-PA-II, else 0
  nmfx_pa::Work work;
  std::uint64_t passive = 0, aggressive = 0, capped = 0, projected = 0;
};

// Sequential: p_u first, then q_i against the new p_u (its prediction recomputed).
inline void update_sequential(Kernel& K, double* p, double* q, double r, double pred, double qq, std::size_t L) {
  const nmfx_pa::Step sp = nmfx_pa::solve(p, q, L, r, pred, qq, K.options, K.work);
  bool clipped = false;
  for (std::size_t a = 0; a < L; ++a) {
    const double v = p[a] + sp.tau * q[a];
    clipped |= v < 0.0;
    p[a] = std::max(v, 0.0);
  }
  const double pred2 = nmfx_online::dot(p, q, L), pp2 = nmfx_online::dot(p, p, L);
  const nmfx_pa::Step sq = nmfx_pa::solve(q, p, L, r, pred2, pp2, K.options, K.work);
  K.capped += sp.capped || sq.capped;
  if (sq.tau != 0.0)
    for (std::size_t a = 0; a < L; ++a) {
      const double v = q[a] + sq.tau * p[a];
      clipped |= v < 0.0;
      q[a] = std::max(v, 0.0);
    }
  K.projected += clipped;
}

__attribute__((always_inline)) inline void update(Kernel& K, double* p, double* q, double r, std::size_t L) {
  const double pred = nmfx_online::dot(p, q, L), pp = nmfx_online::dot(p, p, L), qq = nmfx_online::dot(q, q, L);
  if (pred >= r - K.options.eps && pred <= r + K.options.eps) {
    ++K.passive;
    return;
  }
  ++K.aggressive;
  if (K.sequential) return update_sequential(K, p, q, r, pred, qq, L);
  // Simultaneous, as in the paper and seed 003: p_u against the old q_i and q_i against the old
  // p_u, both from the same prediction.
  double tp, tq;
  const double C = K.options.C, b = r + K.options.eps;
  if (pred < r - K.options.eps) {
    // Prediction too low: kappa needs no search (w0 + kappa x >= 0 for w0, x >= 0), as in solve().
    const double l = r - K.options.eps - pred, d = K.d;
    tp = qq > 0.0 ? l / (qq + d) : 0.0;
    tq = pp > 0.0 ? l / (pp + d) : 0.0;
    if (K.options.variant == nmfx_pa::Variant::pa1) {
      K.capped += tp >= C || tq >= C;
      tp = std::min(tp, C);
      tq = std::min(tq, C);
    }
    for (std::size_t a = 0; a < L; ++a) {
      const double pa = p[a];
      p[a] += tp * q[a];
      q[a] += tq * pa;
    }
    return;
  }
  bool both_capped = false;
  if (K.pa1_capped_test) {
    // NN-PA-I, prediction too high: if the constraint is still violated at theta = C for both
    // vectors, both multipliers are C (the common case for a small C): one fused pass, no search.
    double phi_p[2] = {0.0, 0.0}, phi_q[2] = {0.0, 0.0};  // two partial sums each (see dot())
    std::size_t a = 0;
    for (; a + 2 <= L; a += 2)
      for (std::size_t h = 0; h < 2; ++h) {
        phi_p[h] += std::max(p[a + h] - C * q[a + h], 0.0) * q[a + h];
        phi_q[h] += std::max(q[a + h] - C * p[a + h], 0.0) * p[a + h];
      }
    for (; a < L; ++a) {
      phi_p[0] += std::max(p[a] - C * q[a], 0.0) * q[a];
      phi_q[0] += std::max(q[a] - C * p[a], 0.0) * p[a];
    }
    both_capped = phi_p[0] + phi_p[1] > b && phi_q[0] + phi_q[1] > b;
  }
  if (both_capped) {
    tp = tq = -C;
    ++K.capped;
  } else {
    const nmfx_pa::Step sp = nmfx_pa::solve(p, q, L, r, pred, qq, K.options, K.work);
    const nmfx_pa::Step sq = nmfx_pa::solve(q, p, L, r, pred, pp, K.options, K.work);
    K.capped += sp.capped || sq.capped;
    tp = sp.tau;
    tq = sq.tau;
  }
  std::int64_t clipped = 0;
  for (std::size_t a = 0; a < L; ++a) {
    const double pa = p[a] + tp * q[a], qa = q[a] + tq * p[a];
    clipped += (pa < 0.0) + (qa < 0.0);
    p[a] = std::max(pa, 0.0);
    q[a] = std::max(qa, 0.0);
  }
  K.projected += clipped > 0;
}

// One chunk of entries, in order. Compiled twice (AVX2 and baseline x86-64, chosen at load time):
// wider vectors, the same operations in the same order (no FMA contraction in either), so the same
// results on every machine.
NMFX_TARGET_CLONES void run_chunk(Kernel& K, const Entry* e, std::size_t count, double* w, double* ht, std::size_t L) {
  constexpr std::size_t ahead = 8;
  for (std::size_t k = 0; k < count; ++k) {
    if (k + ahead < count) nmfx_online::prefetch_rows(w, ht, e[k + ahead], L);
    update(K, w + static_cast<std::size_t>(e[k].u) * L, ht + static_cast<std::size_t>(e[k].i) * L, e[k].r, L);
  }
}

class PassiveAggressive final : public nmfx::Solver {
 public:
  explicit PassiveAggressive(const nmfx::Params& p)
      : order_(nmfx_online::parse_order(p.str("order"))),
        seed_(p.integer("seed")),
        every_(static_cast<std::size_t>(p.integer("stream_every"))),
        stream_passes_(static_cast<std::uint64_t>(p.integer("stream_passes"))) {
    nmfx_pa::Options& o = k_.options;
    o.variant = nmfx_pa::parse_variant(p.str("variant"));
    o.method = nmfx_pa::parse_method(p.str("projection"));
    o.eps = p.real("epsilon");
    o.C = p.real("C");
    o.bisection_iter = static_cast<int>(p.integer("bisection_iter"));
    k_.sequential = p.str("update") == "sequential";
    k_.d = o.variant == nmfx_pa::Variant::pa2 ? 0.5 / o.C : 0.0;
    k_.pa1_capped_test = o.variant == nmfx_pa::Variant::pa1 && o.method != nmfx_pa::Method::approximate;
    if (o.variant != nmfx_pa::Variant::pa && !(o.C > 0))
      throw nmfx::Error("pa: C must be > 0 for variants pa1 and pa2");
  }

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    nmfx_online::check_shapes("pa", problem, W, H);
    L_ = problem.rank;
    stream_.prepare(problem.X.sparse, order_, nmfx_online::resolve_seed(seed_, W, H), every_, stream_passes_);
    Ht_.assign(problem.X.cols() * L_, 0.0);
    k_.work.resize(L_);
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (L_ == 0) throw nmfx::Error("pa: step() called before prepare()");
    nmfx_online::to_rows(H, Ht_);
    k_.passive = k_.aggressive = k_.capped = k_.projected = 0;
    double* w = W.data();
    double* ht = Ht_.data();
    entries_ =
        stream_.step([&](const Entry* e, std::size_t count, std::uint64_t) { run_chunk(k_, e, count, w, ht, L_); });
    nmfx_online::from_rows(Ht_, H);
  }

  nmfx::Values stats() const override {
    return {{"passive", static_cast<double>(k_.passive)},
            {"aggressive", static_cast<double>(k_.aggressive)},
            {"capped", static_cast<double>(k_.capped)},
            {"projected", static_cast<double>(k_.projected)},
            {"entries", static_cast<double>(entries_)},
            {"passes",
             static_cast<double>(stream_.processed()) / static_cast<double>(std::max<std::size_t>(stream_.size(), 1))}};
  }

 private:
  Kernel k_;
  nmfx_online::Order order_;
  long long seed_;
  std::size_t every_;
  std::uint64_t stream_passes_;
  std::size_t L_ = 0;
  nmfx_online::EntryStream stream_;
  std::vector<double> Ht_;
  std::uint64_t entries_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, PassiveAggressive>(
      "pa", "1.0.0", "online passive-aggressive NMF for ratings (NN-PA, NN-PA-I, NN-PA-II; Blondel et al. 2014)");
  d.params = {
      nmfx::param_choice("variant", "pa1", {"pa", "pa1", "pa2"},
                         "pa: hard constraint |p.q - r| <= epsilon; pa1: slack with C xi (multiplier <= C); "
                         "pa2: squared slack C xi^2"),
      nmfx::param_real("C", 0.01, "aggressiveness of pa1 and pa2 (smaller: more conservative updates)", 0.0),
      nmfx::param_real("epsilon", 0.0, "insensitivity: no update while |p.q - r| <= epsilon", 0.0),
      nmfx::param_choice("projection", "exact", {"exact", "bisection", "approximate"},
                         "how the multiplier is found when the prediction is too high: exact (pivoting, expected "
                         "O(rank)), bisection, or approximate (unprojected PA step, then clipped at 0)"),
      nmfx::param_int("bisection_iter", 60, "projection: bisection: halvings of the bracket", 1, 200),
      nmfx::param_choice("update", "simultaneous", {"simultaneous", "sequential"},
                         "simultaneous: p_u and q_i both against the other's old value (the paper); "
                         "sequential: q_i against the new p_u"),
  };
  for (auto& s : nmfx_online::stream_params()) d.params.push_back(s);
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::observed};
  d.penalties = false;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
