// test_mae: mean over the test entries of |r - w_u.h_i|.
#include <cmath>
#include <vector>

#include <nmfx/plugin.hpp>

#include <nmfx_common/rating_errors.hpp>

namespace {

class TestMae final : public nmfx::Metric {
 public:
  explicit TestMae(const nmfx::Params& p) : clip_(p.boolean("clip")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    const nmfx::SparseMatrix& S = nmfx_rating_errors::test_entries(c.X, "test_mae");
    const nmfx_rating_errors::Sums s = nmfx_rating_errors::sums(S, c.X, c.W, c.H, clip_, Ht_, row_sq_, row_abs_);
    return {{"test_mae", s.absolute / static_cast<double>(s.count)}};
  }

 private:
  bool clip_;
  std::vector<double> Ht_, row_sq_, row_abs_;  // kept between checkpoints
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, TestMae>("test_mae", "1.0.0",
                                                 "mean over the test entries of |r - w_u.h_i| (ratings)");
  d.params = nmfx_rating_errors::params();
  d.data_kinds = {nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
