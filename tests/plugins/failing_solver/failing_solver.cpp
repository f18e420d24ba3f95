// A test solver that throws at a chosen iteration (or in prepare), to check that one failing cell
// fails alone. It supports only the Frobenius loss, to check the solver-loss validation.
#include <nmfx/plugin.hpp>

namespace {

class FailingSolver final : public nmfx::Solver {
 public:
  explicit FailingSolver(const nmfx::Params& p) : fail_at_(p.integer("fail_at")) {}
  void prepare(const nmfx::Problem&, nmfx::Matrix&, nmfx::Matrix&) override {
    if (fail_at_ == 0) throw nmfx::Error("failing_solver: asked to fail in prepare");
  }
  void step(nmfx::Matrix&, nmfx::Matrix&) override {
    if (++iteration_ == fail_at_)
      throw nmfx::Error("failing_solver: asked to fail at iteration " + std::to_string(fail_at_));
  }

 private:
  long long fail_at_;
  long long iteration_ = 0;
};

nmfx::PluginDescriptor describe() {
  auto d = nmfx::describe<nmfx::Solver, FailingSolver>("failing", "0.0.1", "test solver that throws");
  d.params = {nmfx::param_int("fail_at", 3, "iteration at which step() throws (0: in prepare)", 0)};
  d.losses = {"frobenius"};
  return d;
}

}  // namespace

NMFX_EXPORT_PLUGIN(describe)
