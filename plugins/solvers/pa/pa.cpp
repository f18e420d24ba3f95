// Online passive-aggressive algorithms for NMF with missing values (Blondel, Kubo & Ueda, AISTATS
// 2014; seed 003, "Passive-aggressive algorithms for NMF"): on each revealed rating r_ui, p_u moves
// to the nearest nonnegative vector with |p.q_i - r| <= eps (NN-PA) or its slack relaxations
// (NN-PA-I, NN-PA-II), and so does q_i with p_u fixed. The one-vector problem is in pa_update.hpp.
#include <string>
#include <vector>

#include <nmfx/plugin.hpp>

#include "online_passes.hpp"
#include "pa_update.hpp"

namespace {

using nmfx_online::Entry;

class PassiveAggressive final : public nmfx::Solver {
 public:
  explicit PassiveAggressive(const nmfx::Params& p)
      : order_(nmfx_online::parse_order(p.str("order"))),
        seed_(p.integer("seed")),
        every_(static_cast<std::size_t>(p.integer("stream_every"))),
        stream_passes_(static_cast<std::uint64_t>(p.integer("stream_passes"))),
        sequential_(p.str("update") == "sequential") {
    options_.variant = nmfx_pa::parse_variant(p.str("variant"));
    options_.method = nmfx_pa::parse_method(p.str("projection"));
    options_.eps = p.real("epsilon");
    options_.C = p.real("C");
    options_.bisection_iter = static_cast<int>(p.integer("bisection_iter"));
    d_ = options_.variant == nmfx_pa::Variant::pa2 ? 0.5 / options_.C : 0.0;
    pa1_capped_test_ = options_.variant == nmfx_pa::Variant::pa1 && options_.method != nmfx_pa::Method::approximate;
    if (options_.variant != nmfx_pa::Variant::pa && !(options_.C > 0))
      throw nmfx::Error("pa: C must be > 0 for variants pa1 and pa2");
  }

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    nmfx_online::check_shapes("pa", problem, W, H);
    L_ = problem.rank;
    stream_.prepare(problem.X.sparse, order_, nmfx_online::resolve_seed(seed_, W, H), every_, stream_passes_);
    Ht_.assign(problem.X.cols() * L_, 0.0);
    work_.resize(L_);
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    if (L_ == 0) throw nmfx::Error("pa: step() called before prepare()");
    nmfx_online::to_rows(H, Ht_);
    passive_ = aggressive_ = capped_ = projected_ = 0;
    const std::size_t L = L_;
    double* w = W.data();
    double* ht = Ht_.data();
    entries_ = stream_.step([&](const Entry* e, std::size_t count, std::uint64_t) {
      constexpr std::size_t ahead = 8;
      for (std::size_t k = 0; k < count; ++k) {
        if (k + ahead < count) nmfx_online::prefetch_rows(w, ht, e[k + ahead], L);
        double* p = w + static_cast<std::size_t>(e[k].u) * L;
        double* q = ht + static_cast<std::size_t>(e[k].i) * L;
        update(p, q, e[k].r, L);
      }
    });
    nmfx_online::from_rows(Ht_, H);
  }

  nmfx::Values stats() const override {
    return {{"passive", static_cast<double>(passive_)},
            {"aggressive", static_cast<double>(aggressive_)},
            {"capped", static_cast<double>(capped_)},
            {"projected", static_cast<double>(projected_)},
            {"entries", static_cast<double>(entries_)},
            {"passes", static_cast<double>(stream_.processed()) / static_cast<double>(std::max<std::size_t>(stream_.size(), 1))}};
  }

 private:
  void update(double* p, double* q, double r, std::size_t L) {
    const double pred = nmfx_online::dot(p, q, L), pp = nmfx_online::dot(p, p, L), qq = nmfx_online::dot(q, q, L);
    if (pred >= r - options_.eps && pred <= r + options_.eps) {
      ++passive_;
      return;
    }
    ++aggressive_;
    if (sequential_) return update_sequential(p, q, r, pred, qq, L);
    // Simultaneous, as in the paper and seed 003: p_u against the old q_i and q_i against the old
    // p_u, both from the same prediction.
    double tp, tq;
    const double C = options_.C, b = r + options_.eps;
    if (pred < r - options_.eps) {
      // Prediction too low: kappa needs no search (w0 + kappa x >= 0 for w0, x >= 0), as in solve().
      const double l = r - options_.eps - pred, d = d_;
      tp = qq > 0.0 ? l / (qq + d) : 0.0;
      tq = pp > 0.0 ? l / (pp + d) : 0.0;
      if (options_.variant == nmfx_pa::Variant::pa1) {
        capped_ += tp >= C || tq >= C;
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
    if (pa1_capped_test_) {
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
      ++capped_;
    } else {
      const nmfx_pa::Step sp = nmfx_pa::solve(p, q, L, r, pred, qq, options_, work_);
      const nmfx_pa::Step sq = nmfx_pa::solve(q, p, L, r, pred, pp, options_, work_);
      capped_ += sp.capped || sq.capped;
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
    projected_ += clipped > 0;
  }

  // Sequential: p_u first, then q_i against the new p_u (its prediction recomputed).
  void update_sequential(double* p, double* q, double r, double pred, double qq, std::size_t L) {
    const nmfx_pa::Step sp = nmfx_pa::solve(p, q, L, r, pred, qq, options_, work_);
    bool clipped = false;
    for (std::size_t a = 0; a < L; ++a) {
      const double v = p[a] + sp.tau * q[a];
      clipped |= v < 0.0;
      p[a] = std::max(v, 0.0);
    }
    const double pred2 = nmfx_online::dot(p, q, L), pp2 = nmfx_online::dot(p, p, L);
    const nmfx_pa::Step sq = nmfx_pa::solve(q, p, L, r, pred2, pp2, options_, work_);
    capped_ += sp.capped || sq.capped;
    if (sq.tau != 0.0)
      for (std::size_t a = 0; a < L; ++a) {
        const double v = q[a] + sq.tau * p[a];
        clipped |= v < 0.0;
        q[a] = std::max(v, 0.0);
      }
    projected_ += clipped;
  }

  nmfx_pa::Options options_;
  nmfx_online::Order order_;
  long long seed_;
  std::size_t every_;
  std::uint64_t stream_passes_;
  bool sequential_;
  bool pa1_capped_test_ = false;
  double d_ = 0.0;  // 1 / (2C) for NN-PA-II, else 0
  std::size_t L_ = 0;
  nmfx_online::EntryStream stream_;
  std::vector<double> Ht_;
  nmfx_pa::Work work_;
  std::uint64_t passive_ = 0, aggressive_ = 0, capped_ = 0, projected_ = 0, entries_ = 0;
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
  d.data_kinds = {"observed"};
  d.penalties = false;
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
