// Synthetic ratings: a planted nonnegative rank-k model observed on a skewed random set of
// (user, item) pairs, with Gaussian noise, clipped and rounded to a rating scale, split into
// train and test. Defaults: the shape of MovieLens10M (69,878 users, 10,677 items, 10,000,054
// ratings), generated in a few seconds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <sstream>
#include <vector>

#include <nmfx/plugin.hpp>
#include <nmfx/rng.hpp>

#include <nmfx_common/ratings_common.hpp>

namespace {

std::size_t bounded(nmfx::Rng& rng, std::size_t n) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(rng.next()) * n) >> 64);
}

// Walker's alias table (Vose's construction): O(1) draws from fixed weights.
class Alias {
 public:
  explicit Alias(const std::vector<double>& w) : prob_(w.size()), alias_(w.size()) {
    const std::size_t n = w.size();
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t k = 0; k < n; ++k) {
      scaled[k] = w[k] * static_cast<double>(n) / total;
      (scaled[k] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(k));
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::uint32_t k : large) prob_[k] = 1.0, alias_[k] = k;
    for (std::uint32_t k : small) prob_[k] = 1.0, alias_[k] = k;
  }
  std::uint32_t draw(nmfx::Rng& rng) const {
    const auto k = static_cast<std::uint32_t>(bounded(rng, prob_.size()));
    return rng.uniform() < prob_[k] ? k : alias_[k];
  }

 private:
  std::vector<double> prob_;
  std::vector<std::uint32_t> alias_;
};

// Power-law (Zipf-Mandelbrot) weights (rank + 1 + offset)^-exponent, assigned to the n indices in a
// random order, so that activity is unrelated to the index.
std::vector<double> power_law(std::size_t n, double exponent, double offset, nmfx::Rng& rng) {
  std::vector<std::uint32_t> rank(n);
  std::iota(rank.begin(), rank.end(), 0u);
  for (std::size_t k = n; k > 1; --k) std::swap(rank[k - 1], rank[bounded(rng, k)]);
  std::vector<double> w(n);
  for (std::size_t k = 0; k < n; ++k) w[k] = std::pow(static_cast<double>(rank[k]) + 1.0 + offset, -exponent);
  return w;
}

// Ratings per user: min_count each, the rest in proportion to the weights, none above cap (water
// filling), rounded to integers summing exactly to total (largest remainders).
std::vector<std::size_t> user_counts(const std::vector<double>& w, std::size_t total, std::size_t min_count,
                                     std::size_t cap) {
  const std::size_t n = w.size();
  std::vector<double> c(n, 0.0);
  std::vector<char> fixed(n, 0);
  for (;;) {
    double free_weight = 0.0, budget = static_cast<double>(total);
    for (std::size_t k = 0; k < n; ++k) {
      if (fixed[k])
        budget -= static_cast<double>(cap);
      else
        free_weight += w[k], budget -= static_cast<double>(min_count);
    }
    bool changed = false;
    for (std::size_t k = 0; k < n; ++k) {
      if (fixed[k]) continue;
      c[k] = static_cast<double>(min_count) + budget * w[k] / free_weight;
      if (c[k] > static_cast<double>(cap)) {
        fixed[k] = 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  std::vector<std::size_t> out(n);
  std::vector<std::pair<double, std::uint32_t>> remainder(n);
  std::size_t sum = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double v = fixed[k] ? static_cast<double>(cap) : c[k];
    out[k] = static_cast<std::size_t>(std::floor(v));
    sum += out[k];
    remainder[k] = {v - std::floor(v), static_cast<std::uint32_t>(k)};
  }
  std::sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (std::size_t k = 0; sum < total && k < n; ++k)
    if (out[remainder[k].second] < cap) ++out[remainder[k].second], ++sum;
  return out;
}

class SyntheticRatings final : public nmfx::Dataset {
 public:
  explicit SyntheticRatings(const nmfx::Params& p) : p_(p) {}

  nmfx::Data load() override {
    const auto M = static_cast<std::size_t>(p_.integer("users"));
    const auto N = static_cast<std::size_t>(p_.integer("items"));
    const auto total = static_cast<std::size_t>(p_.integer("ratings"));
    const auto k = static_cast<std::size_t>(p_.integer("rank"));
    const double noise = p_.real("noise"), mean = p_.real("mean"), spread = p_.real("spread");
    const double lo = p_.real("rating_min"), hi = p_.real("rating_max"), step = p_.real("rating_step");
    const bool round = p_.boolean("round");
    const auto min_count = static_cast<std::size_t>(p_.integer("min_user_ratings"));
    const auto cap = std::max<std::size_t>(
        min_count, static_cast<std::size_t>(std::floor(p_.real("max_user_fraction") * static_cast<double>(N))));
    if (!(hi > lo)) throw nmfx::Error("synthetic_ratings: rating_max must be > rating_min");
    if (total > M * std::min(cap, N))
      throw nmfx::Error("synthetic_ratings: " + std::to_string(total) + " ratings do not fit " + std::to_string(M) +
                        " users with at most " + std::to_string(std::min(cap, N)) +
                        " each (max_user_fraction x items); lower ratings or raise max_user_fraction");
    if (total < M * min_count)
      throw nmfx::Error("synthetic_ratings: " + std::to_string(total) +
                        " ratings are fewer than users x "
                        "min_user_ratings = " +
                        std::to_string(M * min_count));
    nmfx::Rng rng(static_cast<std::uint64_t>(p_.integer("seed")));

    // Who rated what: user activity and item popularity follow power laws.
    const std::vector<std::size_t> counts =
        user_counts(power_law(M, p_.real("user_exponent"), 0.0, rng), total, min_count, std::min(cap, N));
    const std::vector<double> popularity = power_law(N, p_.real("item_exponent"), p_.real("item_offset"), rng);
    const Alias items(popularity);
    nmfx::SparseMatrix all;
    all.rows = M;
    all.cols = N;
    all.indptr.assign(M + 1, 0);
    all.indices.reserve(total);
    std::vector<std::uint32_t> stamp(N, 0);  // stamp[i] == u + 1: user u already rated item i
    std::vector<std::pair<double, std::uint32_t>> keys;
    for (std::size_t u = 0; u < M; ++u) {
      const std::size_t c = counts[u];
      const std::size_t begin = all.indices.size();
      bool done = false;
      if (c <= N / 4) {
        // Rejection: draw by popularity, skip items already drawn for this user. Bounded tries; a
        // user whose draws keep colliding falls back to the exact method below.
        const auto mark = static_cast<std::uint32_t>(u + 1);
        std::size_t tries = 0, got = 0;
        const std::size_t max_tries = 20 * c + 1000;
        while (got < c && tries < max_tries) {
          const std::uint32_t i = items.draw(rng);
          ++tries;
          if (stamp[i] == mark) continue;
          stamp[i] = mark;
          all.indices.push_back(i);
          ++got;
        }
        done = got == c;
        if (!done) {
          for (std::size_t j = begin; j < all.indices.size(); ++j) stamp[all.indices[j]] = 0;
          all.indices.resize(begin);
        }
      }
      if (!done && c > 0) {
        // Efraimidis & Spirakis: weighted sampling without replacement, the c largest keys
        // log(U) / w (equivalently U^(1/w)).
        keys.resize(N);
        for (std::size_t i = 0; i < N; ++i)
          keys[i] = {std::log(1.0 - rng.uniform()) / popularity[i], static_cast<std::uint32_t>(i)};
        std::nth_element(keys.begin(), keys.begin() + static_cast<long>(c - 1), keys.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        for (std::size_t j = 0; j < c; ++j) all.indices.push_back(keys[j].second);
      }
      std::sort(all.indices.begin() + static_cast<long>(begin), all.indices.end());
      all.indptr[u + 1] = all.indices.size();
    }

    // The planted model: W (M x k) and H (k x N, kept as N x k rows) with entries u^power, u uniform
    // on [0, 1), scaled so that the mean of s W H is `mean`: E[u^power] = 1 / (power + 1). The
    // power sets the spread: with independent entries, the coefficient of variation of one rating
    // w_u . h_i is sqrt(((power + 1)^4 / (2 power + 1)^2 - 1) / k), increasing in power; it is
    // solved for (by bisection) so that the planted ratings have standard deviation `spread`
    // whatever the rank.
    const double cv2 = std::pow(spread / mean, 2) * static_cast<double>(k);
    double power_lo = 0.0, power_hi = 1.0;
    auto excess = [](double q) { return std::pow(q + 1, 4) / std::pow(2 * q + 1, 2) - 1.0; };
    while (excess(power_hi) < cv2 && power_hi < 1e6) power_hi *= 2;
    for (int it = 0; it < 100; ++it) {
      const double mid = 0.5 * (power_lo + power_hi);
      (excess(mid) < cv2 ? power_lo : power_hi) = mid;
    }
    const double power = 0.5 * (power_lo + power_hi);
    std::vector<double> W(M * k), Ht(N * k);
    for (double& v : W) v = std::pow(rng.uniform(), power);
    for (double& v : Ht) v = std::pow(rng.uniform(), power);
    const double scale = mean * (power + 1.0) * (power + 1.0) / static_cast<double>(k);
    all.values.resize(all.indices.size());
    for (std::size_t u = 0; u < M; ++u)
      for (std::size_t e = all.indptr[u]; e < all.indptr[u + 1]; ++e) {
        const double* w = &W[u * k];
        const double* h = &Ht[static_cast<std::size_t>(all.indices[e]) * k];
        double dot = 0.0;
        for (std::size_t a = 0; a < k; ++a) dot += w[a] * h[a];
        double r = scale * dot + noise * rng.normal();
        r = std::min(std::max(r, lo), hi);
        if (round && step > 0) r = std::min(lo + step * std::round((r - lo) / step), hi);
        all.values[e] = r;
      }

    nmfx::Data data;
    data.kind = nmfx::DataKind::observed;
    const double fraction = p_.real("test_fraction");
    const std::uint64_t split_seed = rng.next();
    nmfx_ratings::split(all, fraction, split_seed, data.sparse, data.test);

    // The error of the planted model itself on the test entries (noise, clipping and rounding):
    // no solver can expect to do better on average.
    double oracle = 0.0;
    {
      std::size_t t = 0;
      for (std::size_t u = 0; u < M; ++u)
        for (std::size_t e = data.test.indptr[u]; e < data.test.indptr[u + 1]; ++e, ++t) {
          const double* w = &W[u * k];
          const double* h = &Ht[static_cast<std::size_t>(data.test.indices[e]) * k];
          double dot = 0.0;
          for (std::size_t a = 0; a < k; ++a) dot += w[a] * h[a];
          oracle += std::pow(data.test.values[e] - scale * dot, 2);
        }
      oracle = t > 0 ? std::sqrt(oracle / static_cast<double>(t)) : 0.0;
    }
    std::vector<std::size_t> item_counts(N, 0);
    for (std::uint32_t i : all.indices) ++item_counts[i];
    auto summary = [](std::vector<std::size_t> v) {
      std::sort(v.begin(), v.end());
      return nmfx::json{{"min", v.front()}, {"median", v[v.size() / 2]}, {"max", v.back()}};
    };
    double sum = 0.0;
    for (double v : all.values) sum += v;
    std::ostringstream description;
    description << "planted rank-" << k << " nonnegative model, " << M << " users x " << N << " items, "
                << all.values.size() << " ratings on [" << lo << ", " << hi << "]";
    if (round && step > 0) description << " in steps of " << step;
    description << ", noise sd " << noise;
    data.info = {{"planted_rank", k},
                 {"noise", noise},
                 {"scale", scale},
                 {"spread", spread},
                 {"factor_power", power},
                 {"rating_min", lo},
                 {"rating_max", hi},
                 {"rating_step", round ? step : 0.0},
                 {"rating_mean", all.values.empty() ? 0.0 : sum / static_cast<double>(all.values.size())},
                 {"users", M},
                 {"items", N},
                 {"ratings", all.values.size()},
                 {"train", data.sparse.nnz()},
                 {"test", data.test.nnz()},
                 {"test_fraction", fraction},
                 {"ratings_per_user", summary(counts)},
                 {"ratings_per_item", summary(item_counts)},
                 {"oracle_test_rmse", oracle},
                 {"users_without_training", nmfx_ratings::empty_rows(data.sparse)},
                 {"items_without_training", nmfx_ratings::empty_cols(data.sparse)},
                 {"description", description.str()}};
    return data;
  }

 private:
  nmfx::Params p_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Dataset, SyntheticRatings>(
      "synthetic_ratings", "1.0.0",
      "ratings from a planted nonnegative low-rank model on skewed (power-law) users and items, with noise and a "
      "train/test split; MovieLens10M shape by default");
  d.data_kinds = {nmfx::DataKind::observed};
  d.params = {
      nmfx::param_int("users", 69878, "rows (users)", 1),
      nmfx::param_int("items", 10677, "columns (items)", 1),
      nmfx::param_int("ratings", 10000054, "observed (user, item) pairs, all distinct", 1),
      nmfx::param_int("rank", 20, "rank k of the planted model", 1),
      nmfx::param_real("noise", 0.5, "standard deviation of the Gaussian noise added to each rating", 0.0),
      nmfx::param_real("mean", 3.5, "mean of the planted (noiseless) ratings", 0.0),
      nmfx::param_real("spread", 0.9,
                       "standard deviation of the planted (noiseless) ratings, set through the factors' entries "
                       "u^power (u uniform on [0, 1), power chosen for it)",
                       0.0),
      nmfx::param_real("rating_min", 0.5, "lowest rating: values are clipped to [rating_min, rating_max]", 0.0),
      nmfx::param_real("rating_max", 5.0, "highest rating", 0.0),
      nmfx::param_real("rating_step", 0.5, "ratings are rounded to rating_min + a multiple of this (with round)", 0.0),
      nmfx::param_bool("round", true, "round the ratings to the scale's steps"),
      nmfx::param_real("user_exponent", 0.85,
                       "user activity: the r-th most active user's share of ratings is proportional to r^-exponent",
                       0.0),
      nmfx::param_real("item_exponent", 1.4,
                       "item popularity: the r-th most popular item is drawn with probability proportional to "
                       "(r + item_offset)^-exponent",
                       0.0),
      nmfx::param_real("item_offset", 50.0,
                       "flattens the head of the item popularity law (Zipf-Mandelbrot), so that the most popular "
                       "items are not rated by everyone",
                       0.0),
      nmfx::param_int("min_user_ratings", 20, "every user has at least this many ratings (MovieLens: 20)", 0),
      nmfx::param_real("max_user_fraction", 0.7, "no user rates more than this fraction of the items", 0.0, 1.0),
      nmfx::param_real("test_fraction", 0.2, "fraction of the ratings held out for testing, chosen at random", 0.0,
                       1.0),
      nmfx::param_int("seed", 0, "seeds the pattern, the planted model, the noise and the split", 0),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
