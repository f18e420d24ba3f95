// stability: NMFk's cluster stability of the factors (Alexandrov et al., Cell Reports 2013;
// Vangara et al., "Finding the number of latent features", ICMLA 2020). The columns of W from all
// runs of one rank are clustered into `rank` clusters holding exactly one column of every run
// (an assignment problem per run, solved by the Hungarian method); the silhouette widths of those
// clusters under the cosine distance say how reproducible the factors are. See README.md.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <nmfx/plugin.hpp>

namespace {

using nmfx::json;

/// Minimum-cost perfect assignment of rows to columns of the n x n matrix cost (Kuhn 1955,
/// Munkres 1957; the O(n^3) shortest augmenting path form with potentials). assign[row] = column.
std::vector<std::size_t> hungarian(const std::vector<double>& cost, std::size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<std::size_t> p(n + 1, 0), way(n + 1, 0);  // p[column] = row (1-based), 0: free
  for (std::size_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = p[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (std::size_t j = 0; j <= n; ++j) {
        if (used[j])
          u[p[j]] += delta, v[j] -= delta;
        else
          minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<std::size_t> assign(n);
  for (std::size_t j = 1; j <= n; ++j) assign[p[j] - 1] = j - 1;
  return assign;
}

class Stability : public nmfx::Analysis {
 public:
  explicit Stability(const nmfx::Params& p)
      : threshold_(p.real("threshold")), max_iter_(static_cast<std::size_t>(p.integer("max_iter"))) {}

  json analyze(const nmfx::RunGroup& g) override {
    const std::size_t R = g.runs.size(), k = g.rank;
    if (R < 2) throw nmfx::Error("stability: needs two runs or more per rank, got " + std::to_string(R));
    // Unit columns of every run's W: point (r, c) is column c of run r.
    std::vector<std::vector<double>> point;
    std::size_t M = 0;
    for (std::size_t r = 0; r < R; ++r) {
      const nmfx::Matrix W = g.factor(r, "W");
      if (W.shape(1) != k)
        throw nmfx::Error("stability: a W has " + std::to_string(W.shape(1)) + " columns, not the rank");
      M = W.shape(0);
      for (std::size_t c = 0; c < k; ++c) {
        std::vector<double> x(M);
        double norm = 0;
        for (std::size_t i = 0; i < M; ++i) x[i] = W(i, c), norm += x[i] * x[i];
        norm = std::sqrt(norm);
        for (double& v : x) v = norm > 0 ? v / norm : 0.0;
        point.push_back(std::move(x));
      }
    }
    auto dot = [&](const std::vector<double>& a, const std::vector<double>& b) {
      double s = 0;
      for (std::size_t i = 0; i < M; ++i) s += a[i] * b[i];
      return s;
    };
    // Clusters with one column of each run: start from run 0's columns as centroids; assign each
    // run's columns to the centroids by the most similar perfect matching; centroid = normalised mean.
    std::vector<std::vector<double>> centroid(point.begin(), point.begin() + static_cast<std::ptrdiff_t>(k));
    std::vector<std::size_t> cluster(R * k, 0), previous;
    std::size_t iterations = 0;
    for (; iterations < max_iter_; ++iterations) {
      for (std::size_t r = 0; r < R; ++r) {
        std::vector<double> cost(k * k);
        for (std::size_t c = 0; c < k; ++c)
          for (std::size_t q = 0; q < k; ++q) cost[c * k + q] = -dot(point[r * k + c], centroid[q]);
        const auto assign = hungarian(cost, k);
        for (std::size_t c = 0; c < k; ++c) cluster[r * k + c] = assign[c];
      }
      if (cluster == previous) break;
      previous = cluster;
      for (auto& c : centroid) std::fill(c.begin(), c.end(), 0.0);
      for (std::size_t p = 0; p < R * k; ++p)
        for (std::size_t i = 0; i < M; ++i) centroid[cluster[p]][i] += point[p][i];
      for (auto& c : centroid) {
        const double norm = std::sqrt(dot(c, c));
        if (norm > 0)
          for (double& v : c) v /= norm;
      }
    }
    // Silhouettes (Rousseeuw 1987) under the cosine distance 1 - <x, y> of unit vectors.
    const std::size_t P = R * k;
    std::vector<double> sil(P, 0.0);
    for (std::size_t p = 0; p < P; ++p) {
      std::vector<double> sum(k, 0.0);
      for (std::size_t q = 0; q < P; ++q)
        if (q != p) sum[cluster[q]] += 1.0 - dot(point[p], point[q]);
      const double a = k == 1 || R == 1 ? 0.0 : sum[cluster[p]] / static_cast<double>(R - 1);
      double b = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c)
        if (c != cluster[p]) b = std::min(b, sum[c] / static_cast<double>(R));
      sil[p] = k == 1 ? 0.0 : (std::max(a, b) > 0 ? (b - a) / std::max(a, b) : 0.0);
    }
    std::vector<double> per_cluster(k, 0.0);
    double mean = 0;
    for (std::size_t p = 0; p < P; ++p) per_cluster[cluster[p]] += sil[p] / static_cast<double>(R), mean += sil[p];
    mean /= static_cast<double>(P);
    const double minimum = *std::min_element(per_cluster.begin(), per_cluster.end());
    json values = {{"silhouette", k == 1 ? json(nullptr) : json(mean)},
                   {"silhouette_min", k == 1 ? json(nullptr) : json(minimum)}};
    return {{"values", values}, {"cluster_silhouettes", per_cluster}, {"iterations", iterations}};
  }

  std::size_t choose(const std::vector<nmfx::RankResult>& ranks, std::string& why) override {
    // NMFk: the largest rank whose every cluster of factors is stable.
    std::size_t chosen = 0;
    for (const auto& r : ranks) {
      const json& v = r.result["values"]["silhouette_min"];
      if (v.is_number() && v.get<double>() >= threshold_) chosen = r.rank;
    }
    std::ostringstream os;
    if (chosen)
      os << "the largest rank whose smallest cluster silhouette is >= " << threshold_;
    else
      os << "no rank has all cluster silhouettes >= " << threshold_;
    why = os.str();
    return chosen;
  }

 private:
  double threshold_;
  std::size_t max_iter_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Analysis, Stability>(
      "stability", "1.0.0", "NMFk stability: silhouettes of the columns of W clustered across runs");
  d.params = {
      nmfx::param_real("threshold", 0.75, "smallest cluster silhouette for a rank to count as stable", -1, 1),
      nmfx::param_int("max_iter", 100, "rounds of the assignment clustering", 1),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
