// test_rmse: sqrt(mean over the test entries of (r - w_u.h_i)^2).
#include <cmath>
#include <vector>

#include <nmfx/plugin.hpp>

#include <nmfx_common/rating_errors.hpp>

namespace {

class TestRmse final : public nmfx::Metric {
 public:
  explicit TestRmse(const nmfx::Params& p) : clip_(p.boolean("clip")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    const nmfx::SparseMatrix& S = nmfx_rating_errors::test_entries(c.X, "test_rmse");
    const nmfx_rating_errors::Sums s = nmfx_rating_errors::sums(S, c.X, c.W, c.H, clip_, Ht_, row_sq_, row_abs_);
    return {{"test_rmse", std::sqrt(s.squared / static_cast<double>(s.count))}};
  }

 private:
  bool clip_;
  std::vector<double> Ht_, row_sq_, row_abs_;  // kept between checkpoints
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, TestRmse>("test_rmse", "1.0.0",
                                                  "sqrt(mean over the test entries of (r - w_u.h_i)^2) (ratings)");
  d.params = nmfx_rating_errors::params();
  d.data_kinds = {nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
