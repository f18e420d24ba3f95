// Hierarchical alternating least squares (Cichocki & Phan 2009; seed 000 eq. 12, Algorithms 3-4):
// per outer iteration one sweep over the columns of W with A = X H^T, B = H H^T, then one over the
// rows of H with A = W^T X, B = W^T W. The sweep lives in plugins/common (nmfx_common/hals_sweep.hpp), shared with
// accel_hals.
#include <nmfx/plugin.hpp>

#include <nmfx_common/diagonal_scaling.hpp>
#include <nmfx_common/hals_sweep.hpp>

namespace {

class Hals final : public nmfx::Solver {
 public:
  explicit Hals(const nmfx::Params& p)
      : zero_floor_(p.real("zero_floor")), diagonal_scaling_(p.boolean("diagonal_scaling")) {}

  void prepare(const nmfx::Problem& problem, nmfx::Matrix& W, nmfx::Matrix& H) override {
    core_.prepare(problem, W, H, zero_floor_, "hals");
    scaling_.prepare(problem.rank, problem.distribution);
  }

  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    const auto once = [](auto&& sweep) -> std::size_t {
      sweep();
      return 1;
    };
    core_.update_W_once(W, H);
    if (diagonal_scaling_) scaling_.normalize_W(W, H);
    core_.update_H(W, H, once);
    if (diagonal_scaling_) scaling_.normalize_H(W, H);
  }

 private:
  double zero_floor_;
  bool diagonal_scaling_;
  nmfx_hals::Hals core_;
  nmfx_common::DiagonalScaling scaling_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, Hals>(
      "hals", "1.0.0", "hierarchical ALS (Cichocki & Phan 2009): exact coordinate updates of W's columns and H's rows");
  d.params = {
      nmfx::param_real("zero_floor", 1e-16,
                       "a component that becomes all zero is set to zero_floor * max of its factor", 0.0),
      nmfx_common::diagonal_scaling_param(),
  };
  d.losses = {"frobenius"};
  d.data_kinds = {nmfx::DataKind::dense, nmfx::DataKind::sparse};
  d.penalties = true;
  d.distributed = true;  // each sweep updates this process's rows of W / columns of H, given the Gram matrices
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
