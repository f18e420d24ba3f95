// train_rmse: sqrt(mean over the training entries of (r - w_u.h_i)^2).
#include <cmath>
#include <vector>

#include <nmfx/plugin.hpp>

#include <nmfx_common/rating_errors.hpp>

namespace {

const nmfx::SparseMatrix& train_entries(const nmfx::Data& X) {
  if (X.kind != nmfx::DataKind::observed)
    throw nmfx::Error(std::string("train_rmse: needs observed data (ratings), got ") + nmfx::to_string(X.kind) +
                      " data");
  if (X.sparse.nnz() == 0) throw nmfx::Error("train_rmse: the dataset has no training entries");
  return X.sparse;
}

class TrainRmse final : public nmfx::Metric {
 public:
  explicit TrainRmse(const nmfx::Params& p) : clip_(p.boolean("clip")) {}

  nmfx::Values evaluate(const nmfx::MetricContext& c) override {
    const nmfx::SparseMatrix& S = train_entries(c.X);
    const nmfx_rating_errors::Sums s = nmfx_rating_errors::sums(S, c.X, c.W, c.H, clip_, Ht_, row_sq_, row_abs_);
    return {{"train_rmse", std::sqrt(s.squared / static_cast<double>(s.count))}};
  }

 private:
  bool clip_;
  std::vector<double> Ht_, row_sq_, row_abs_;  // kept between checkpoints
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Metric, TrainRmse>("train_rmse", "1.0.0",
                                                   "sqrt(mean over the training entries of (r - w_u.h_i)^2) (ratings)");
  d.params = nmfx_rating_errors::params();
  d.data_kinds = {nmfx::DataKind::observed};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
