// consensus: Brunet et al. (2004) consensus clustering of the samples over the runs of one rank:
// connectivity from the argmax of each column of H, the consensus matrix (mean connectivity), the
// cophenetic correlation of its average-linkage clustering, and Kim & Park's (2007) dispersion.
// The consensus is accumulated in place as one triangle of counts per rank (uint8 up to 255 runs,
// else uint16, else uint32), never as one N x N matrix per run. See README.md.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>

#include <nmfx/npy.hpp>
#include <nmfx/plugin.hpp>
#include <nmfx/rng.hpp>

namespace {

using nmfx::json;
using nmfx::Matrix;

std::string megabytes(double bytes) {
  std::ostringstream os;
  os.precision(bytes < 1e8 ? 3 : 4);
  os << bytes / 1e6 << " MB";
  return os.str();
}

/// The strict upper triangle of a symmetric N x N matrix of counts, row by row.
template <class Count>
struct Triangle {
  std::size_t n;
  std::vector<Count> c;
  explicit Triangle(std::size_t n_) : n(n_), c(n_ * (n_ - 1) / 2, 0) {}
  std::size_t row_start(std::size_t i) const {
    return i * (2 * n - i - 1) / 2 - i - 1;
  }  // index of (i, j) = row_start(i) + j
  Count at(std::size_t i, std::size_t j) const {
    if (i == j) return 0;
    if (i > j) std::swap(i, j);
    return c[row_start(i) + j];
  }
  /// Adds one run's connectivity: +1 for every pair in the same cluster.
  void add(const std::vector<std::uint32_t>& label) {
    for (std::size_t i = 0; i + 1 < n; ++i) {
      Count* row = c.data() + (row_start(i) + i + 1);  // (i, i + 1)
      const std::uint32_t li = label[i];
      const std::uint32_t* rest = label.data() + i + 1;
      for (std::size_t j = 0; j < n - i - 1; ++j) row[j] = static_cast<Count>(row[j] + (rest[j] == li ? 1 : 0));
    }
  }
};

/// One merge of the average-linkage clustering, between the clusters whose representatives are a, b.
struct Merge {
  std::size_t a, b;
  double height;
};

/// Average linkage (UPGMA) by the nearest-neighbour chain (Murtagh 1983; Muellner 2011,
/// arXiv:1109.2378): O(n^2) time on the full distance matrix D, which it overwrites.
std::vector<Merge> average_linkage(std::vector<double>& D, std::size_t n) {
  std::vector<Merge> merges;
  if (n < 2) return merges;
  std::vector<std::size_t> size(n, 1), chain;
  std::vector<char> active(n, 1);
  std::size_t remaining = n;
  while (remaining > 1) {
    if (chain.empty())
      for (std::size_t i = 0; i < n; ++i)
        if (active[i]) {
          chain.push_back(i);
          break;
        }
    const std::size_t a = chain.back();
    const std::size_t previous = chain.size() > 1 ? chain[chain.size() - 2] : n;
    std::size_t b = previous;
    double best = previous < n ? D[a * n + previous] : std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < n; ++c)
      if (active[c] && c != a && D[a * n + c] < best) {
        best = D[a * n + c];
        b = c;
      }
    if (b != previous) {
      chain.push_back(b);
      continue;
    }
    chain.pop_back();
    chain.pop_back();
    merges.push_back({a, b, best});
    // The merged cluster lives at b; Lance-Williams update for average linkage.
    const double sa = static_cast<double>(size[a]), sb = static_cast<double>(size[b]);
    for (std::size_t c = 0; c < n; ++c) {
      if (!active[c] || c == a || c == b) continue;
      const double d = (sa * D[a * n + c] + sb * D[b * n + c]) / (sa + sb);
      D[b * n + c] = D[c * n + b] = d;
    }
    size[b] += size[a];
    active[a] = 0;
    --remaining;
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) { return x.height < y.height; });
  return merges;
}

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
};

class Consensus : public nmfx::Analysis {
 public:
  explicit Consensus(const nmfx::Params& p)
      : samples_(static_cast<std::size_t>(p.integer("cophenetic_samples"))),
        memory_limit_(p.real("memory_limit_mb") * 1e6),
        seed_(static_cast<std::uint64_t>(p.integer("seed"))),
        heatmap_(p.boolean("heatmap")),
        rule_(p.str("rule")),
        tolerance_(p.real("tolerance")) {}

  json analyze(const nmfx::RunGroup& g) override {
    if (g.runs.empty()) throw nmfx::Error("consensus: the group has no runs");
    const std::size_t runs = g.runs.size();
    if (runs <= 0xFF) return analyze_with<std::uint8_t>(g);
    if (runs <= 0xFFFF) return analyze_with<std::uint16_t>(g);
    return analyze_with<std::uint32_t>(g);
  }

  std::size_t choose(const std::vector<nmfx::RankResult>& ranks, std::string& why) override {
    std::vector<std::pair<std::size_t, double>> rho;
    for (const auto& r : ranks)
      if (r.result["values"]["cophenetic"].is_number()) rho.push_back({r.rank, r.result["values"]["cophenetic"]});
    std::ostringstream os;
    if (rho.empty()) {
      why = "no rank has a cophenetic correlation";
      return 0;
    }
    if (rule_ == "largest_drop") {
      // Brunet et al.: the rank before the cophenetic correlation falls, here before its largest fall.
      std::size_t chosen = 0;
      double largest = 0;
      for (std::size_t i = 0; i + 1 < rho.size(); ++i)
        if (rho[i].second - rho[i + 1].second > largest)
          largest = rho[i].second - rho[i + 1].second, chosen = rho[i].first;
      if (chosen)
        os << "the cophenetic correlation falls most (by " << largest << ") after rank " << chosen;
      else
        os << "the cophenetic correlation never falls";
      why = os.str();
      return chosen;
    }
    // The most stable clustering, and among near-ties the fewest clusters: the smallest rank whose
    // cophenetic correlation is within `tolerance` of the survey's largest.
    double best = rho[0].second;
    for (const auto& [k, v] : rho) best = std::max(best, v);
    for (const auto& [k, v] : rho)
      if (v >= best - tolerance_) {
        os << "the smallest rank whose cophenetic correlation (" << v << ") is within " << tolerance_
           << " of the largest (" << best << ")";
        why = os.str();
        return k;
      }
    return 0;
  }

 private:
  template <class Count>
  json analyze_with(const nmfx::RunGroup& g) {
    const std::size_t runs = g.runs.size();
    // Sizes first, from the first run's H, so that a survey that cannot fit is refused before work.
    Matrix H = g.factor(0, "H");
    const std::size_t N = H.shape(1), L = H.shape(0);
    const std::size_t n = samples_ == 0 ? N : std::min(N, samples_);
    const double need = static_cast<double>(N) * static_cast<double>(N - 1) / 2 * sizeof(Count) +
                        static_cast<double>(n) * static_cast<double>(n) * sizeof(double);
    if (need > memory_limit_) {
      throw nmfx::Error(
          "consensus: N = " + std::to_string(N) + " samples, " + std::to_string(runs) + " runs need " +
          megabytes(need) + " (counts " +
          megabytes(static_cast<double>(N) * static_cast<double>(N - 1) / 2 * static_cast<double>(sizeof(Count))) +
          " + linkage on " + std::to_string(n) + " samples " +
          megabytes(static_cast<double>(n) * static_cast<double>(n) * 8) + "), more than memory_limit_mb (" +
          megabytes(memory_limit_) + "); raise memory_limit_mb or lower cophenetic_samples");
    }
    if (N < 2) throw nmfx::Error("consensus: needs at least 2 samples (columns of X), got " + std::to_string(N));
    Triangle<Count> counts(N);
    std::vector<std::uint32_t> label(N);
    for (std::size_t r = 0; r < runs; ++r) {
      if (r > 0) H = g.factor(r, "H");
      if (H.shape(1) != N || H.shape(0) != L)
        throw nmfx::Error("consensus: run " + g.runs[r].value("id", std::string("?")) + " has H of another shape");
      // Brunet et al.: sample j belongs to the metagene with the largest entry of column j of H (first on ties).
      for (std::size_t j = 0; j < N; ++j) {
        std::uint32_t best = 0;
        for (std::size_t k = 1; k < L; ++k)
          if (H(k, j) > H(best, j)) best = static_cast<std::uint32_t>(k);
        label[j] = best;
      }
      counts.add(label);
    }

    // Dispersion (Kim & Park 2007) over all N x N entries, from a histogram of the counts.
    std::vector<std::size_t> histogram(runs + 1, 0);
    for (Count v : counts.c) ++histogram[v];
    const double R = static_cast<double>(runs);
    double dispersion = static_cast<double>(N);  // the diagonal: C_ii = 1, 4 (1 - 1/2)^2 = 1
    for (std::size_t v = 0; v <= runs; ++v)
      dispersion += 2.0 * static_cast<double>(histogram[v]) * 4.0 * std::pow(static_cast<double>(v) / R - 0.5, 2);
    dispersion /= static_cast<double>(N) * static_cast<double>(N);

    // The samples of the linkage: all, or a random subset of n (sorted, so the order is stable).
    std::vector<std::size_t> pick(N);
    std::iota(pick.begin(), pick.end(), 0);
    if (n < N) {
      auto rng = nmfx::Rng::stream("consensus_subset", seed_);
      for (std::size_t i = 0; i < n; ++i) std::swap(pick[i], pick[i + rng.next() % (N - i)]);
      pick.resize(n);
      std::sort(pick.begin(), pick.end());
    }
    auto distance = [&](std::size_t i, std::size_t j) {
      return i == j ? 0.0 : 1.0 - static_cast<double>(counts.at(pick[i], pick[j])) / R;
    };
    std::vector<double> D(n * n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) D[i * n + j] = distance(i, j);
    const std::vector<Merge> merges = average_linkage(D, n);
    std::vector<double>().swap(D);

    // Cophenetic correlation: every pair (a in A, b in B) of a merge of A and B at height h has
    // cophenetic distance h; Pearson's correlation with the distances 1 - C over all pairs.
    UnionFind uf(n);
    std::vector<std::vector<std::size_t>> members(n);
    for (std::size_t i = 0; i < n; ++i) members[i] = {i};
    long double sd = 0, sh = 0, sdd = 0, shh = 0, sdh = 0, pairs = 0;
    std::vector<std::size_t> node(n);  // the tree node of each union-find root (leaves 0..n-1)
    std::iota(node.begin(), node.end(), 0);
    std::vector<std::pair<std::size_t, std::size_t>> children;  // node n + t: merge t's two children
    for (const auto& m : merges) {
      std::size_t a = uf.find(m.a), b = uf.find(m.b);
      for (std::size_t x : members[a])
        for (std::size_t y : members[b]) {
          const long double d = distance(x, y), h = m.height;
          sd += d, sh += h, sdd += d * d, shh += h * h, sdh += d * h, pairs += 1;
        }
      children.push_back({node[a], node[b]});
      if (members[a].size() > members[b].size()) std::swap(a, b);
      members[b].insert(members[b].end(), members[a].begin(), members[a].end());
      std::vector<std::size_t>().swap(members[a]);
      uf.parent[a] = b;
      node[b] = n + children.size() - 1;
    }
    const long double cov = pairs * sdh - sd * sh, vd = pairs * sdd - sd * sd, vh = pairs * shh - sh * sh;
    const double cophenetic =
        (vd > 0 && vh > 0) ? static_cast<double>(cov / std::sqrt(vd * vh)) : std::numeric_limits<double>::quiet_NaN();

    // Leaf order of the dendrogram (children left to right), for the reordered heatmap.
    std::vector<std::size_t> order;
    if (n > 0) {
      std::vector<std::size_t> stack = {n + children.size() - 1};
      if (children.empty()) stack = {0};
      while (!stack.empty()) {
        const std::size_t v = stack.back();
        stack.pop_back();
        if (v < n) {
          order.push_back(v);
        } else {
          stack.push_back(children[v - n].second);
          stack.push_back(children[v - n].first);
        }
      }
    }
    // Consensus clusters: the tree cut into `rank` clusters (R NMF's predict(fit, "consensus")),
    // numbered by first appearance in sample order.
    const std::size_t k = std::min(g.rank, n);
    UnionFind cut(n);
    for (std::size_t t = 0; t + k < n; ++t) cut.parent[cut.find(merges[t].a)] = cut.find(merges[t].b);
    std::vector<long long> cluster(n, -1), number(n, -1);
    long long next = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t root = cut.find(i);
      if (number[root] < 0) number[root] = next++;
      cluster[i] = number[root];
    }

    json out;
    out["values"] = {{"cophenetic", std::isnan(cophenetic) ? json(nullptr) : json(cophenetic)},
                     {"dispersion", dispersion}};
    out["samples"] = N;
    out["runs"] = runs;
    out["count_bytes"] = sizeof(Count);
    out["memory_bytes"] = need;
    out["linkage_samples"] = json(std::vector<std::size_t>(pick.begin(), pick.end()));
    if (n == N) out.erase("linkage_samples");  // all of them
    out["clusters"] = cluster;
    std::vector<std::size_t> order_samples(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) order_samples[i] = pick[order[i]];
    out["order"] = order_samples;
    if (heatmap_ && !g.output_dir.empty()) {
      Matrix C({n, n});
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) C(i, j) = 1.0 - distance(order[i], order[j]);
      const std::string file = g.file_prefix + "consensus.npy";
      nmfx::write_npy(g.output_dir + "/" + file, C);
      out["heatmap"] = file;
    }
    return out;
  }

  std::size_t samples_;
  double memory_limit_;
  std::uint64_t seed_;
  bool heatmap_;
  std::string rule_;
  double tolerance_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Analysis, Consensus>(
      "consensus", "1.0.0",
      "Brunet et al. 2004 consensus clustering: cophenetic correlation, dispersion, consensus heatmap");
  d.params = {
      nmfx::param_int("cophenetic_samples", 3000,
                      "largest number of samples clustered for the cophenetic correlation, clusters and heatmap; "
                      "above it, a random subset of this many (0: always all)",
                      0),
      nmfx::param_real("memory_limit_mb", 4096, "refuse a group whose counts and linkage need more memory than this",
                       1),
      nmfx::param_int("seed", 0, "seeds the random subset of samples", 0),
      nmfx::param_bool("heatmap", true, "write the reordered consensus matrix as <group>consensus.npy"),
      nmfx::param_choice("rule", "max", {"max", "largest_drop"},
                         "max: the smallest rank whose cophenetic correlation is within `tolerance` of the largest; "
                         "largest_drop: the rank before its largest fall"),
      nmfx::param_real("tolerance", 0.005, "rule max: how far below the largest cophenetic correlation still counts", 0,
                       1),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
