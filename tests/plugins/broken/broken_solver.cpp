// A deliberately wrong solver, for the test of nmfx check-plugin: it climbs the loss (W and H grow),
// draws from std::random_device (so two runs differ), and aborts on an all-zero row of X, which
// check-plugin must report as a crash of that one property and carry on.
#include <cstdlib>
#include <random>

#include <nmfx/plugin.hpp>

namespace {

class BrokenSolver final : public nmfx::Solver {
 public:
  explicit BrokenSolver(const nmfx::Params&) {}
  void prepare(const nmfx::Problem& problem, nmfx::Matrix&, nmfx::Matrix&) override {
    const nmfx::Data& X = problem.X;
    if (X.kind != nmfx::DataKind::dense) return;
    for (std::size_t i = 0; i < X.dense.shape(0); ++i) {
      double row = 0;
      for (std::size_t j = 0; j < X.dense.shape(1); ++j) row += X.dense(i, j);
      if (row == 0) std::abort();
    }
  }
  void step(nmfx::Matrix& W, nmfx::Matrix& H) override {
    std::uniform_real_distribution<double> u(0.0, 0.1);
    for (double& w : W) w += u(device_);
    for (double& h : H) h += u(device_);
  }

 private:
  std::random_device device_;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, BrokenSolver>("broken_solver", "0.0.1", "test solver that climbs");
  d.losses = {"frobenius"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
