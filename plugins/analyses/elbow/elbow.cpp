// elbow: the knee of the reconstruction error against rank, by Kneedle (Satopaa, Albrecht, Irwin &
// Raghavan 2011): after scaling rank and error to [0, 1], the rank farthest below the chord of the
// decreasing curve. See README.md.
#include <algorithm>
#include <limits>
#include <sstream>

#include <nmfx/plugin.hpp>

namespace {

using nmfx::json;

class Elbow : public nmfx::Analysis {
 public:
  explicit Elbow(const nmfx::Params& p) : metric_(p.str("metric")) {}

  json analyze(const nmfx::RunGroup& g) override {
    double sum = 0;
    for (const auto& r : g.runs) {
      const json& f = r.contains("final") ? r["final"] : json::object();
      if (!f.contains(metric_) || !f[metric_].is_number())
        throw nmfx::Error("elbow: run " + r.value("id", std::string("?")) + " has no final '" + metric_ +
                          "'; add it to the spec's metrics");
      sum += f[metric_].get<double>();
    }
    return {{"values", {{"error", sum / static_cast<double>(g.runs.size())}}}, {"metric", metric_}};
  }

  std::size_t choose(const std::vector<nmfx::RankResult>& ranks, std::string& why) override {
    if (ranks.size() < 3) {
      why = "Kneedle needs three ranks or more";
      return 0;
    }
    const double x0 = static_cast<double>(ranks.front().rank), x1 = static_cast<double>(ranks.back().rank);
    double y0 = std::numeric_limits<double>::infinity(), y1 = -y0;
    for (const auto& r : ranks) {
      const double y = r.result["values"]["error"];
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
    // Kneedle's difference curve for a decreasing convex curve: (1 - y_n) - x_n, at its maximum.
    std::size_t best = 0;
    double largest = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      const double xn = (static_cast<double>(ranks[i].rank) - x0) / (x1 - x0);
      const double yn = y1 > y0 ? (ranks[i].result["values"]["error"].get<double>() - y0) / (y1 - y0) : 0.0;
      if ((1 - yn) - xn > largest) largest = (1 - yn) - xn, best = i;
    }
    if (best == 0 || best + 1 == ranks.size()) {
      why = "no knee inside the range of ranks";
      return 0;
    }
    std::ostringstream os;
    os << "Kneedle: the " << metric_ << " curve is farthest below its chord at rank " << ranks[best].rank;
    why = os.str();
    return ranks[best].rank;
  }

 private:
  std::string metric_;
};

nmfx::PluginDescriptor describe() {
  auto d =
      nmfx::describe<nmfx::Analysis, Elbow>("elbow", "1.0.0", "Kneedle elbow of the reconstruction error against rank");
  d.params = {nmfx::param_string("metric", "relative_error", "the runs' final value whose curve is examined")};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
