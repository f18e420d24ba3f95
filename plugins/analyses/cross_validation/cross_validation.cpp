// cross_validation: the error on held-out entries against rank (Kanagal & Sindhwani 2010; RcppML's
// speckled hold-out). The runs were fitted on the observed entries only (a dataset's `holdout`
// option hides a random fraction; `holdout_fold` picks disjoint folds); this analysis averages
// their held-out error over seeds and folds and chooses the rank where it is smallest. See README.md.
#include <cmath>
#include <limits>
#include <sstream>

#include <nmfx/plugin.hpp>

namespace {

using nmfx::json;

class CrossValidation : public nmfx::Analysis {
 public:
  explicit CrossValidation(const nmfx::Params& p)
      : metric_(p.str("metric")), train_metric_(p.str("train_metric")), rule_(p.str("rule")) {}

  json analyze(const nmfx::RunGroup& g) override {
    std::vector<double> test, train;
    for (const auto& r : g.runs) {
      const json& f = r.contains("final") ? r["final"] : json::object();
      if (!f.contains(metric_) || !f[metric_].is_number())
        throw nmfx::Error("cross_validation: run " + r.value("id", std::string("?")) + " has no final '" + metric_ +
                          "'; fit on held-out data (a dataset's holdout option, or ratings) with metrics: [" + metric_ +
                          "]");
      test.push_back(f[metric_].get<double>());
      if (f.contains(train_metric_) && f[train_metric_].is_number()) train.push_back(f[train_metric_].get<double>());
    }
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return s / static_cast<double>(v.size());
    };
    const double m = mean(test);
    double ss = 0;
    for (double x : test) ss += (x - m) * (x - m);
    const double sd = test.size() > 1 ? std::sqrt(ss / static_cast<double>(test.size() - 1)) : 0.0;
    json values = {{"test_error", m}, {"test_error_se", sd / std::sqrt(static_cast<double>(test.size()))}};
    if (train.size() == test.size()) values["train_error"] = mean(train);
    return {{"values", values}, {"metric", metric_}, {"fits", test.size()}};
  }

  std::size_t choose(const std::vector<nmfx::RankResult>& ranks, std::string& why) override {
    std::size_t best = 0;
    double lowest = std::numeric_limits<double>::infinity(), se = 0;
    for (const auto& r : ranks) {
      const double v = r.result["values"]["test_error"];
      if (v < lowest) lowest = v, best = r.rank, se = r.result["values"]["test_error_se"];
    }
    std::ostringstream os;
    if (rule_ == "one_se" && best) {
      // Breiman et al. (1984): the smallest rank within one standard error of the minimum.
      for (const auto& r : ranks)
        if (r.result["values"]["test_error"].get<double>() <= lowest + se) {
          os << "rank " << r.rank << " is the smallest within one standard error (" << se << ") of the lowest "
             << metric_ << " " << lowest << " (rank " << best << ")";
          why = os.str();
          return r.rank;
        }
    }
    os << "the held-out " << metric_ << " is lowest (" << lowest << ") at rank " << best;
    why = os.str();
    return best;
  }

 private:
  std::string metric_, train_metric_, rule_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Analysis, CrossValidation>(
      "cross_validation", "1.0.0", "error on held-out entries against rank; chooses its minimum");
  d.params = {
      nmfx::param_string("metric", "test_rmse", "the runs' final value measured on the held-out entries"),
      nmfx::param_string("train_metric", "train_rmse", "the same on the fitted entries, shown beside it"),
      nmfx::param_choice("rule", "min", {"min", "one_se"},
                         "min: the rank of the lowest mean error; one_se: the smallest rank within one standard "
                         "error of it"),
  };
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
